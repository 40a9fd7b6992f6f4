import { UserError } from '../../registry/oci/index.js';
import type { OverlayRootfs } from './index.js';
import { readRootfsFile } from './rootfs-file.js';

/** The credentials a RUN step's process gets. */
export interface ExecUser { uid: number; gid: number; groups: number[]; home: string }

interface DbEntry { name: string; id: number; gid: number; members: string[]; home: string }

// passwd: name:x:uid:gid:gecos:home:shell; group: name:x:gid:member,member
function parseDb(text: string | undefined, isGroup: boolean): DbEntry[] {
  const out: DbEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    const id = Number(f[2]);
    if (f.length < (isGroup ? 3 : 4) || f[0] === '' || !Number.isInteger(id) || id < 0) continue;
    out.push({ name: f[0] ?? '', id, gid: isGroup ? id : Number(f[3]), members: isGroup ? (f[3] ?? '').split(',').filter((m) => m !== '') : [], home: isGroup ? '' : f[5] ?? '' });
  }
  return out;
}

function numeric(s: string): number | undefined {
  return /^\d+$/.test(s) && Number(s) <= 0xffffffff ? Number(s) : undefined;
}

function notFound(what: string, name: string, file: string): UserError {
  return new UserError('RUN_FAILED', `unable to find ${what} ${name}: no matching entries in ${file} file`,
    `add the ${what} to the image's /etc/${file} before this step, or use a numeric id`);
}

/**
 * Resolves a Dockerfile USER (`name`, `uid`, `uid:gid`, `name:group`, '' for root) against the rootfs's
 * /etc/passwd and /etc/group, as runc does: a numeric uid need not exist (its gid is then 0), supplementary groups
 * are the /etc/group entries listing the user's name unless a group was given explicitly; `home` is for $HOME.
 */
export async function resolveUser(user: string, rootfs: OverlayRootfs): Promise<ExecUser> {
  const [userPart = '', groupPart] = user === '' ? ['root'] : user.split(':', 2);
  const passwd = parseDb(await readRootfsFile(rootfs, '/etc/passwd'), false);
  const groups = parseDb(await readRootfsFile(rootfs, '/etc/group'), true);
  const uidNum = numeric(userPart);
  const entry = passwd.find((e) => (uidNum === undefined ? e.name === userPart : e.id === uidNum));
  if (entry === undefined && uidNum === undefined) {
    if (userPart === 'root') return { uid: 0, gid: 0, groups: [], home: '/root' };
    throw notFound('user', userPart, 'passwd');
  }
  const uid = uidNum ?? entry?.id ?? 0;
  // runc sets HOME from the passwd entry when the environment has none; "/" for a uid without one.
  const home = entry?.home !== undefined && entry.home !== '' ? entry.home : '/';
  let gid = entry !== undefined && Number.isInteger(entry.gid) ? entry.gid : 0;
  if (groupPart !== undefined && groupPart !== '') {
    const gidNum = numeric(groupPart);
    const g = gidNum === undefined ? groups.find((e) => e.name === groupPart) : undefined;
    if (gidNum === undefined && g === undefined) throw notFound('group', groupPart, 'group');
    return { uid, gid: gidNum ?? g?.id ?? 0, groups: [], home };
  }
  const name = entry?.name;
  const extra = name === undefined ? [] : groups.filter((g) => g.members.includes(name)).map((g) => g.id);
  gid = Number.isInteger(gid) ? gid : 0;
  return { uid, gid, groups: [...new Set(extra)], home };
}
