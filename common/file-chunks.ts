import type { FileHandle } from 'node:fs/promises';

/** How many buffers a file's chunks cycle through, and their size. */
const FILE_BUFFERS = 4;
const FILE_CHUNK = 1 << 20;

/**
 * Reads `size` bytes of `file` in 1 MiB chunks through FILE_BUFFERS buffers allocated once, reading the next chunk
 * while the current one is used. A fresh Buffer per chunk (a read stream's) is garbage V8 only collects when its
 * external memory has grown by tens of MB: a push of a 200 MB layer ran a mark-compact for every ~40 MB (~100 ms of
 * main-thread time), and writing a 270 MB layer into an OCI tarball peaked ~75 MB above a build without it
 * (bench/RESULTS.md). A buffer is filled again FILE_BUFFERS - 1 chunks after it was handed out: the consumer must be
 * done with a chunk by the time it asks for the third one after it (an upload: undici waits for the socket's 'drain';
 * a tarball: each write's callback). A file shorter than `size` throws what `short(position)` makes.
 */
export async function* fileChunks(file: FileHandle, size: number, short: (position: number) => Error): AsyncGenerator<Buffer> {
  const buffers = Array.from({ length: Math.min(FILE_BUFFERS, Math.ceil(size / FILE_CHUNK)) }, () => Buffer.allocUnsafeSlow(FILE_CHUNK));
  const readAt = async (index: number): Promise<Buffer> => {
    const position = index * FILE_CHUNK;
    const length = Math.min(FILE_CHUNK, size - position);
    const buffer = buffers[index % buffers.length];
    if (buffer === undefined) throw new Error('unreachable: a buffer per slot');
    return readFully(file, buffer, length, position, short);
  };
  const count = Math.ceil(size / FILE_CHUNK);
  if (count === 0) return;
  let next = readAt(0);
  for (let i = 0; i < count; i++) {
    const chunk = await next;
    if (i + 1 < count) {
      next = readAt(i + 1);
      // The read-ahead's failure is thrown by the await above; unhandled when the consumer stops early, it would crash the CLI.
      next.catch(() => undefined);
    }
    yield chunk;
  }
}

/** `length` bytes of `file` at `position` into `buffer`; a file that ends first throws what `short(position)` makes. */
export async function readFully(file: FileHandle, buffer: Buffer, length: number, position: number, short: (position: number) => Error): Promise<Buffer> {
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw short(position + filled);
    filled += bytesRead;
  }
  return buffer.subarray(0, length);
}
