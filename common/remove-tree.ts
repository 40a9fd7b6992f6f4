import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * Removes `path` and everything under it (nothing when it is not there), however deep, never through a symlink, even
 * one swapped in for a directory while the removal walks: GNU rm(1) -rf walks by file descriptor (gnulib fts, openat
 * with O_NOFOLLOW, each directory checked against what it listed), and --one-file-system keeps it off anything
 * mounted inside. Node's recursive rm lstats a directory, then reads and unlinks its entries by their whole paths: a
 * cache a running step shares (emptied for --no-cache while another build's step had it mounted) had a directory
 * swapped for a link to a host directory in between, and the host directory was emptied, as root. Its paths also
 * failed with ENAMETOOLONG on a tree nested past the host's path limit. A tree that changes under rm may be left in
 * part: the error says so, and nothing outside it is touched.
 */
export async function removeTree(path: string): Promise<void> {
  await execFileAsync('rm', ['-rf', '--one-file-system', '--', path]);
}
