import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * Removes `path` and everything under it (nothing when it is not there), however deep. Node's recursive rm names every
 * entry by its whole path, so a tree a RUN step nested deeper than the host's path limit (4096 bytes, with the root's
 * own directories in front) failed half-way with ENAMETOOLONG, and the snapshot it was in stayed, failing every later
 * open of the root. For such a tree rm(1) -rf takes over: GNU rm walks by file descriptor (fts with openat), at any
 * depth, and never follows a symlink; --one-file-system keeps it off anything mounted inside.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') throw err;
    await execFileAsync('rm', ['-rf', '--one-file-system', '--', path]);
  }
}
