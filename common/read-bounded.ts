import type { FileHandle } from 'node:fs/promises';

/**
 * The text of an open file, at most `max` bytes: `tooLarge()` is thrown past that. A regular file is checked by its
 * size first; a pipe or device (`-f /dev/stdin`, `-f /dev/zero`) has none and is read up to the bound. Read whole,
 * /dev/zero took 2 s and 600 MB before Node gave up on the string.
 */
export async function readTextBounded(fh: FileHandle, max: number, tooLarge: (size: number | undefined) => Error): Promise<string> {
  const st = await fh.stat();
  if (st.size > max) throw tooLarge(st.size);
  if (st.isFile()) return fh.readFile('utf8');
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const { bytesRead, buffer } = await fh.read({ buffer: Buffer.alloc(1024 * 1024) });
    if (bytesRead === 0) return Buffer.concat(chunks).toString('utf8');
    total += bytesRead;
    if (total > max) throw tooLarge(undefined);
    chunks.push(buffer.subarray(0, bytesRead));
  }
}
