import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cleanComponents, resolveDirInRoot } from './layers/in-root.js';

/** A numeric owner. */
export interface Owner { uid: number; gid: number }

/**
 * Resolves a Dockerfile USER (`name`, `uid`, `uid:gid`, `name:group`; '' is root) against the image's
 * /etc/passwd and /etc/group at `rootDir`. Names that the image does not define fall back to root, as the brief of
 * WORKDIR ownership asks; numeric ids never need the files.
 */
export async function resolveOwner(rootDir: string, user: string): Promise<Owner> {
  if (user === '') return { uid: 0, gid: 0 };
  const [u = '', g] = user.split(':', 2);
  let uid = 0;
  let gid = 0;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const entry = (await readDb(rootDir, 'passwd')).find((f) => f[2] === u);
    gid = entry ? Number(entry[3]) || 0 : 0;
  } else {
    const entry = (await readDb(rootDir, 'passwd')).find((f) => f[0] === u);
    if (entry) { uid = Number(entry[2]) || 0; gid = Number(entry[3]) || 0; }
  }
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else gid = Number((await readDb(rootDir, 'group')).find((f) => f[0] === g)?.[2]) || 0;
  }
  return { uid, gid };
}

async function readDb(rootDir: string, file: 'passwd' | 'group'): Promise<string[][]> {
  try {
    const dir = await resolveDirInRoot(rootDir, cleanComponents('/etc'), false);
    const text = await readFile(join(dir, file), 'utf8');
    return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
  } catch {
    return [];   // no /etc/passwd (scratch, distroless): every name is root
  }
}
