import type { Accounts } from '../confined/index.js';
import { numericId } from '../confined/index.js';
import { CopyError } from './errors.js';

/** Numeric owner to give copied files. */
export interface Owner { uid: number; gid: number }

/**
 * COPY/ADD --chown's policy, as BuildKit's readUser: `user[:group]` against the image's accounts (read through the
 * confined resolver, only when a name needs them). A user name without a group takes the user's primary gid from
 * /etc/passwd; a numeric uid without a group uses the same number as gid.
 */
export async function resolveChown(spec: string, accounts: () => Promise<Accounts>): Promise<Owner> {
  const [user = '', group, extra] = spec.split(':');
  if (user === '' || extra !== undefined || group === '') {
    throw new CopyError('INVALID_ARGUMENT', `invalid --chown value ${JSON.stringify(spec)}`, 'use --chown=user[:group] with names or numeric ids, e.g. --chown=1000:1000');
  }
  const uidNum = numericId(user);
  let uid: number;
  let gid: number;
  if (uidNum !== undefined) {
    uid = uidNum;
    gid = uidNum;
  } else {
    const entry = (await accounts()).passwd.find((e) => e.name === user);
    if (entry === undefined) throw notFound('user', user, '/etc/passwd');
    uid = entry.uid;
    gid = entry.gid;
  }
  if (group !== undefined) {
    const gidNum = numericId(group);
    const entry = gidNum === undefined ? (await accounts()).group.find((e) => e.name === group) : undefined;
    if (gidNum === undefined && entry === undefined) throw notFound('group', group, '/etc/group');
    gid = gidNum ?? entry?.gid ?? 0;
  }
  return { uid, gid };
}

function notFound(what: 'user' | 'group', name: string, file: string): CopyError {
  return new CopyError('INVALID_ARGUMENT', `unable to find ${what} ${JSON.stringify(name)} in the image's ${file}`,
    `create the ${what} in an earlier RUN step (e.g. RUN ${what === 'user' ? 'useradd' : 'groupadd'} ${name}) or use a numeric id`);
}
