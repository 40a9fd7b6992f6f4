import { createHash, hash, type Hash } from 'node:crypto';
import { close, constants, open, read } from 'node:fs';
import type { Digest } from '../../registry/oci/index.js';

// Not followed: the walk saw a regular file here; one swapped for a symlink since fails instead of hashing its target.
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;   // libuv adds O_CLOEXEC itself

/**
 * The sha256 of the regular file `abs`, read to its end through `buffer` (the caller's, reused from file to file):
 * no Buffer, stream or FileHandle per file. `size` (from the walk's lstat) only saves the read that would confirm the
 * end of a file shorter than the buffer; a file that grew since is still read to its end.
 */
export function hashFile(abs: string | Buffer, size: bigint, buffer: Buffer): Promise<Digest> {
  // Callbacks, not a promise per system call: a 20,000-file context is 60,000 of them.
  return new Promise<Digest>((resolve, reject) => {
    open(abs, FLAGS, (openErr, fd) => {
      if (openErr !== null) { reject(openErr); return; }
      const done = (err: unknown, digest?: Digest): void => {
        close(fd, () => { if (digest === undefined) reject(err); else resolve(digest); });
      };
      let hasher: Hash | undefined;
      let total = 0;
      const onRead = (readErr: NodeJS.ErrnoException | null, n: number): void => {
        if (readErr !== null) { done(readErr); return; }
        try {
          const isEnd = n === 0 || (n < buffer.length && BigInt(total + n) >= size);
          // A file read in one go (most of a context) is hashed without a Hash object and its native context.
          if (hasher === undefined && isEnd) { done(undefined, `sha256:${hash('sha256', buffer.subarray(0, n))}`); return; }
          hasher ??= createHash('sha256');
          if (n > 0) hasher.update(buffer.subarray(0, n));
          total += n;
          if (isEnd) { done(undefined, `sha256:${hasher.digest('hex')}`); return; }
        } catch (err) {
          done(err);
          return;
        }
        read(fd, buffer, 0, buffer.length, null, onRead);
      };
      read(fd, buffer, 0, buffer.length, null, onRead);
    });
  });
}
