import { open } from 'node:fs/promises';

/** Makes a rename or create inside `dir` durable: without it a crash can lose the new directory entry. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
