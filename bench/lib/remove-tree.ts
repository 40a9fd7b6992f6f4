import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand, runShell } from './command.js';

/**
 * Where removed trees wait while the bench runs (deferRemovals). Deleting a big tree right before a timed build
 * slows that build down on this machine, whoever the builder: the root filesystem is ext4 without a journal, and
 * there ext4 will not reuse an inode freed in the last 60 s (300 s while its inode-table block is dirty), so each new
 * file's allocation first scans past every inode just freed (`perf`: 41 % of a cold `apt-get install` in
 * find_inode_bit → recently_deleted). A run that followed the removal of 20,000 files took 2.7 to 14.8 s for the same
 * build. Users do not delete a root's worth of files before each build; the bench must not either. So a tree removed
 * during the run is renamed aside, which frees nothing, and the aside trees are deleted once, when the bench ends.
 */
let graveyard: string | undefined;
let buried = 0;

/** From now on, removeTree moves trees into `dir` (emptied first) instead of deleting them; emptyGraveyard deletes them. */
export async function deferRemovals(dir: string): Promise<void> {
  graveyard = undefined;
  await removeTree(dir);
  await mkdir(dir, { recursive: true });
  graveyard = resolve(dir);
}

/** Deletes every tree removed since deferRemovals, and the graveyard itself; removals are immediate again. */
export async function emptyGraveyard(): Promise<void> {
  const dir = graveyard;
  graveyard = undefined;
  if (dir !== undefined) await removeTree(dir);
}

/**
 * Removes a state directory that a builder may have left mounts in (overlay snapshots, buildah's containers):
 * every mount point under it is unmounted, deepest first, before the tree is deleted, so `rm` never walks into a
 * mounted lower layer.
 */
export async function removeTree(dir: string): Promise<void> {
  const root = resolve(dir);
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const points = mountinfo.split('\n')
    .map((line) => unescapeMount(line.split(' ')[4] ?? ''))
    .filter((p) => p === root || p.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) await runCommand('umount', ['-l', point]).catch(() => undefined);
  if (graveyard !== undefined && root !== graveyard) {
    const moved = await rename(root, join(graveyard, String(buried++))).then(() => true, (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return true;   // nothing to remove
      return false;                             // another filesystem, say: delete it now
    });
    if (moved) return;
  }
  await rm(root, { recursive: true, force: true });
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * The deletions the bench cannot set aside: buildah removes its build containers' files inside `buildah bud` itself,
 * tens of thousands of inodes at the end of a big build. A run that starts within 60 s of those (RECENTCY_MIN in
 * ext4's ialloc.c; 5 minutes while the inode-table block is still dirty) pays the scan described above, whoever it
 * is: an apt install's dpkg step took 22-24 s right after a buildah build and 12.5-14.4 s otherwise, buildah's own
 * 12.3-14.8 s (bench/RESULTS.md, "Real-world npm-service cold"). A CI runner runs one builder; the bench runs two in
 * turn on one disk. So the end of such a run is noted (peerDeleted), and the next timed run that creates many files
 * first writes the disk out (clean inode-table blocks: the 60 s window) and waits out the rest of that minute.
 */
let deletedAt = 0;

/** Notes that a run which deletes many files (a `buildah bud`) just ended. */
export function peerDeleted(): void {
  deletedAt = Date.now();
}

/** Untimed, before a run: sync, then wait until 61 s have passed since the last peerDeleted. */
export async function outwaitPeerDeletions(log: (line: string) => void): Promise<void> {
  await runShell('sync');
  const wait = deletedAt + 61_000 - Date.now();
  if (wait <= 0) return;
  log(`  waiting ${(wait / 1000).toFixed(0)} s (untimed): the previous run's deleted inodes leave ext4's recently-deleted window`);
  await sleep(wait);
}
