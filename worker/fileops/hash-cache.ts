import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { isDigest, type Digest } from '../../registry/oci/index.js';
import { openSharedDb } from '../../common/index.js';

/**
 * Remembers file content digests by a key made of (dev, ino, size, mtime ns, ctime ns), so an unchanged file is not
 * read again. ctime is in the key because it changes on every write and cannot be set back by the user (unlike mtime).
 */
export interface HashCache {
  get(key: string): Digest | undefined;
  set(key: string, digest: Digest): void;
}

/** A HashCache persisted in a node:sqlite file; counts hits and misses so callers (and tests) can see it working. */
export class FileHashCache implements HashCache {
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #set: StatementSync;
  hits = 0;
  misses = 0;

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.#db = openSharedDb(file, 'PRAGMA synchronous=NORMAL; CREATE TABLE IF NOT EXISTS file_hash (key TEXT PRIMARY KEY, digest TEXT NOT NULL)');
    this.#get = this.#db.prepare('SELECT digest FROM file_hash WHERE key = ?');
    this.#set = this.#db.prepare('INSERT OR REPLACE INTO file_hash (key, digest) VALUES (?, ?)');
  }

  get(key: string): Digest | undefined {
    const row = this.#get.get(key);
    const digest = row === undefined ? undefined : row['digest'];
    if (isDigest(digest)) { this.hits++; return digest; }
    this.misses++;
    return undefined;
  }

  set(key: string, digest: Digest): void {
    this.#set.run(key, digest);
  }

  /** Closes the database; the cache must not be used afterwards. */
  close(): void {
    this.#db.close();
  }
}
