import { readFile } from 'node:fs/promises';
import { CopyError } from './errors.js';
import { isErrno, resolveInRoot } from './resolve-in-root.js';

/** Numeric owner to give copied files. */
export interface Owner { uid: number; gid: number }

const NUMERIC = /^\d+$/;

/**
 * Resolves COPY --chown `user[:group]` against the image's /etc/passwd and /etc/group (read inside `rootDir`, so a
 * symlinked /etc stays in the image). Numeric ids need no lookup. As the Dockerfile reference says, a user without a
 * group uses the same numeric id as the group.
 */
export async function resolveChown(spec: string, rootDir: string): Promise<Owner> {
  const [user = '', group, extra] = spec.split(':');
  if (user === '' || extra !== undefined || group === '') {
    throw new CopyError('INVALID_ARGUMENT', `invalid --chown value ${JSON.stringify(spec)}`, 'use --chown=user[:group] with names or numeric ids, e.g. --chown=1000:1000');
  }
  const uid = NUMERIC.test(user) ? Number(user) : await lookup(rootDir, '/etc/passwd', user, 'user');
  const gid = group === undefined ? uid : NUMERIC.test(group) ? Number(group) : await lookup(rootDir, '/etc/group', group, 'group');
  return { uid, gid };
}

async function lookup(rootDir: string, file: string, name: string, what: 'user' | 'group'): Promise<number> {
  let text = '';
  try {
    text = await readFile(await resolveInRoot(rootDir, file, { followLast: true }), 'utf8');
  } catch (err) {
    if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR')) throw err;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields[2] !== undefined && NUMERIC.test(fields[2])) return Number(fields[2]);
  }
  throw new CopyError('INVALID_ARGUMENT', `unable to find ${what} ${JSON.stringify(name)} in the image's ${file}`,
    `create the ${what} in an earlier RUN step (e.g. RUN ${what === 'user' ? 'useradd' : 'groupadd'} ${name}) or use a numeric id`);
}
