import { numericId } from '../confined/index.js';
import type { Accounts, RootSession } from '../confined/index.js';
import type { ChainAccounts } from './accounts-cache.js';
import type { OverlayRootfs } from './index.js';
import { readRootfsAccounts } from './rootfs-file.js';
import { UserError } from '../../common/index.js';

/** The credentials a RUN step's process gets. */
export interface ExecUser { uid: number; gid: number; groups: number[]; home: string }

function notFound(what: string, name: string, file: string): UserError {
  // runc's words, the name as written; one with control characters (a base image's config chose it) quoted, so a
  // NUL or an escape sequence never reaches the terminal.
  const shown = /[\x00-\x1f\x7f]/.test(name) ? JSON.stringify(name) : name;
  return new UserError('RUN_FAILED', `unable to find ${what} ${shown}: no matching entries in ${file} file`,
    `add the ${what} to the image's /etc/${file} before this step, or use a numeric id`);
}

/**
 * RUN's USER policy, as runc applies it: a numeric uid need not exist (its gid is then 0); `user:group` gives
 * exactly that gid and supplementary groups [gid] (`USER 1000:1000` → groups=1000); a user without a group gets its
 * primary gid plus every /etc/group entry listing its name. `home` is for $HOME ("/" without a passwd entry).
 */
export function execUser(user: string, accounts: Accounts): ExecUser {
  const [userPart = '', groupPart] = user === '' ? ['root'] : user.split(':', 2);
  const uidNum = numericId(userPart);
  const entry = accounts.passwd.find((e) => (uidNum === undefined ? e.name === userPart : e.uid === uidNum));
  if (entry === undefined && uidNum === undefined) {
    if (userPart === 'root') return { uid: 0, gid: 0, groups: [0], home: '/root' };
    throw notFound('user', userPart, 'passwd');
  }
  const uid = uidNum ?? entry?.uid ?? 0;
  // runc sets HOME from the passwd entry when the environment has none; "/" for a uid without one.
  const home = entry?.home !== undefined && entry.home !== '' ? entry.home : '/';
  if (groupPart !== undefined && groupPart !== '') {
    const gidNum = numericId(groupPart);
    const g = gidNum === undefined ? accounts.group.find((e) => e.name === groupPart) : undefined;
    if (gidNum === undefined && g === undefined) throw notFound('group', groupPart, 'group');
    const gid = gidNum ?? g?.gid ?? 0;
    return { uid, gid, groups: [gid], home };
  }
  const gid = entry?.gid ?? 0;
  const name = entry?.name;
  const extra = name === undefined ? [] : accounts.group.filter((g) => g.members.includes(name)).map((g) => g.gid);
  return { uid, gid, groups: [...new Set([gid, ...extra])], home };
}

/**
 * Resolves a Dockerfile USER for a RUN step against the step's rootfs (read through the confined reader). With the
 * worker's known chains and the step's own session (upper dir, lower dirs as roots 1..), a chain already read is not
 * read again (accounts-cache.ts).
 */
export async function resolveUser(user: string, rootfs: OverlayRootfs, tempDir: string, known?: { chains: ChainAccounts; session: RootSession }): Promise<ExecUser> {
  return execUser(user, known === undefined ? await readRootfsAccounts(rootfs, tempDir) : await known.chains.of(rootfs, known.session, tempDir));
}
