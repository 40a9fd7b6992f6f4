import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p` for the paths a user names (--root, -o dest=…, --metadata-file…): creates `path` and its missing parents
 * (each with `mode`); an existing directory, or a link to one, is success. Not Node's mkdir({ recursive: true }):
 * where mkdir(2) answers ENOENT inside a directory that exists (procfs makes nothing: /proc/self/x), Node goes back
 * and forth between the two for ever at 100 % CPU (`-o type=local,dest=/proc/self/x` hung a build). Here each level
 * is tried at most twice, and such a path fails with mkdir's ENOENT. tsbuild's own directories inside its state root
 * keep Node's version: their parent is the root, made by this.
 */
export async function makeDirs(path: string, mode?: number): Promise<void> {
  const dir = resolve(path);
  if ((await mkdirOnce(dir, mode)) === undefined) return;
  const parent = dirname(dir);
  if (parent !== dir) await makeDirs(parent, mode);
  const again = await mkdirOnce(dir, mode);
  if (again !== undefined) throw again;
}

/** One mkdir: undefined once `dir` is a directory (made, or there already); its ENOENT error when a parent is missing. */
async function mkdirOnce(dir: string, mode: number | undefined): Promise<NodeJS.ErrnoException | undefined> {
  try {
    await mkdir(dir, mode);
    return undefined;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return err;
    if (err.code === 'EEXIST' && (await stat(dir).then((s) => s.isDirectory(), () => false))) return undefined;
    throw err;
  }
}
