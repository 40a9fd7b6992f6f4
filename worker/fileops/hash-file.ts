import { createHash } from 'node:crypto';
import { close, constants, open, read } from 'node:fs';
import type { Digest } from '../../registry/oci/index.js';

// Not followed: the walk saw a regular file here; one swapped for a symlink since fails instead of hashing its target.
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;   // libuv adds O_CLOEXEC itself

/**
 * The sha256 of the regular file `abs`, read to its end through `buffer` (the caller's, reused from file to file):
 * no Buffer, stream or FileHandle per file. `size` (from the walk's lstat) only saves the read that would confirm the
 * end of a file shorter than the buffer; a file that grew since is still read to its end.
 */
export async function hashFile(abs: string, size: bigint, buffer: Buffer): Promise<Digest> {
  const fd = await new Promise<number>((resolve, reject) => { open(abs, FLAGS, (err, f) => (err === null ? resolve(f) : reject(err))); });
  try {
    const hash = createHash('sha256');
    let total = 0;
    for (;;) {
      const n = await new Promise<number>((resolve, reject) => {
        read(fd, buffer, 0, buffer.length, null, (err, bytes) => (err === null ? resolve(bytes) : reject(err)));
      });
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      total += n;
      if (n < buffer.length && BigInt(total) >= size) break;
    }
    return `sha256:${hash.digest('hex')}`;
  } finally {
    await new Promise<void>((resolve) => { close(fd, () => resolve()); });
  }
}
