import { lstat, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { makeDirs, refuseThroughPlanted, tempPathBeside, trackUnplaced } from '../../common/index.js';
import { exchangeFiles } from '../../worker/index.js';

/**
 * Writes a file output so that nothing of the user's is lost: `write` fills a new temp file beside `dest`
 * (tempPathBeside), which then takes the place of the old file in one step. An interrupt, a full disk or a failed
 * build leaves the old file as it was and removes the temp file; a second Ctrl-C, which skips this clean-up, removes
 * it through common/exit-policy.ts. An old file is exchanged with the new one and removed in the background: a rename
 * over it would make ext4 write the new one out first (worker/content/output-files.ts). rename replaces a file
 * atomically too, and fails on a directory: nothing but the old file can be lost.
 */
export async function replaceWithNew(dest: string, write: (tmp: string) => Promise<void>): Promise<void> {
  await refuseThroughPlanted(dest, dest);
  const tmp = tempPathBeside(dest);
  await makeDirs(dirname(resolve(dest)));
  const forget = trackUnplaced(tmp);
  let placed = false;
  try {
    await write(tmp);
    const old = await lstat(dest).catch(() => undefined);
    if (!old?.isFile() || !(await exchangeFiles(tmp, dest))) await rename(tmp, dest);
    placed = true;
  } finally {
    if (!placed) await rm(tmp, { force: true });
    forget();
  }
}
