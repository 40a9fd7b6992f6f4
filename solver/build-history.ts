import type { DatabaseSync } from 'node:sqlite';
import { parseBuildRecord, summarizeBuild } from './build-record.js';
import type { BuildRecord, BuildSummary } from './build-record.js';
import { acquireCacheDb, closeCacheDb, inTransaction } from './cache-schema.js';
import { parseJson, str } from './sqlite-row.js';
import { addMissingColumns } from '../common/index.js';

/**
 * The build history: one record per build (its steps, key manifest, context report), in the `builds` table of
 * `<root>/cache.db`. It shares the file (and its WAL and locking) with the cache index but nothing else: reading
 * history never opens the cache, never bumps a record's last use and never holds a lease. `tsbuild history`,
 * `report`, `explain`, `trends`, `context` and image history read it; a build writes one record at its end.
 */
export class BuildHistory {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating when new) the history under `root`. */
  static open(root: string, opts: { busyTimeoutMs?: number } = {}): BuildHistory {
    const db = acquireCacheDb(root, opts.busyTimeoutMs);
    addMissingColumns(db, 'builds', [['summary', 'TEXT'], ['brief', 'TEXT'], ['logs', 'BLOB']]);
    addDockerfileIndex(db);
    return new BuildHistory(db);
  }

  /**
   * Stores (or replaces) the record of one build. `brief`: a small text the caller derives from the record and reads
   * back with briefsOf instead of the whole record (the builder's context report keeps a digest of the build's context
   * files there); not interpreted here. `logs`: the build's progress as the builder stored it (its steps' output),
   * read back with logsOf; in the record's row, so pruning or removing the record drops it too. Not interpreted here.
   */
  recordBuild(record: BuildRecord, brief?: string, keep?: HistoryRetention, logs?: Uint8Array): void {
    inTransaction(this.#db, () => {
      this.#db
        .prepare('INSERT OR REPLACE INTO builds (id, started, finished, status, record, summary, brief, logs) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(record.id, record.started, record.finished, record.status, JSON.stringify(record), JSON.stringify(listedSummary(record)), brief ?? null, logs ?? null);
      if (keep !== undefined) this.#prune(keep, record.id);
    });
  }

  /**
   * Drops the records `keep` does not keep, never the one just recorded (`recorded`): those older than maxAgeMs, then
   * all but the newest maxEntries (the one recorded counts among them). In the recording's transaction, so the history
   * never holds more than the limit.
   */
  #prune(keep: HistoryRetention, recorded: string): void {
    if (keep.maxAgeMs !== undefined) {
      this.#db.prepare('DELETE FROM builds WHERE started < ? AND id != ?').run(Date.now() - keep.maxAgeMs, recorded);
    }
    if (keep.maxEntries !== undefined) {
      this.#db.prepare('DELETE FROM builds WHERE id IN (SELECT id FROM builds WHERE id != ? ORDER BY started DESC, id DESC LIMIT -1 OFFSET ?)')
        .run(recorded, Math.max(0, keep.maxEntries - 1));
    }
  }

  /**
   * The newest `limit` builds of the Dockerfile at `dockerfile`, newest first, as their ids and the `brief` each was
   * recorded with (undefined for builds recorded without one): what buildsOf reads, without parsing ~40 KB a build.
   */
  briefsOf(dockerfile: string, limit: number): { id: string; brief?: string }[] {
    return this.#db
      .prepare(`SELECT id, brief FROM builds WHERE ${DOCKERFILE_OF} = ? ORDER BY started DESC LIMIT ?`)
      .all(dockerfile, limit)
      .map((row) => (typeof row['brief'] === 'string' ? { id: str(row, 'id'), brief: row['brief'] } : { id: str(row, 'id') }));
  }

  /**
   * Builds newest first, without their step records. Read from the summary column written with each record: every
   * build's context report lists the history, and parsing each whole record (~40 KB with its key manifest) made a
   * no-op build slower with every build recorded (93 builds: ~18 ms).
   */
  listBuilds(limit = 100): BuildSummary[] {
    const missing: [string, BuildSummary][] = [];
    const list = this.#db
      .prepare('SELECT id, summary, CASE WHEN summary IS NULL THEN record END AS record FROM builds ORDER BY started DESC LIMIT ?')
      .all(limit)
      .map((row) => {
        if (typeof row['summary'] === 'string') return parseJson<BuildSummary>(row['summary']);
        // Recorded before the column existed: summarised from the whole record, and the summary kept for next time.
        const summary = listedSummary(parseBuildRecord(str(row, 'record')));
        missing.push([str(row, 'id'), summary]);
        return summary;
      });
    if (missing.length > 0) {
      inTransaction(this.#db, () => {
        const set = this.#db.prepare('UPDATE builds SET summary = ? WHERE id = ? AND summary IS NULL');
        for (const [id, summary] of missing) set.run(JSON.stringify(summary), id);
      });
    }
    return list;
  }

  /**
   * The ids of the newest `limit` builds of the Dockerfile at `dockerfile`, newest first. Matched in SQL on the small
   * summary column (the whole record only for builds recorded before it existed), so every build's context report
   * costs the same however long the history grows.
   */
  buildIdsOf(dockerfile: string, limit: number): string[] {
    return this.#db
      .prepare(`SELECT id FROM builds WHERE ${DOCKERFILE_OF} = ? ORDER BY started DESC LIMIT ?`)
      .all(dockerfile, limit)
      .map((row) => str(row, 'id'));
  }

  /**
   * The newest `limit` builds of the Dockerfile at `dockerfile` with their step records, newest first: buildIdsOf and
   * getBuild in one query, which the builds_by_dockerfile index answers without reading every build's summary (every
   * build's context report asks for its Dockerfile's last 30).
   */
  buildsOf(dockerfile: string, limit: number): BuildRecord[] {
    return this.#db
      .prepare(`SELECT record FROM builds WHERE ${DOCKERFILE_OF} = ? ORDER BY started DESC LIMIT ?`)
      .all(dockerfile, limit)
      .map((row) => parseBuildRecord(str(row, 'record')));
  }

  /** One build with its step records; a unique prefix of the id is enough. */
  getBuild(id: string): BuildRecord | undefined {
    const found = this.#resolveId(id);
    if (found === undefined) return undefined;
    const row = this.#db.prepare('SELECT record FROM builds WHERE id = ?').get(found);
    return row === undefined ? undefined : parseBuildRecord(str(row, 'record'));
  }

  /** The logs recorded with the build `id` (its exact id); undefined for a build recorded without them (older tsbuild). */
  logsOf(id: string): Uint8Array | undefined {
    const value = this.#db.prepare('SELECT logs FROM builds WHERE id = ?').get(id)?.['logs'];
    return value instanceof Uint8Array ? value : undefined;
  }

  /**
   * Removes the builds `refs` name (ids, or unique prefixes of them, as getBuild takes them), or every build with
   * `all`. Returns the refs that name no build, or more than one: nothing of those is removed.
   */
  removeBuilds(refs: string[], all = false): string[] {
    return inTransaction(this.#db, () => {
      if (all) {
        this.#db.exec('DELETE FROM builds');
        return [];
      }
      const unknown: string[] = [];
      for (const ref of refs) {
        const id = this.#resolveId(ref);
        if (id === undefined) unknown.push(ref);
        else this.#db.prepare('DELETE FROM builds WHERE id = ?').run(id);
      }
      return unknown;
    });
  }

  /** The id `ref` names: itself, or the one id it is a prefix of; undefined for none or several. */
  #resolveId(ref: string): string | undefined {
    const ids = this.#db.prepare("SELECT id FROM builds WHERE id = ? OR id LIKE ? ESCAPE '\\' LIMIT 2").all(ref, `${escapeLike(ref)}%`).map((row) => str(row, 'id'));
    return ids.includes(ref) ? ref : ids.length === 1 ? ids[0] : undefined;
  }

  close(): void {
    closeCacheDb(this.#db);
  }
}

/**
 * How many build records a root keeps, as buildkitd.toml's [history] says it (maxEntries, maxAge): each build records
 * ~40 KB, and without a limit the history grows with every build a long-lived root runs. Absent: no limit of that kind.
 */
export interface HistoryRetention {
  /** At most this many records (the newest). */
  maxEntries?: number;
  /** No record that started longer ago than this. */
  maxAgeMs?: number;
}

/**
 * A build's summary as listBuilds returns it: summarizeBuild, without what the builder attaches to a record for its
 * reports (the key manifest and the context report: most of a record's bytes).
 */
function listedSummary(record: BuildRecord): BuildSummary {
  const summary: BuildSummary & { keyManifest?: unknown; context?: unknown } = summarizeBuild(record);
  delete summary.keyManifest;
  delete summary.context;
  return summary;
}


/** A build's Dockerfile, from the small summary (the whole record only for builds recorded before it existed). */
const DOCKERFILE_OF = "COALESCE(json_extract(summary, '$.dockerfile'), json_extract(record, '$.dockerfile'))";

/**
 * Indexes builds by Dockerfile and start (the expression exactly as the queries write it, or SQLite would not use
 * it), with the id and brief: briefsOf, which every build's context report runs, is then answered from the index
 * alone. From the table it read each row's ~40 KB record on the way to the brief after it (SQLite walks a row's
 * overflow pages to reach a later column): ~1.7 ms of a no-op build on a history of 44 builds, 0.2 ms from the index
 * (bench/RESULTS.md, thirteenth round). The older index on (Dockerfile, started) alone is dropped. Made once per
 * history, in the open that finds it missing; IF [NOT] EXISTS is a read when there is nothing to do.
 */
function addDockerfileIndex(db: DatabaseSync): void {
  db.exec(`CREATE INDEX IF NOT EXISTS builds_by_dockerfile ON builds (${DOCKERFILE_OF}, started, id, brief);
    DROP INDEX IF EXISTS builds_dockerfile;`);
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
