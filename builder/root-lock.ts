import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostFailure, makeDirs, UserError } from '../common/index.js';

/** A held lock on a state root; `release` lets others in. */
export interface RootLock { release(): Promise<void> }

/** How often a lock that is taken is tried again. */
const RETRY_MS = 25;
/** When `onWait` is told that the lock is taken. */
const NOTE_AFTER_MS = 200;

/**
 * Locks the state root: builds (and push) hold it shared for their whole run, prune holds it exclusive, so prune
 * never removes a snapshot or blob that a build just decided to reuse (leases only protect records that already
 * exist).
 *
 * The lock is SQLite's own file lock on `<root>/lock.db` (rollback-journal mode, never WAL): shared is an open read
 * transaction (SQLite's SHARED lock), exclusive is `BEGIN EXCLUSIVE`, which SQLite grants only when no reader holds
 * the file. Both are POSIX record locks of this process, so the kernel drops them when the process dies, kill -9
 * included, as it did for the `flock FILE tee` child this replaces: Node has no flock(2), and that child was one
 * fork + exec on every build, ~5 ms on a quiet machine and 40 ms under load (the fork waits for the child's exec),
 * plus ~4 ms at exit waiting for it to go (bench/RESULTS.md, 2026-11-30). A taken lock is tried again every 25 ms
 * without blocking the event loop (busy timeout 0), so Ctrl-C still works while waiting.
 */
export async function lockRoot(root: string, mode: 'shared' | 'exclusive', onWait?: () => void): Promise<RootLock> {
  const db = await openLockDb(root);
  const started = Date.now();
  let noted = false;
  while (!attempt(db, mode, root)) {
    if (!noted && Date.now() - started >= NOTE_AFTER_MS) {
      noted = true;
      onWait?.();
    }
    await sleep(RETRY_MS);
  }
  return held(db);
}

/** One attempt at the lock, no waiting: undefined when another process holds it (the automatic gc, builder/gc.ts). */
export async function tryLockRoot(root: string, mode: 'shared' | 'exclusive'): Promise<RootLock | undefined> {
  const db = await openLockDb(root);
  if (attempt(db, mode, root)) return held(db);
  db.close();
  return undefined;
}

async function openLockDb(root: string): Promise<DatabaseSync> {
  await makeDirs(root).catch((err: NodeJS.ErrnoException) => {
    throw new UserError('INVALID_ARGUMENT', `cannot create the state root ${root}: ${err.code ?? err.message}`, 'pass --root a directory tsbuild can create and write', { cause: err });
  });
  await keepPrivate(root);
  const file = join(root, 'lock.db');
  try {
    return new DatabaseSync(file, { timeout: 0 });
  } catch (err) {
    throw new UserError('STORE_LOCKED', `cannot lock ${file}: ${err instanceof Error ? err.message : String(err)}`, 'check that the state root is writable', { cause: err });
  }
}

/**
 * The state root is tsbuild's alone: 0700, made so at every lock (a root an older version made 0755 included). Image
 * contents sit in it as the image has them, setuid-root files, files with security.capability and device nodes
 * included, and so do pulled private layers and the build records: a root other users could traverse would let any
 * of them run an image's setuid shell as root (moby CVE-2021-41091, containerd CVE-2021-41103; buildkitd's root is
 * 0700 too). Only a root this process owns is changed.
 */
async function keepPrivate(root: string): Promise<void> {
  const st = await stat(root);
  if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) await chmod(root, 0o700);
}

/** True when the lock is taken; false when another process holds it. Any other failure closes `db` and throws. */
function attempt(db: DatabaseSync, mode: 'shared' | 'exclusive', root: string): boolean {
  try {
    take(db, mode);
    return true;
  } catch (err) {
    if (isBusy(err)) return false;
    db.close();
    const file = join(root, 'lock.db');
    // A full disk or a read-only root is the machine's, and says so; only what is left can be a damaged lock.db.
    const host = hostFailure(err);
    throw new UserError('STORE_LOCKED', `cannot lock ${file}: ${host?.message ?? (err instanceof Error ? err.message : String(err))}`,
      host !== undefined ? `${host.hint ?? ''}; with the disk full, even prune cannot start: free space elsewhere on that file system first`
        : `check that the state root is writable; a damaged lock.db (it holds no data) may be removed while no tsbuild uses ${root}`, { cause: err });
  }
}

function held(db: DatabaseSync): RootLock {
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      db.close();   // ends the transaction: the lock goes with it
    },
  };
}

/** One attempt; leaves no transaction open when it fails. */
function take(db: DatabaseSync, mode: 'shared' | 'exclusive'): void {
  try {
    // The journal mode is read from the file's header (a read: SHARED for a moment). DELETE, never WAL: a WAL
    // database's readers take no SHARED lock that an exclusive writer would wait for.
    if (mode === 'exclusive') {
      db.exec('BEGIN EXCLUSIVE');
    } else {
      db.exec('BEGIN');
      // A read holds SHARED until the transaction ends. The schema read needs no table, so lock.db stays empty.
      db.prepare('SELECT count(*) FROM sqlite_schema').get();
    }
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

function isBusy(err: unknown): boolean {
  return /database is locked|SQLITE_BUSY/i.test(String(err)) || (err as { errcode?: number }).errcode === 5;
}
