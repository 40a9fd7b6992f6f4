import { DatabaseSync } from 'node:sqlite';

const BUSY_MS = 10_000;

/**
 * Opens a SQLite database shared by concurrent tsbuild processes, in WAL mode. Two processes creating the same
 * database at once race to switch it to WAL, and SQLite answers that race with "database is locked" without
 * consulting the busy timeout; so the set-up statements are retried (a few ms apart, up to 10 s) until one wins.
 */
export function openSharedDb(path: string, setup: string): DatabaseSync {
  const db = new DatabaseSync(path, { timeout: BUSY_MS });
  const deadline = Date.now() + BUSY_MS;
  for (;;) {
    try {
      db.exec(`PRAGMA busy_timeout=${BUSY_MS}; PRAGMA journal_mode=WAL; ${setup}`);
      return db;
    } catch (err) {
      if (!/database is locked|SQLITE_BUSY/i.test(String(err)) || Date.now() > deadline) { db.close(); throw err; }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5 + Math.random() * 20);
    }
  }
}
