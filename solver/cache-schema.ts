import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { closeSharedDb, openSharedDb, UserError } from '../common/index.js';

/**
 * Bumped when the tables change incompatibly. A cache.db of another version is refused, never rebuilt: its records
 * name the snapshots and blobs on disk (dropping them would leave those unreachable by prune) and its build history
 * is not a cache. Additive changes (a new column, as builds.summary) keep the version and are made on open.
 */
const SCHEMA_VERSION = '1';

const TABLES = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  key TEXT PRIMARY KEY, parts TEXT NOT NULL, result TEXT NOT NULL,
  created INTEGER NOT NULL, last_used INTEGER NOT NULL, size INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS records_last_used ON records (last_used);
-- Covers the automatic gc's check after every build, SELECT total(size): the index, not every record's JSON.
CREATE INDEX IF NOT EXISTS records_size ON records (size);
CREATE TABLE IF NOT EXISTS steps (
  locator TEXT PRIMARY KEY, key TEXT NOT NULL, parts TEXT NOT NULL, files TEXT NOT NULL, updated INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS builds (
  id TEXT PRIMARY KEY, started INTEGER NOT NULL, finished INTEGER NOT NULL, status TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orphans (result TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY, pid INTEGER NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS lease_keys (lease TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (lease, key));
`;

/** How much of cache.db SQLite maps (address space only: pages are read as they are touched). */
const MMAP_BYTES = 256 * 1024 * 1024;

/**
 * Opens (creating when new) `<root>/cache.db`. WAL lets readers and one writer of several processes proceed at
 * once; busy_timeout makes a writer wait for another's transaction instead of failing with SQLITE_BUSY.
 */
export function openCacheDb(root: string, busyTimeoutMs = 10_000): DatabaseSync {
  mkdirSync(root, { recursive: true });
  // NORMAL is durable across process crashes in WAL mode; a power loss may lose the last commits, which for a cache
  // only means rebuilding those steps.
  // mmap_size: the database file's pages are read through a shared mapping instead of a pread each (a process starts
  // with an empty page cache: a no-op build read ~300 pages one syscall at a time). Writes still go through the WAL.
  const db = openSharedDb(join(root, 'cache.db'), `PRAGMA synchronous = NORMAL; PRAGMA mmap_size = ${MMAP_BYTES};`, busyTimeoutMs);
  inTransaction(db, () => {
    db.exec(TABLES);
    const row = db.prepare('SELECT value FROM meta WHERE name = ?').get('schema');
    if (row === undefined) db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
    else if (row['value'] !== SCHEMA_VERSION) {
      throw new UserError('INVALID_ARGUMENT', `${join(root, 'cache.db')} has schema ${String(row['value'])}, and this tsbuild reads schema ${SCHEMA_VERSION}`,
        'use the tsbuild that wrote this root, or another --root (remove this one to start over)');
    }
  });
  return db;
}

/** The open connections to each cache.db of this process, by path, and how many users each has. */
const connections = new Map<string, { db: DatabaseSync; users: number }>();

/**
 * One connection to `<root>/cache.db` for every user in this process (the cache index and the build history of a
 * build): opened, set up and checked once, closed by the last closeCacheDb. Sharing is safe because every use is
 * synchronous: a transaction (inTransaction) runs to its end before another user can run.
 */
export function acquireCacheDb(root: string, busyTimeoutMs?: number): DatabaseSync {
  const path = resolve(root, 'cache.db');
  const known = connections.get(path);
  if (known !== undefined && known.db.isOpen) {
    known.users++;
    return known.db;
  }
  const db = openCacheDb(root, busyTimeoutMs);
  connections.set(path, { db, users: 1 });
  return db;
}

/** Gives back a connection from acquireCacheDb; the last user's call closes it (SQLite then checkpoints its WAL). */
export function closeCacheDb(db: DatabaseSync): void {
  for (const [path, c] of connections) {
    if (c.db !== db) continue;
    if (--c.users > 0) return;
    connections.delete(path);
    break;
  }
  closeSharedDb(db);
}

/**
 * Runs `fn` in a write transaction. BEGIN IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so
 * a read-then-write inside cannot fail half way with SQLITE_BUSY when another process wrote in between.
 */
export function inTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const out = fn();
    db.exec('COMMIT');
    return out;
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}
