import { lstat, mkdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** A path that would leave the root it must stay in. */
export class EscapeError extends Error {}

const MAX_SYMLINKS = 40;

/**
 * Splits a tar entry name or link target into clean components. Leading `/` is dropped (docker treats layer paths
 * as relative to the root); `.` and empty components vanish; `..` pops, and popping above the root throws.
 */
export function cleanComponents(name: string): string[] {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new EscapeError(`"${name}" climbs out of the root`);
      out.pop();
    } else {
      out.push(part);
    }
  }
  return out;
}

/**
 * Resolves directory components inside `root` the way a chroot would: a symlink among them is followed with its
 * target taken relative to `root` (absolute) or to its directory (relative), never above `root`. With `create`,
 * missing directories are made (0755, as docker does for implied parents). Returns the real host path.
 */
export async function resolveDirInRoot(root: string, components: string[], create: boolean): Promise<string> {
  const resolved: string[] = [];
  const pending = [...components];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '.' || part === '') continue;
    if (part === '..') {
      if (resolved.length === 0) throw new EscapeError('a symlink climbs out of the root');
      resolved.pop();
      continue;
    }
    const host = join(root, ...resolved, part);
    const st = await lstat(host).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st === undefined) {
      if (!create) throw new EscapeError(`"${[...resolved, part].join('/')}" does not exist`);
      await mkdir(host, { mode: 0o755 });
      resolved.push(part);
    } else if (st.isDirectory()) {
      resolved.push(part);
    } else if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw new EscapeError('too many levels of symbolic links');
      const target = await readlink(host);
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...target.split('/'));
    } else {
      throw new EscapeError(`"${[...resolved, part].join('/')}" is not a directory`);
    }
  }
  return join(root, ...resolved);
}
