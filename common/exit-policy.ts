import { rmSync } from 'node:fs';

// Apart from sqlite-open.ts so that the CLI's entry can set it before anything loads node:sqlite (main.ts keeps its
// imports to what --version needs).

let isLeftToExit = false;

/**
 * Called by a process that ends as soon as its command is done (a CLI entry; never the daemon's warm process, whose
 * pre-warm builds open and close roots before its command): databases closed from then on are left open for the
 * exit to drop. SQLite's close of a WAL database's last connection checkpoints the WAL into the database and fsyncs
 * both: 10-20 ms per database (two per build) at the end of every build on this VM. Left open, the WAL stays as a
 * crash would leave it, which SQLite is made for: the next connection reads it, and the automatic checkpoint (at
 * 1,000 pages) folds it in during a later commit. What synchronous=NORMAL already accepts stays the same: a commit
 * reaches the disk with the next sync (the snapshotter's background `sync -f` after a build that made snapshots),
 * and a power loss may drop the last ones, which recovery handles (worker/snapshots/overlay.ts).
 */
export function leaveDatabasesToExit(): void {
  isLeftToExit = true;
}

/** Whether databases are left to the process's exit instead of closed (leaveDatabasesToExit). */
export function areDatabasesLeftToExit(): boolean {
  return isLeftToExit;
}

/** Temp files beside a user's destination that are not placed yet (replaceWithNew): what a hard exit removes. */
const unplaced = new Set<string>();

/** Marks `path` as a temp file to remove if the process exits before it is placed; the function forgets it again. */
export function trackUnplaced(path: string): () => void {
  unplaced.add(path);
  return () => { unplaced.delete(path); };
}

/**
 * Removes every temp file not placed yet, synchronously: for an exit that skips the clean-up of the work in progress
 * (a second Ctrl-C), so that no half-written file is left beside the user's destination. The names removed.
 */
export function removeUnplaced(): string[] {
  const removed: string[] = [];
  for (const path of unplaced) {
    try {
      rmSync(path, { force: true });
      removed.push(path);
    } catch { /* what cannot be removed is named by the caller's message either way */ }
  }
  unplaced.clear();
  return removed;
}
