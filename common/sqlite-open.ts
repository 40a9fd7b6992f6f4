import { DatabaseSync } from 'node:sqlite';
import { UserError } from './errors.js';
import { areDatabasesLeftToExit } from './exit-policy.js';

/**
 * Opens a SQLite database shared by concurrent tsbuild processes, in WAL mode. Two processes creating the same
 * database at once race to switch it to WAL, and SQLite answers that race with "database is locked" without
 * consulting the busy timeout; so the set-up statements are retried (a few ms apart, up to `busyMs`) until one wins.
 * `busyMs` (default 10 s) is also how long a writer waits for another's transaction instead of failing with SQLITE_BUSY.
 */
export function openSharedDb(path: string, setup: string, busyMs = 10_000): DatabaseSync {
  const db = new DatabaseSync(path, { timeout: busyMs });
  const deadline = Date.now() + busyMs;
  for (;;) {
    try {
      db.exec(`PRAGMA busy_timeout=${busyMs}; PRAGMA journal_mode=WAL; ${setup}`);
      return db;
    } catch (err) {
      if (!/database is locked|SQLITE_BUSY/i.test(String(err)) || Date.now() > deadline) { db.close(); throw damagedDb(path, err) ?? err; }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5 + Math.random() * 20);
    }
  }
}

/**
 * SQLite's answer for a file that is not (or no longer) a database it can read, SQLITE_NOTADB or SQLITE_CORRUPT, as
 * the user error it is: the state root was damaged from outside (a truncated copy, a full disk during a crash), and
 * tsbuild cannot repair it. Undefined for any other error.
 */
export function damagedDb(path: string, err: unknown): UserError | undefined {
  const { code, errcode, errstr } = (err ?? {}) as { code?: unknown; errcode?: unknown; errstr?: unknown };
  if (code !== 'ERR_SQLITE_ERROR' || (errcode !== 26 && errcode !== 11)) return undefined;
  return new UserError('STATE_DAMAGED', `the state database ${path} is damaged: ${typeof errstr === 'string' ? errstr : String(err)}`,
    'tsbuild cannot repair it: move the state root aside (e.g. mv ROOT ROOT.damaged) or build with another --root; the next build starts with an empty cache', { cause: err });
}

/**
 * Adds the columns of `table` a database made before they existed lacks (`[name, SQL type and default]`). Another
 * process opening the same database may add one at the same moment: its "duplicate column" is success here.
 */
export function addMissingColumns(db: DatabaseSync, table: string, columns: ReadonlyArray<readonly [name: string, type: string]>): void {
  const have = new Set(db.prepare(`PRAGMA table_info(${table})`).all().map((c) => String(c['name'])));
  for (const [name, type] of columns) {
    if (have.has(name)) continue;
    try {
      db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
    } catch (err) {
      if (!/duplicate column/i.test(String(err))) throw err;
    }
  }
}

/** Closes a database opened by openSharedDb, unless the process leaves it to its exit (common/exit-policy.ts). */
export function closeSharedDb(db: DatabaseSync): void {
  if (!areDatabasesLeftToExit()) db.close();
}
