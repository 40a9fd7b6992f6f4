import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { SnapshotInfo } from './snapshotter.js';
import { addMissingColumns, closeSharedDb, openSharedDb } from '../../common/index.js';

/**
 * One row of the snapshot table: `name` is the key while active, the name once committed. `size` is -1 until
 * measured. `boot` is the kernel boot id a committed snapshot was written under, and `synced` whether a syncfs has
 * run since (see OverlaySnapshotter.commit).
 */
export interface SnapshotRow {
  id: number; name: string; kind: SnapshotInfo['kind']; parent: string | null; created: number; size: number; owner: number | null;
  boot: string | null; synced: boolean;
  /** The layer this committed snapshot is the bytes of, when its tar was not written (a lazy layer: see setLayer). */
  layer: LayerRecord | null;
}

/**
 * A committed snapshot's layer as exportLayer measured it (worker/layers/diff.ts) without writing the tar: its diffId,
 * its size and the tar options that give exactly those bytes again. Kept on the snapshot's own row, so it lives and
 * dies with the snapshot: a removed snapshot (prune, a failed step, a crash recovery) takes its record along in the
 * same statement, and no record can point at a snapshot that is not there.
 */
export interface LayerRecord { diffId: string; size: number; options: string }


/** A snapshot cannot go while another is built on it: the caller removes that one first (prune orders its list so). */
export class SnapshotHasChildrenError extends Error {
  constructor(readonly snapshot: string, readonly child: string) {
    super(`snapshot ${snapshot} is the parent of ${child}; remove that first`);
  }
}
/**
 * Snapshot metadata in SQLite (WAL): every state change is one statement or transaction, so after kill -9 the table
 * shows each snapshot either before or after a change, never half-way.
 */
export class SnapshotMetadata {
  readonly #db: DatabaseSync;
  /** Prepared once: a mount of step N reads the N rows of its chain, and preparing each read was most of its cost. */
  readonly #get: StatementSync;
  /** The two statements every step runs (insert at prepare, commit), compiled once. */
  readonly #insert: StatementSync;
  readonly #commit: StatementSync;
  #findLayer: StatementSync | undefined;

  constructor(path: string) {
    // NORMAL (no fsync per commit): a power loss may drop the last row changes, which #recover already handles (an
    // active row of a dead owner or a directory without a row is removed, a lost commit becomes such an active row).
    this.#db = openSharedDb(path, `PRAGMA synchronous=NORMAL; CREATE TABLE IF NOT EXISTS snapshots (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL UNIQUE,
      kind TEXT NOT NULL,
      parent TEXT,
      created INTEGER NOT NULL,
      size INTEGER NOT NULL DEFAULT 0,
      owner INTEGER)`);
    // Databases written before boot/synced existed hold only snapshots that were synced at commit.
    addMissingColumns(this.#db, 'snapshots', [['boot', 'TEXT'], ['synced', 'INTEGER NOT NULL DEFAULT 1'], ['layer_diff_id', 'TEXT'],
      ['layer_size', 'INTEGER'], ['layer_options', 'TEXT'], ['sync_token', 'TEXT']]);
    // A blob lookup that misses the blob dir asks this for every layer digest (content store, lazy layers).
    this.#db.exec('CREATE INDEX IF NOT EXISTS snapshots_layer ON snapshots(layer_diff_id)');
    // What every open asks (recoveryCandidates, pendingSyncTokens) is a handful of rows among thousands: partial
    // indexes over just those, so the open does not scan the table.
    this.#db.exec(`CREATE INDEX IF NOT EXISTS snapshots_unsynced ON snapshots(synced) WHERE synced = 0;
      CREATE INDEX IF NOT EXISTS snapshots_uncommitted ON snapshots(kind) WHERE kind != 'committed'`);
    this.#get = this.#db.prepare('SELECT * FROM snapshots WHERE name = ?');
    this.#insert = this.#db.prepare('INSERT INTO snapshots (name, kind, parent, created, owner) VALUES (?, ?, ?, ?, ?)');
    this.#commit = this.#db.prepare("UPDATE snapshots SET name = ?, kind = 'committed', size = -1, owner = NULL, boot = ?, synced = 0 WHERE name = ? AND kind = 'active'");
  }

  get(name: string): SnapshotRow | undefined {
    return toRow(this.#get.get(name));
  }

  all(): SnapshotRow[] {
    return this.#rows('SELECT * FROM snapshots ORDER BY id');
  }

  /**
   * What an open checks on every build, without reading every row (a shared CI root holds thousands): snapshots
   * being written or viewed by a process (to remove when it is gone), and committed ones of another boot never
   * synced (torn, to drop with their children).
   */
  recoveryCandidates(boot: string): { owned: SnapshotRow[]; torn: SnapshotRow[] } {
    return {
      // No ORDER BY: with it SQLite walks the table in id order instead of the partial index (an active or view
      // snapshot has no children, so the order of removal does not matter).
      owned: this.#rows("SELECT * FROM snapshots WHERE kind != 'committed' AND owner IS NOT NULL"),
      torn: this.#rows("SELECT * FROM snapshots WHERE kind = 'committed' AND synced = 0 AND boot IS NOT ? ORDER BY id", boot),
    };
  }

  /** The ids of every row, as the directory names under the snapshots dir. */
  ids(): Set<string> {
    // One row holding them all: node:sqlite makes an object per row, most of the cost on a root of thousands.
    const all = this.#db.prepare('SELECT group_concat(id) AS ids FROM snapshots').get()?.['ids'];
    return new Set(typeof all === 'string' ? all.split(',') : []);
  }

  #rows(sql: string, ...params: string[]): SnapshotRow[] {
    return this.#db.prepare(sql).all(...params).map((r) => {
      const row = toRow(r);
      if (!row) throw new Error('malformed snapshot row');
      return row;
    });
  }

  /** Inserts an active or view snapshot owned by this process; throws when the name is taken. */
  insert(name: string, kind: 'active' | 'view', parent: string | undefined): SnapshotRow {
    const res = this.#insert.run(name, kind, parent ?? null, Date.now(), process.pid);
    const row = this.get(name);
    if (!row || row.id !== Number(res.lastInsertRowid)) throw new Error(`snapshot ${name} vanished after insert`);
    return row;
  }

  /**
   * Renames active `key` to committed `name` in one statement, written under kernel boot `boot`, not yet synced, size
   * not yet measured. Returns false when `key` is not active.
   */
  commit(name: string, key: string, boot: string): boolean {
    const res = this.#commit.run(name, boot, key);
    return Number(res.changes) === 1;
  }

  /**
   * Records that committed snapshot `name` holds the bytes of layer `layer` (see LayerRecord). Returns false when
   * `name` is not a committed snapshot.
   */
  setLayer(name: string, layer: LayerRecord): boolean {
    const res = this.#db.prepare("UPDATE snapshots SET layer_diff_id = ?, layer_size = ?, layer_options = ? WHERE name = ? AND kind = 'committed'")
      .run(layer.diffId, layer.size, layer.options, name);
    return Number(res.changes) === 1;
  }

  /** A committed snapshot holding layer `diffId` (the oldest when several made the same bytes), if any. */
  findLayer(diffId: string): SnapshotRow | undefined {
    this.#findLayer ??= this.#db.prepare("SELECT * FROM snapshots WHERE layer_diff_id = ? AND kind = 'committed' ORDER BY id LIMIT 1");
    return toRow(this.#findLayer.get(diffId));
  }

  /** Records the measured size of snapshot `id`. */
  setSize(id: number, size: number): void {
    this.#db.prepare('UPDATE snapshots SET size = ? WHERE id = ?').run(size, id);
  }

  /**
   * Names of committed snapshots of boot `boot` not yet synced. Names, not ids: a committed name is never given twice
   * (layer-<uuid>), while SQLite may hand a removed row's id to the next row.
   */
  unsynced(boot: string): string[] {
    return this.#db.prepare("SELECT name FROM snapshots WHERE kind = 'committed' AND synced = 0 AND boot = ?").all(boot).map((r) => String(r['name']));
  }

  /** Ties unsynced snapshots `names` to background sync `token` (overlay.ts close), in one transaction. */
  setSyncToken(names: readonly string[], token: string): void {
    this.#inTransaction(() => {
      const update = this.#db.prepare("UPDATE snapshots SET sync_token = ? WHERE name = ? AND kind = 'committed' AND synced = 0");
      for (const name of names) update.run(token, name);
    });
  }

  /** The tokens of background syncs that unsynced rows wait for. */
  pendingSyncTokens(): string[] {
    return this.#db.prepare('SELECT DISTINCT sync_token FROM snapshots WHERE synced = 0 AND sync_token IS NOT NULL').all().map((r) => String(r['sync_token']));
  }

  /** Marks synced the committed rows that background sync `token` covered. */
  markTokenSynced(token: string): void {
    this.#db.prepare("UPDATE snapshots SET synced = 1 WHERE sync_token = ? AND kind = 'committed'").run(token);
  }

  /** Marks committed snapshots `names` as synced, in one transaction; names no longer there are skipped. */
  markSynced(names: readonly string[]): void {
    if (names.length === 0) return;
    this.#inTransaction(() => {
      const update = this.#db.prepare("UPDATE snapshots SET synced = 1 WHERE name = ? AND kind = 'committed'");
      for (const name of names) update.run(name);
    });
  }

  #inTransaction(fn: () => void): void {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      fn();
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  /** Deletes a row unless a snapshot still names it as parent (SnapshotHasChildrenError); returns the deleted row. */
  delete(name: string): SnapshotRow | undefined {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const row = this.get(name);
      if (row) {
        const child = this.#db.prepare('SELECT name FROM snapshots WHERE parent = ? LIMIT 1').get(name);
        if (child) throw new SnapshotHasChildrenError(name, String(child['name']));
        this.#db.prepare('DELETE FROM snapshots WHERE id = ?').run(row.id);
      }
      this.#db.exec('COMMIT');
      return row;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  close(): void {
    closeSharedDb(this.#db);
  }
}

function toRow(r: Record<string, unknown> | undefined): SnapshotRow | undefined {
  if (!r) return undefined;
  const kind = r['kind'];
  if (kind !== 'active' && kind !== 'view' && kind !== 'committed') throw new Error(`bad snapshot kind ${String(kind)}`);
  return {
    id: Number(r['id']),
    name: String(r['name']),
    kind,
    parent: r['parent'] === null ? null : String(r['parent']),
    created: Number(r['created']),
    size: Number(r['size']),
    owner: r['owner'] === null ? null : Number(r['owner']),
    boot: r['boot'] === null || r['boot'] === undefined ? null : String(r['boot']),
    synced: r['synced'] === undefined || Number(r['synced']) === 1,
    layer: typeof r['layer_diff_id'] === 'string' ? { diffId: r['layer_diff_id'], size: Number(r['layer_size']), options: String(r['layer_options'] ?? '{}') } : null,
  };
}
