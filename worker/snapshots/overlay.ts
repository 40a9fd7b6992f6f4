import { execFile } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { layerTar } from '../layers/layer-tar.js';
import type { LayerTarOptions } from '../layers/layer-tar.js';
import { SnapshotMetadata } from './metadata.js';
import { removeDeadMounts } from './mount.js';
import type { SnapshotRow } from './metadata.js';
import type { Mount, SnapshotInfo, Snapshotter } from './snapshotter.js';
import { isProcessAlive } from '../../common/index.js';
import { overlayMountOptions } from '../rootless/index.js';

const run = promisify(execFile);

/**
 * Snapshots as overlayfs layers: `<root>/snapshots/<id>/{fs,work}`, metadata in `<root>/snapshots/metadata.db`.
 * A snapshot's `fs` directory is its overlay upper dir, so it holds exactly its changes against the parent
 * (whiteouts as 0/0 character devices, opaque directories as `trusted.overlay.opaque=y`, or `user.overlay.opaque=y`
 * rootless: see worker/rootless/overlay-flavour.ts).
 */
export class OverlaySnapshotter implements Snapshotter {
  readonly #dir: string;
  readonly #meta: SnapshotMetadata;

  private constructor(dir: string, meta: SnapshotMetadata) {
    this.#dir = dir;
    this.#meta = meta;
  }

  /** Opens the snapshotter under `root`, dropping snapshots a dead process left active and unreferenced dirs. */
  static async open(root: string): Promise<OverlaySnapshotter> {
    const dir = join(root, 'snapshots');
    await mkdir(dir, { recursive: true });
    const snap = new OverlaySnapshotter(dir, new SnapshotMetadata(join(dir, 'metadata.db')));
    await removeDeadMounts(); // before #recover removes directories those mounts still use
    await snap.#recover();
    return snap;
  }

  async prepare(key: string, parent?: string): Promise<Mount[]> {
    if (parent !== undefined) this.#committed(parent);
    const row = this.#meta.insert(key, 'active', parent);
    try {
      await mkdir(join(this.#idDir(row.id), 'fs'), { recursive: true, mode: 0o755 });
      await mkdir(join(this.#idDir(row.id), 'work'), { mode: 0o700 });
    } catch (err) {
      this.#meta.delete(key);
      throw err;
    }
    return this.#mounts(row);
  }

  async view(key: string, parent: string): Promise<Mount[]> {
    this.#committed(parent);
    return this.#mounts(this.#meta.insert(key, 'view', parent));
  }

  async commit(name: string, key: string): Promise<void> {
    const row = this.#meta.get(key);
    if (!row || row.kind !== 'active') throw new Error(`snapshot ${key} is not an active snapshot`);
    const fs = join(this.#idDir(row.id), 'fs');
    // The row may only say "committed" once every byte of the contents is durable: syncfs, then flip the row.
    await run('sync', ['-f', fs]);
    const size = await diskUsage(fs);
    if (!this.#meta.commit(name, key, size)) throw new Error(`snapshot ${key} could not be committed as ${name}`);
    await rm(join(this.#idDir(row.id), 'work'), { recursive: true, force: true });
  }

  async diff(name: string, options: LayerTarOptions = {}): Promise<Readable> {
    const row = this.#committed(name);
    return layerTar(join(this.#idDir(row.id), 'fs'), options);
  }

  async remove(keyOrName: string): Promise<void> {
    const row = this.#meta.delete(keyOrName);
    if (row) await rm(this.#idDir(row.id), { recursive: true, force: true });
  }

  /** Mounts for any snapshot: writable for an active key, read-only for a view or a committed name. */
  async mounts(keyOrName: string): Promise<Mount[]> {
    const row = this.#meta.get(keyOrName);
    if (!row) throw new Error(`snapshot ${keyOrName} does not exist`);
    if (row.kind !== 'committed') return this.#mounts(row);
    return readOnlyMounts(this.#chain(keyOrName));
  }

  /** The `fs` dirs that make up committed `name`, top first (overlayfs lowerdir order). */
  lowerDirs(name: string): string[] {
    this.#committed(name);
    return this.#chain(name);
  }

  /** The upper and work dirs of active snapshot `key`, for callers that mount it themselves. */
  activeDirs(key: string): { upperDir: string; workDir: string; lowerDirs: string[] } {
    const row = this.#meta.get(key);
    if (!row || row.kind !== 'active') throw new Error(`snapshot ${key} is not an active snapshot`);
    const base = this.#idDir(row.id);
    return { upperDir: join(base, 'fs'), workDir: join(base, 'work'), lowerDirs: row.parent === null ? [] : this.#chain(row.parent) };
  }

  stat(keyOrName: string): SnapshotInfo | undefined {
    const row = this.#meta.get(keyOrName);
    return row && toInfo(row);
  }

  list(): SnapshotInfo[] {
    return this.#meta.all().map(toInfo);
  }

  /** Bytes used by committed snapshots. */
  usage(): { count: number; size: number } {
    const committed = this.#meta.all().filter((r) => r.kind === 'committed');
    return { count: committed.length, size: committed.reduce((n, r) => n + r.size, 0) };
  }

  close(): void {
    this.#meta.close();
  }

  #mounts(row: SnapshotRow): Mount[] {
    const lower = row.parent === null ? [] : this.#chain(row.parent);
    if (row.kind === 'view') return readOnlyMounts(lower);
    const base = this.#idDir(row.id);
    if (lower.length === 0) return [{ type: 'bind', source: join(base, 'fs'), options: ['rbind', 'rw'] }];
    return [{
      type: 'overlay',
      source: 'overlay',
      // redirect_dir/metacopy off: the upper dir must hold whole files and real directories to be diffed on its own.
      options: [`lowerdir=${lower.join(':')}`, `upperdir=${join(base, 'fs')}`, `workdir=${join(base, 'work')}`, ...overlayMountOptions()],
    }];
  }

  #chain(name: string): string[] {
    const dirs: string[] = [];
    for (let cur: string | null = name; cur !== null;) {
      const row = this.#committed(cur);
      dirs.push(join(this.#idDir(row.id), 'fs'));
      cur = row.parent;
    }
    return dirs;
  }

  #committed(name: string): SnapshotRow {
    const row = this.#meta.get(name);
    if (!row || row.kind !== 'committed') throw new Error(`snapshot ${name} is not a committed snapshot`);
    return row;
  }

  #idDir(id: number): string {
    return join(this.#dir, String(id));
  }

  async #recover(): Promise<void> {
    for (const row of this.#meta.all()) {
      if (row.kind !== 'committed' && row.owner !== null && !isProcessAlive(row.owner)) await this.remove(row.name).catch(() => undefined);
    }
    // List the directories before the rows: another live process inserts a row before it creates the row's
    // directory, so every directory seen here already has its row. Read the other way round, a snapshot prepared
    // in between would look unreferenced and lose its directory under the process using it.
    const entries = await readdir(this.#dir);
    const ids = new Set(this.#meta.all().map((r) => String(r.id)));
    for (const entry of entries) {
      if (/^\d+$/.test(entry) && !ids.has(entry)) await rm(join(this.#dir, entry), { recursive: true, force: true });
    }
  }
}

function readOnlyMounts(lower: string[]): Mount[] {
  const [only] = lower;
  if (only === undefined) throw new Error('a read-only view needs at least one committed layer');
  if (lower.length === 1) return [{ type: 'bind', source: only, options: ['rbind', 'ro'] }];
  // Rootless, the lower dirs' opaque markers are user.overlay.* xattrs, which only a `userxattr` mount reads.
  return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lower.join(':')}`, ...overlayMountOptions()] }];
}

function toInfo(row: SnapshotRow): SnapshotInfo {
  return { name: row.name, kind: row.kind, parent: row.parent ?? undefined, created: row.created, size: row.size };
}

async function diskUsage(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sb', dir]);
  return Number(stdout.split('\t')[0]) || 0;
}

