import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { UserError, type ErrorCode } from './errors.js';

/** What a text file a user names is refused as past `max` bytes: `name` is it as the user gave it. */
export interface TextBound { max: number; name: string; code: ErrorCode; hint: string }

/**
 * The text of an open file, at most `bound.max` bytes, else a UserError naming it ("NAME is N bytes, more than MAX
 * bytes", "NAME is a stream, …"). A regular file is checked by its size first (`st`: the caller's fstat of `fh`, if
 * it made one); a pipe or device (`-f /dev/stdin`, `-f /dev/zero`) has none and is read up to the bound. Read whole,
 * /dev/zero took 2 s and 600 MB before Node gave up on the string.
 */
export async function readTextBounded(fh: FileHandle, bound: TextBound, st?: Stats): Promise<string> {
  const stats = st ?? await fh.stat();
  const tooLarge = (what: string): UserError => new UserError(bound.code, `${bound.name} is ${what}, more than ${bound.max} bytes`, bound.hint);
  if (stats.size > bound.max) throw tooLarge(`${stats.size} bytes`);
  if (stats.isFile()) return fh.readFile('utf8');
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const { bytesRead, buffer } = await fh.read({ buffer: Buffer.alloc(1024 * 1024) });
    if (bytesRead === 0) return Buffer.concat(chunks).toString('utf8');
    total += bytesRead;
    if (total > bound.max) throw tooLarge('a stream');
    chunks.push(buffer.subarray(0, bytesRead));
  }
}

/**
 * A stream read whole, or undefined past `limit` bytes (the stream destroyed, the rest never read): a body that
 * never ends, from a hostile or broken server, is refused instead of read for ever.
 */
export async function readStreamBounded(stream: Readable, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    n += b.length;
    if (n > limit) {
      stream.destroy();
      return undefined;
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** What a file that is not a regular one is, in words for a message ("a FIFO"). */
function kindOf(st: Stats): string {
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a file';
}

/**
 * Opens `path` for reading when it is a regular file (after its links), else rejects with `refuse(kind)`. For files
 * in directories someone else may have written (an OCI layout, a cache directory, a named context): a FIFO there was
 * opened without O_NONBLOCK, which waits for a writer in a libuv thread that no signal ends (the build ignored
 * SIGTERM for ever), and a link to /dev/zero was read until the heap gave out (11 GB). O_NONBLOCK does nothing to a
 * regular file's reads.
 */
export async function openRegularFile(path: string, refuse: (kind: string) => Error): Promise<FileHandle> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw refuse(kindOf(st));
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}
