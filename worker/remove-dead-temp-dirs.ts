import { readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { isProcessAlive, removeTree } from '../common/index.js';
import { mountPoints, run, unmount } from './snapshots/mount.js';
import { tempDirOwner } from './temp-dirs.js';

/**
 * Removes the entries of the temp dir `tempDir` (worker/temp-dirs.ts) whose process is gone: kill -9 skips every
 * `finally`, so a killed build leaves its downloads, checkouts and RUN state dirs (secrets among them), and may leave
 * a snapshot mounted on a mount point (`mnt-…`). A live process's entries stay.
 *
 * What is mounted at or below a dead entry is unmounted first, the newest first (a mount stacked on another comes off
 * before it), and an entry below which anything is still mounted afterwards is left for the next sweep: a recursive
 * delete through a mount would delete what is mounted there, a committed snapshot's files through a read-write bind
 * (the `ro` remount is a second mount(2) a kill can fall between) or the files of whatever else a bind showed.
 * Mounts are those of this mount namespace: a rootless build's die with its namespace.
 */
export async function removeDeadTempDirs(tempDir: string): Promise<void> {
  const dead = (await readdir(tempDir)).filter((entry) => {
    const pid = tempDirOwner(entry);
    return pid !== undefined && !isProcessAlive(pid);
  });
  if (dead.length === 0) return;
  // mountinfo names a mount point by its path with every link resolved.
  const top = await realpath(tempDir);
  const isBelowDead = (target: string): boolean => dead.some((entry) => isAtOrBelow(target, join(top, entry)));
  for (const target of (await mountPoints()).filter(isBelowDead).reverse()) {
    // Still busy (a dying process's child not yet gone): detached instead, so nothing is mounted there any more.
    await unmount(target).catch(() => run('umount', ['--lazy', target])).catch(() => undefined);
  }
  const stillMounted = (await mountPoints()).filter(isBelowDead);
  for (const entry of dead) {
    if (stillMounted.some((target) => isAtOrBelow(target, join(top, entry)))) continue;
    await removeTree(join(top, entry));
  }
}

function isAtOrBelow(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}
