import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { isDigest, type Digest } from '../../registry/oci/index.js';
import { addMissingColumns, closeSharedDb, isTsbuildError, openSharedDb } from '../../common/index.js';
import type { ContentDigest } from '../../solver/index.js';

/**
 * What is known of one source entry: a regular file's content digest, and the digest of the xattrs its key counts
 * (null: it has none; key-xattrs.ts). Either is undefined when not known yet.
 */
export interface CachedEntry { content?: Digest | undefined; xattrs?: Digest | null | undefined }

/**
 * Remembers what was read of an entry by a key made of (dev, ino, size, mtime ns, ctime ns: dir-listing.ts
 * statKeyText), so an unchanged file is not read again. ctime is in the key because it changes on every write, every
 * xattr set or removed included, and cannot be set back by the user (unlike mtime). Optionally it also remembers a
 * whole selection's result by a key over every entry's path and stat (`getTree`), so an unchanged 20,000-file COPY
 * source costs one walk and one lookup instead of 20,000.
 */
export interface HashCache {
  get(key: string): CachedEntry | undefined;
  set(key: string, entry: CachedEntry): void;
  getTree?(key: Digest): ContentDigest | undefined;
  setTree?(key: Digest, value: ContentDigest): void;
  /** Writes what `set` buffered; callers call it once after a batch of `set`s. */
  flush?(): void;
}

/**
 * `set`s buffered before they are written in one transaction. Small enough that the buffered keys and digests die young:
 * 2048 of them outlived several scavenges of a 20,000-file hash and were promoted (old-generation garbage, peak RSS).
 */
const FLUSH_EVERY = 256;

/** How many whole-selection results are kept (least recently used go first). */
const TREES_KEPT = 256;

/**
 * A hit refreshes a result's last use only when it is older than this: the LRU order needs no finer grain, and a
 * write on every no-op build made closing the database checkpoint its WAL (an fsync of the file, ~10-30 ms on a
 * busy disk) for nothing.
 */
const TOUCH_AFTER_MS = 10 * 60 * 1000;

/**
 * A HashCache persisted in a node:sqlite file; counts hits and misses (a key found or not) so callers (and tests) can
 * see it working. One row per entry: content and xattrs digests side by side, one lookup for both ('' for none:
 * a directory's content, an entry without key xattrs; NULL xattrs: a row written before they were counted, read again).
 */
export class FileHashCache implements HashCache {
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #set: StatementSync;
  readonly #getTree: StatementSync;
  readonly #touchTree: StatementSync;
  readonly #setTree: StatementSync;
  readonly #trimTrees: StatementSync;
  /** Written by `set`, not yet in the database: one transaction per batch instead of one per file. */
  readonly #pending = new Map<string, CachedEntry>();
  hits = 0;
  misses = 0;
  treeHits = 0;

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    const setup = `PRAGMA synchronous=NORMAL; CREATE TABLE IF NOT EXISTS file_hash (key TEXT PRIMARY KEY, digest TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS tree_digest (key TEXT PRIMARY KEY, value TEXT NOT NULL, used INTEGER NOT NULL)`;
    try {
      this.#db = openSharedDb(file, setup);
    } catch (err) {
      // Only a cache of digests tsbuild can compute again: a damaged one is started anew.
      if (!isTsbuildError(err) || err.code !== 'STATE_DAMAGED') throw err;
      for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
      this.#db = openSharedDb(file, setup);
    }
    addMissingColumns(this.#db, 'file_hash', [['xattrs', 'TEXT']]);
    this.#get = this.#db.prepare('SELECT digest, xattrs FROM file_hash WHERE key = ?');
    this.#set = this.#db.prepare('INSERT OR REPLACE INTO file_hash (key, digest, xattrs) VALUES (?, ?, ?)');
    this.#getTree = this.#db.prepare('SELECT value, used FROM tree_digest WHERE key = ?');
    this.#touchTree = this.#db.prepare('UPDATE tree_digest SET used = ? WHERE key = ?');
    this.#setTree = this.#db.prepare('INSERT OR REPLACE INTO tree_digest (key, value, used) VALUES (?, ?, ?)');
    this.#trimTrees = this.#db.prepare(`DELETE FROM tree_digest WHERE key NOT IN (SELECT key FROM tree_digest ORDER BY used DESC LIMIT ${TREES_KEPT})`);
  }

  get(key: string): CachedEntry | undefined {
    const pending = this.#pending.get(key);
    if (pending !== undefined) { this.hits++; return pending; }
    const row = this.#get.get(key);
    if (row === undefined) { this.misses++; return undefined; }
    this.hits++;
    const { digest, xattrs } = row;
    return { content: isDigest(digest) ? digest : undefined, xattrs: xattrs === '' ? null : isDigest(xattrs) ? xattrs : undefined };
  }

  set(key: string, entry: CachedEntry): void {
    this.#pending.set(key, entry);
    // Written in batches as they fill, so the pending keys of a big context are never all in memory at once.
    if (this.#pending.size >= FLUSH_EVERY) this.flush();
  }

  getTree(key: Digest): ContentDigest | undefined {
    const row = this.#getTree.get(key);
    const value = row === undefined ? undefined : parseContentDigest(row['value']);
    if (value === undefined) return undefined;
    const now = Date.now();
    const used = row?.['used'];
    if (typeof used !== 'number' || now - used >= TOUCH_AFTER_MS) this.#touchTree.run(now, key);
    this.treeHits++;
    return value;
  }

  setTree(key: Digest, value: ContentDigest): void {
    this.flush();
    this.#setTree.run(key, JSON.stringify(value), Date.now());
    this.#trimTrees.run();
  }

  flush(): void {
    if (this.#pending.size === 0) return;
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      for (const [key, { content, xattrs }] of this.#pending) this.#set.run(key, content ?? '', xattrs === undefined ? null : xattrs ?? '');
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
    this.#pending.clear();
  }

  /** Writes what is pending and closes the database; the cache must not be used afterwards. */
  close(): void {
    try {
      this.flush();
    } finally {
      closeSharedDb(this.#db);
    }
  }
}

/** A stored selection result, checked: it is our own file, but a stale format must read as a miss, not a crash. */
function parseContentDigest(text: unknown): ContentDigest | undefined {
  if (typeof text !== 'string') return undefined;
  let value: unknown;
  try { value = JSON.parse(text); } catch { return undefined; }
  if (typeof value !== 'object' || value === null) return undefined;
  const { digest, files } = value as Record<string, unknown>;
  if (!isDigest(digest) || typeof files !== 'object' || files === null) return undefined;
  if (!Object.values(files).every(isDigest)) return undefined;
  return { digest, files: files as Record<string, Digest> };
}
