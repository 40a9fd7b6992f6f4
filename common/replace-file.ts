import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from './errors.js';
import { refuseThroughPlanted } from './planted-trees.js';

/**
 * Replaces the file at `path` with `data`, as moby's atomicwriter does (buildx writes its metadata file with it, docker
 * its config.json the same way): a reader sees the old file or the new one, never half of one, and a crash leaves one
 * of them. The temp file beside it has a random name and is created O_EXCL|O_NOFOLLOW (a link or file planted at that
 * name fails the open instead of being followed); it gets exactly `mode` (the umask is not applied, as in
 * atomicwriter), is fsynced, renamed over `path`, and the directory is fsynced after. A `path` that exists and is not
 * a regular file (a directory, a symbolic link, a FIFO, a device…) is refused with atomicwriter's reason, before
 * anything is written; with `replaceLink`, a symbolic link is replaced by the file instead (the link itself, never
 * written through). The temp file is removed when anything fails.
 */
export async function replaceFile(path: string, data: string | Uint8Array, mode: number, opts: { replaceLink?: boolean } = {}): Promise<void> {
  const target = resolve(path);
  await refuseThroughPlanted(target, path);
  await checkReplaceable(target, opts);
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.tmp-${randomBytes(8).toString('hex')}`);
  try {
    const file = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await file.writeFile(data);
      await file.chmod(mode);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const d = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * A new name beside `path` for a file that will be renamed to it (`PATH.tsbuild-tmp-PID-RANDOM`): created O_EXCL
 * (flags 'wx'), it can be neither a file left by an earlier build nor a symbolic link someone else planted there.
 */
export function tempPathBeside(path: string): string {
  return `${path}.tsbuild-tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * atomicwriter's validateDestination: what replaceFile may replace is nothing or a regular file (no setuid, setgid
 * or sticky bit). Callers that write at the end of long work check it first too, so a bad path costs no build.
 */
export async function checkReplaceable(path: string, opts: { replaceLink?: boolean } = {}): Promise<void> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new UserError('INVALID_ARGUMENT', `cannot write ${path}: ${err.message}`, 'check the path and its permissions', { cause: err });
  });
  if (st === undefined || (st.isFile() && (st.mode & 0o7000) === 0) || (st.isSymbolicLink() && opts.replaceLink === true)) return;
  const what = st.isFile() ? (st.mode & 0o4000 ? 'a setuid file' : st.mode & 0o2000 ? 'a setgid file' : 'a sticky bit file')
    : st.isDirectory() ? 'a directory' : st.isSymbolicLink() ? 'a symbolic link directly' : st.isFIFO() ? 'a named pipe (FIFO)'
    : st.isSocket() ? 'a socket' : st.isCharacterDevice() ? 'a character device file' : st.isBlockDevice() ? 'a block device file' : 'this kind of file';
  throw new UserError('INVALID_ARGUMENT', `cannot write to ${what}: ${path}`, 'name a regular file (or a path that does not exist yet)');
}
