import type { DatabaseSync } from 'node:sqlite';
import type { SnapshotInfo } from './snapshotter.js';
import { openSharedDb } from '../../common/index.js';

/** One row of the snapshot table: `name` is the key while active, the name once committed. */
export interface SnapshotRow { id: number; name: string; kind: SnapshotInfo['kind']; parent: string | null; created: number; size: number; owner: number | null }

/**
 * Snapshot metadata in SQLite (WAL): every state change is one statement or transaction, so after kill -9 the table
 * shows each snapshot either before or after a change, never half-way.
 */
export class SnapshotMetadata {
  readonly #db: DatabaseSync;

  constructor(path: string) {
    this.#db = openSharedDb(path, `PRAGMA synchronous=FULL; CREATE TABLE IF NOT EXISTS snapshots (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL UNIQUE,
      kind TEXT NOT NULL,
      parent TEXT,
      created INTEGER NOT NULL,
      size INTEGER NOT NULL DEFAULT 0,
      owner INTEGER)`);
  }

  get(name: string): SnapshotRow | undefined {
    return toRow(this.#db.prepare('SELECT * FROM snapshots WHERE name = ?').get(name));
  }

  all(): SnapshotRow[] {
    return this.#db.prepare('SELECT * FROM snapshots ORDER BY id').all().map((r) => {
      const row = toRow(r);
      if (!row) throw new Error('malformed snapshot row');
      return row;
    });
  }

  /** Inserts an active or view snapshot owned by this process; throws when the name is taken. */
  insert(name: string, kind: 'active' | 'view', parent: string | undefined): SnapshotRow {
    const res = this.#db.prepare('INSERT INTO snapshots (name, kind, parent, created, owner) VALUES (?, ?, ?, ?, ?)')
      .run(name, kind, parent ?? null, Date.now(), process.pid);
    const row = this.get(name);
    if (!row || row.id !== Number(res.lastInsertRowid)) throw new Error(`snapshot ${name} vanished after insert`);
    return row;
  }

  /** Renames active `key` to committed `name` in one statement. Returns false when `key` is not active. */
  commit(name: string, key: string, size: number): boolean {
    const res = this.#db.prepare("UPDATE snapshots SET name = ?, kind = 'committed', size = ?, owner = NULL WHERE name = ? AND kind = 'active'")
      .run(name, size, key);
    return Number(res.changes) === 1;
  }

  /** Deletes a row unless a snapshot still names it as parent; returns the deleted row. */
  delete(name: string): SnapshotRow | undefined {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const row = this.get(name);
      if (row) {
        const child = this.#db.prepare('SELECT name FROM snapshots WHERE parent = ? LIMIT 1').get(name);
        if (child) throw new Error(`snapshot ${name} is the parent of ${String(child['name'])}; remove that first`);
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
    this.#db.close();
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
  };
}
