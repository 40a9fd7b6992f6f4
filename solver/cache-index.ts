import type { DatabaseSync } from 'node:sqlite';
import type { Digest } from '../registry/oci/index.js';
import { isProcessAlive as isAlive } from '../common/index.js';
import type { CacheKey, CacheKeyParts } from './cache-key.js';
import { acquireCacheDb, closeCacheDb, inTransaction } from './cache-schema.js';
import type { CacheIndex, CacheRecord, ContentFiles, FsState, StepRecord } from './ports.js';
import { planPrune } from './prune-plan.js';
import { num, parseJson, str } from './sqlite-row.js';
import type { PruneOptions, PrunePlan } from './prune-plan.js';

/** One cache record as `tsbuild du` lists it. */
export interface DiskUsageEntry { key: Digest; opText: string; size: number; created: number; lastUsed: number; leased: boolean }
/** What the cache holds: record count, total layer bytes and the records. */
export interface DiskUsage { count: number; size: number; entries: DiskUsageEntry[] }

/**
 * The cache index in `<root>/cache.db` (node:sqlite). Several processes may use one root at once: every write is a
 * transaction, WAL lets readers run beside a writer, and busy_timeout queues writers instead of failing.
 *
 * A cached build only reads records and writes bookkeeping: last-used times, the step records explain reads, lease
 * entries. Last-used times and step records wait in memory and go to the database in the next transaction (the next
 * step's lease, a new record, release, prune, close): one transaction per step instead of three. Losing them to a
 * kill -9 only makes prune's order or a miss explanation less precise.
 */
export class SqliteCacheIndex implements CacheIndex {
  readonly #db: DatabaseSync;
  readonly #now: () => number;
  readonly #pendingUsed = new Map<Digest, number>();
  readonly #pendingSteps = new Map<string, StepRecord & { updated: number }>();
  #pendingHolds: { lease: string; key: Digest; created: number }[] = [];
  /** Each step record as previous() read it from the database (JSON as stored): remember() skips writing it again. */
  readonly #storedSteps = new Map<string, { digest: string; parts: string; files: string }>();
  readonly #isPruneExcluded: boolean;
  /** The leases held through this index, and those of them it wrote to the database: release deletes no other. */
  readonly #heldLeases = new Set<string>();
  readonly #writtenLeases = new Set<string>();

  private constructor(db: DatabaseSync, now: () => number, isPruneExcluded: boolean) {
    this.#db = db;
    this.#now = now;
    this.#isPruneExcluded = isPruneExcluded;
  }

  /**
   * Opens (creating when new) the index under `root`. `now` is the clock for created/lastUsed (epoch ms).
   * `pruneExcluded`: the caller holds, for as long as this index is open, a lock that keeps out every prune of the
   * root (the builder's root lock, builder/root-lock.ts). No prune can then run before this process's leases are
   * read, so hold() waits in memory with the other bookkeeping instead of a transaction per step.
   */
  static open(root: string, opts: { now?: () => number; busyTimeoutMs?: number; pruneExcluded?: boolean } = {}): SqliteCacheIndex {
    const db = acquireCacheDb(root, opts.busyTimeoutMs);
    return new SqliteCacheIndex(db, opts.now ?? Date.now, opts.pruneExcluded === true);
  }

  async get(key: Digest): Promise<CacheRecord | undefined> {
    const row = this.#db.prepare('SELECT * FROM records WHERE key = ?').get(key);
    if (row === undefined) return undefined;
    const lastUsed = this.#now();
    this.#pendingUsed.set(key, lastUsed);
    return {
      result: parseJson<FsState>(str(row, 'result')),
      parts: parseJson<CacheKeyParts>(str(row, 'parts')),
      created: num(row, 'created'),
      lastUsed,
      size: num(row, 'size'),
    };
  }

  async put(key: CacheKey, record: { result: FsState; size: number; created?: number | undefined }): Promise<void> {
    const now = this.#now();
    const created = record.created ?? now;
    inTransaction(this.#db, () => {
      this.#writePending();
      // A forced rebuild replaces the result: remember the old one so prune can hand its snapshot and blobs back.
      const old = this.#db.prepare('SELECT result FROM records WHERE key = ?').get(key.digest);
      if (old !== undefined && str(old, 'result') !== JSON.stringify(record.result)) {
        this.#db.prepare('INSERT INTO orphans (result) VALUES (?)').run(str(old, 'result'));
      }
      this.#db
        .prepare(
          `INSERT INTO records (key, parts, result, created, last_used, size) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET parts = excluded.parts, result = excluded.result, created = excluded.created,
             last_used = excluded.last_used, size = excluded.size`,
        )
        .run(key.digest, JSON.stringify(key.parts), JSON.stringify(record.result), created, now, record.size);
    });
  }

  async previous(locator: string): Promise<StepRecord | undefined> {
    const pending = this.#pendingSteps.get(locator);
    if (pending !== undefined) return { digest: pending.digest, parts: pending.parts, files: pending.files };
    const row = this.#db.prepare('SELECT key, parts, files FROM steps WHERE locator = ?').get(locator);
    if (row === undefined) return undefined;
    this.#storedSteps.set(locator, { digest: str(row, 'key'), parts: str(row, 'parts'), files: str(row, 'files') });
    return {
      digest: str(row, 'key') as Digest,
      parts: parseJson<CacheKeyParts>(str(row, 'parts')),
      files: parseJson<ContentFiles>(str(row, 'files')),
    };
  }

  /** Kept for the next transaction; not written at all when the database already holds this very record. */
  async remember(locator: string, step: StepRecord): Promise<void> {
    const stored = this.#storedSteps.get(locator);
    if (stored !== undefined && stored.digest === step.digest && stored.parts === JSON.stringify(step.parts) && stored.files === JSON.stringify(step.files)) {
      this.#pendingSteps.delete(locator);
      return;
    }
    this.#pendingSteps.set(locator, { digest: step.digest, parts: step.parts, files: step.files, updated: this.#now() });
  }

  /**
   * Visible to other processes when it resolves (prune reads leases), so it is written now, with what is pending;
   * unless the index was opened `pruneExcluded`, when no prune can run while it is open (see open).
   */
  async hold(leaseId: string, keys: Digest[]): Promise<void> {
    const created = this.#now();
    this.#heldLeases.add(leaseId);
    for (const key of keys) this.#pendingHolds.push({ lease: leaseId, key, created });
    if (!this.#isPruneExcluded) inTransaction(this.#db, () => this.#writePending());
  }

  async release(leaseId: string): Promise<void> {
    // Holds of this lease that were never written need not be written to be deleted, nor deleted.
    this.#pendingHolds = this.#pendingHolds.filter((h) => h.lease !== leaseId);
    const isUnwritten = this.#heldLeases.has(leaseId) && !this.#writtenLeases.has(leaseId);
    this.#heldLeases.delete(leaseId);
    this.#writtenLeases.delete(leaseId);
    if (isUnwritten) return;
    inTransaction(this.#db, () => {
      this.#writePending();
      this.#db.prepare('DELETE FROM lease_keys WHERE lease = ?').run(leaseId);
      this.#db.prepare('DELETE FROM leases WHERE id = ?').run(leaseId);
    });
  }

  /** Writes the bookkeeping that waits in memory (see the class comment), in one transaction. */
  flush(): void {
    if (this.#hasPending()) inTransaction(this.#db, () => this.#writePending());
  }

  /** The bytes the records account for: one aggregate query, what the automatic gc checks after every build. */
  totalSize(): number {
    const row = this.#db.prepare('SELECT total(size) AS size FROM records').get();
    return row === undefined ? 0 : num(row, 'size');
  }

  /** Every record with its size, and the total. */
  du(): DiskUsage {
    this.flush();
    const leased = this.#liveLeasedKeys();
    const entries = this.#db
      .prepare('SELECT key, parts, size, created, last_used FROM records ORDER BY last_used DESC')
      .all()
      .map((row) => ({
        key: str(row, 'key') as Digest,
        opText: parseJson<CacheKeyParts>(str(row, 'parts')).opText,
        size: num(row, 'size'),
        created: num(row, 'created'),
        lastUsed: num(row, 'last_used'),
        leased: leased.has(str(row, 'key') as Digest),
      }));
    return { count: entries.length, size: entries.reduce((sum, e) => sum + e.size, 0), entries };
  }

  /**
   * Removes records least recently used first (see planPrune) and returns the snapshots and blobs that no remaining
   * record refers to: the caller removes them through the worker (snapshots in the order given, children first).
   * Records held by a live lease, and what they stand on, stay. Leases of dead processes are dropped.
   */
  prune(opts: PruneOptions = {}): PrunePlan {
    return inTransaction(this.#db, () => {
      this.#writePending();
      this.#dropDeadLeases();
      const records = this.#db.prepare('SELECT key, parts, result, size, created, last_used FROM records').all().map((row) => ({
        key: str(row, 'key') as Digest,
        inputs: parseJson<CacheKeyParts>(str(row, 'parts')).inputs,
        result: parseJson<FsState>(str(row, 'result')),
        size: num(row, 'size'),
        created: num(row, 'created'),
        lastUsed: num(row, 'last_used'),
      }));
      const orphans = this.#db.prepare('SELECT result FROM orphans').all().map((row) => parseJson<FsState>(str(row, 'result')));
      const plan = planPrune(records, this.#liveLeasedKeys(), opts, orphans);
      const del = this.#db.prepare('DELETE FROM records WHERE key = ?');
      for (const key of plan.keys) del.run(key);
      this.#db.exec('DELETE FROM orphans');
      return plan;
    });
  }

  /**
   * When each key's record was made, read only: no last-use bump, no lease. An image's history dates come from
   * here; reading them is no use of the cache.
   */
  createdAt(keys: readonly Digest[]): Map<Digest, number> {
    const out = new Map<Digest, number>();
    const stmt = this.#db.prepare('SELECT created FROM records WHERE key = ?');
    for (const key of keys) {
      const row = stmt.get(key);
      if (row !== undefined) out.set(key, num(row, 'created'));
    }
    return out;
  }

  close(): void {
    try {
      this.flush();
    } finally {
      closeCacheDb(this.#db);
    }
  }

  #hasPending(): boolean {
    return this.#pendingUsed.size > 0 || this.#pendingSteps.size > 0 || this.#pendingHolds.length > 0;
  }

  /** The pending bookkeeping writes; runs inside the caller's transaction. */
  #writePending(): void {
    if (!this.#hasPending()) return;
    const used = this.#db.prepare('UPDATE records SET last_used = ? WHERE key = ?');
    for (const [key, lastUsed] of this.#pendingUsed) used.run(lastUsed, key);
    const step = this.#db.prepare(
      `INSERT INTO steps (locator, key, parts, files, updated) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (locator) DO UPDATE SET key = excluded.key, parts = excluded.parts, files = excluded.files,
         updated = excluded.updated`,
    );
    for (const [locator, s] of this.#pendingSteps) {
      const stored = { digest: s.digest, parts: JSON.stringify(s.parts), files: JSON.stringify(s.files) };
      step.run(locator, stored.digest, stored.parts, stored.files, s.updated);
      this.#storedSteps.set(locator, stored);
    }
    const lease = this.#db.prepare('INSERT OR IGNORE INTO leases (id, pid, created) VALUES (?, ?, ?)');
    const leaseKey = this.#db.prepare('INSERT OR IGNORE INTO lease_keys (lease, key) VALUES (?, ?)');
    for (const h of this.#pendingHolds) {
      this.#writtenLeases.add(h.lease);
      lease.run(h.lease, process.pid, h.created);
      leaseKey.run(h.lease, h.key);
    }
    this.#pendingUsed.clear();
    this.#pendingSteps.clear();
    this.#pendingHolds.length = 0;
  }

  #liveLeasedKeys(): Set<Digest> {
    const rows = this.#db.prepare('SELECT l.pid AS pid, k.key AS key FROM leases l JOIN lease_keys k ON k.lease = l.id').all();
    return new Set(rows.filter((row) => isAlive(num(row, 'pid'))).map((row) => str(row, 'key') as Digest));
  }

  #dropDeadLeases(): void {
    for (const row of this.#db.prepare('SELECT id, pid FROM leases').all()) {
      if (isAlive(num(row, 'pid'))) continue;
      this.#db.prepare('DELETE FROM lease_keys WHERE lease = ?').run(str(row, 'id'));
      this.#db.prepare('DELETE FROM leases WHERE id = ?').run(str(row, 'id'));
    }
  }
}
