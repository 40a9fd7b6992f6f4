import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { layerTar } from '../layers/layer-tar.js';
import type { LayerTarOptions } from '../layers/layer-tar.js';
import { SnapshotMetadata } from './metadata.js';
import { run } from './mount.js';
import { tempDirOf } from '../temp-dirs.js';
import type { LayerRecord, SnapshotRow } from './metadata.js';
import type { Mount, SnapshotInfo } from './snapshotter.js';
import { isProcessAlive, removeTree, UserError } from '../../common/index.js';
import { overlayMountOptions, snapshotterKind } from '../rootless/index.js';

/** `<root>/snapshots/sync/`: the files of background syncs (close('background')). */
const SYNC_DIR = 'sync';

/** `<root>/snapshots/spare.<pid>.<n>/`: a snapshot directory made ahead of the step that takes it (#nextSpare). */
const SPARE = /^spare\.(\d+)\.\d+$/;
/**
 * The spares this process has named, over all its snapshotters: a bake builds its targets at once, each on a
 * snapshotter of its own over one root, and a count per snapshotter gave two of them `spare.<pid>.1`, which the first
 * to prepare renamed away under the other (ENOENT, an internal error, in the first bake of three RUN targets).
 */
let sparesNamed = 0;

/** Chains of lower dirs kept by the snapshotter (each at most as long as the build is deep). */
const MAX_CHAINS = 256;

/**
 * Snapshots as overlayfs layers, containerd's model: an *active* snapshot (its `key`) is writable and can never be a
 * parent; `commit` turns it into a *committed* one (its `name`), read-only, usable as a parent; a *view* is a
 * read-only active snapshot of a committed parent. Methods return mount descriptions; callers mount them. After a
 * crash a snapshot is either absent or whole (a committed snapshot not yet synced when the machine itself went down is
 * dropped when the snapshotter is next opened). There is one implementation, so no interface: the worker uses this
 * class directly.
 *
 * Layout: `<root>/snapshots/<id>/{fs,work}`, metadata in `<root>/snapshots/metadata.db`; `spare.<pid>.<n>/{fs,work}`
 * is the next snapshot's directory, made ahead of it (#nextSpare).
 * A snapshot's `fs` directory is its overlay upper dir, so it holds exactly its changes against the parent
 * (whiteouts as 0/0 character devices, opaque directories as `trusted.overlay.opaque=y`, or `user.overlay.opaque=y`
 * rootless: see worker/rootless/overlay-flavour.ts).
 */
export class OverlaySnapshotter {
  /**
   * The state root's temp dir (worker/temp-dirs.ts), where snapshots are mounted to be read or written
   * (withMountedSnapshot). LinuxWorker.open sweeps it before the snapshotter opens, so no mount a dead process left
   * there still stands on a directory #recover removes.
   */
  readonly tempDir: string;
  readonly #dir: string;
  readonly #meta: SnapshotMetadata;
  readonly #boot = bootId();
  #committedHere = false;
  #closed = false;
  readonly #chains = new Map<string, { id: number; dirs: string[] }>();
  /**
   * The next snapshot's directory (#nextSpare): where it is, and `made`, which resolves to it once made (undefined
   * when that failed). Undefined once taken, until the next is started.
   */
  #spare: { dir: string; made: Promise<string | undefined> } | undefined;

  private constructor(dir: string, tempDir: string, meta: SnapshotMetadata) {
    this.#dir = dir;
    this.tempDir = tempDir;
    this.#meta = meta;
  }

  /** Opens the snapshotter under `root`, dropping snapshots a dead process left active and unreferenced dirs. */
  static async open(root: string): Promise<OverlaySnapshotter> {
    const dir = join(root, 'snapshots');
    await mkdir(dir, { recursive: true });
    await mkdir(tempDirOf(root), { recursive: true });
    await spreadSnapshotDirs(dir);
    const snap = new OverlaySnapshotter(dir, tempDirOf(root), new SnapshotMetadata(join(dir, 'metadata.db')));
    await snap.#recover();
    return snap;
  }

  async prepare(key: string, parent?: string): Promise<Mount[]> {
    if (parent !== undefined) {
      this.#committed(parent);
      // overlayfs stacks at most 500 lower dirs (OVL_MAX_STACK), and a step's own mount of its image reads the upper
      // dir as one more: refused here, by count, rather than as a mount's EINVAL (or an internal error) later.
      const depth = this.#chain(parent).length;
      if (depth >= MAX_STACK) {
        throw new UserError('INVALID_LAYER', `the filesystem would stack ${depth + 1} layers, more than overlayfs can mount (500 lower dirs, a step's own view of its image included)`,
          'the base image and the steps before this one have too many layers: squash the base image, or merge RUN steps');
      }
    }
    const taken = this.#spare;
    this.#spare = undefined;
    const spare = taken === undefined ? undefined : await taken.made;
    // The row first, then its directory: #recover (of any process) lists directories before rows for that order.
    const row = this.#meta.insert(key, 'active', parent);
    try {
      if (spare !== undefined) {
        renameSync(spare, this.#idDir(row.id));
      } else {
        // Synchronous: three mkdirs rather than three trips through the thread pool.
        mkdirSync(join(this.#idDir(row.id), 'fs'), { recursive: true, mode: 0o755 });
        mkdirSync(join(this.#idDir(row.id), 'work'), { mode: 0o700 });
      }
    } catch (err) {
      this.#meta.delete(key);
      if (spare !== undefined) rmSync(spare, { recursive: true, force: true });
      throw err;
    }
    this.#spare ??= this.#nextSpare();
    return this.#mounts(row);
  }

  /**
   * Makes the next snapshot's directory (`fs` and `work` in a `spare.<pid>.<n>` directory) in the thread pool, while
   * the step that asked for this one runs; the next prepare() renames it to its id. A directory made in snapshots/
   * costs ~3 ms on this VM's ext4 (against 0.1 ms elsewhere): FS_TOPDIR_FL (spreadSnapshotDirs) has the Orlov
   * allocator search the block groups for each one, which is the point of the flag, and a RUN step paid that on the
   * main thread before its mount (~90 ms of a 30-step build; bench/RESULTS.md, fourteenth round). The rename keeps the
   * inode, so the snapshot stays in the group the search chose. A spare nobody takes is removed at close(), or by the
   * next open once its process is gone (#recover).
   */
  #nextSpare(): { dir: string; made: Promise<string | undefined> } {
    const dir = join(this.#dir, `spare.${process.pid}.${++sparesNamed}`);
    const make = async (): Promise<string | undefined> => {
      try {
        await mkdir(join(dir, 'fs'), { recursive: true, mode: 0o755 });
        await mkdir(join(dir, 'work'), { mode: 0o700 });
        return dir;
      } catch {
        await rm(dir, { recursive: true, force: true }).catch(() => undefined);
        return undefined;   // the next prepare() makes its directory itself, as without a spare
      }
    };
    return { dir, made: make() };
  }

  async view(key: string, parent: string): Promise<Mount[]> {
    this.#committed(parent);
    return this.#mounts(this.#meta.insert(key, 'view', parent));
  }

  async commit(name: string, key: string): Promise<void> {
    const row = this.#meta.get(key);
    if (!row || row.kind !== 'active') throw new Error(`snapshot ${key} is not an active snapshot`);
    // No syncfs here (it was a `sync -f` process per step): only a kernel crash or power loss loses page-cache data,
    // and the row records the boot it was written under. close() syncs once and marks the rows synced; a later boot
    // drops committed rows that never were (#recover), with the lazy layer records on them, and the cache rebuilds
    // them (its records of those steps name snapshots that are gone: `evicted`). Layers that left the build (gzip
    // blobs of an output, a push, a cache export) are content store blobs, fsynced there. The size is measured when a
    // report asks for it.
    if (!this.#meta.commit(name, key, this.#boot)) throw new Error(`snapshot ${key} could not be committed as ${name}`);
    this.#committedHere = true;
    // The work dir (overlayfs's empty work/ at most) is no use to a committed snapshot, but removing it costs a few
    // ms of a busy disk: it goes in the background, off the step's critical path. One still there (this process
    // ended first) is removed with its snapshot.
    void rm(join(this.#idDir(row.id), 'work'), { recursive: true, force: true }).catch(() => undefined);
  }

  async diff(name: string, options: LayerTarOptions = {}): Promise<Readable> {
    const row = this.#committed(name);
    // The parent's dirs tell a directory fuse-overlayfs marked opaque because it replaced something from one it
    // merely created (worker/layers/layer-tar.ts).
    const lowerDirs = row.parent === null ? [] : this.#chain(row.parent);
    return layerTar(join(this.#idDir(row.id), 'fs'), { ...options, lowerDirs });
  }

  /**
   * Records that committed `name` holds the bytes of a layer (a lazy layer: worker/layers/diff.ts). The record is a
   * part of the snapshot's row: removing the snapshot removes it, and it cannot outlive the snapshot.
   */
  recordLayer(name: string, layer: LayerRecord): void {
    if (!this.#meta.setLayer(name, layer)) throw new Error(`snapshot ${name} is not a committed snapshot`);
  }

  async remove(keyOrName: string): Promise<void> {
    const row = this.#meta.delete(keyOrName);
    if (row) await removeTree(this.#idDir(row.id));
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

  /**
   * A committed snapshot whose directory is there: one removed by hand from the state root (its row left behind)
   * is not, and a cache hit on it is rebuilt instead of failing at its mount.
   */
  hasCommitted(name: string): boolean {
    const row = this.#meta.get(name);
    return row !== undefined && row.kind === 'committed' && existsSync(join(this.#idDir(row.id), 'fs'));
  }

  stat(keyOrName: string): SnapshotInfo | undefined {
    const row = this.#meta.get(keyOrName);
    return row && toInfo(row);
  }

  /** Every snapshot, committed ones with their sizes (measured now when not yet known). */
  list(): SnapshotInfo[] {
    return this.#meta.all().map((r) => toInfo(this.#measured(r)));
  }

  /** Bytes used by committed snapshots. */
  usage(): { count: number; size: number } {
    const committed = this.#meta.all().filter((r) => r.kind === 'committed').map((r) => this.#measured(r));
    return { count: committed.length, size: committed.reduce((n, r) => n + r.size, 0) };
  }

  /**
   * Makes this process's committed snapshots durable with one syncfs for the whole build (not one per step) and
   * releases the database. `wait`: syncs, then marks every row committed before the sync as synced. `background`
   * (what a build does): the sync runs in a detached process after tsbuild has exited, and the rows are marked when
   * the snapshotter is next opened, once that process says it finished (#adoptSyncs). Nothing needs the flush before
   * then: the page cache serves every later build of this boot, and a crash first is what the boot check in #recover
   * is for. A build does not wait for the whole host filesystem's writeback (syncfs flushes everything dirty on it,
   * other programs' writes too: 0.1 to 10 s in the bench); buildah does not sync its layers at all.
   */
  close(durability: 'wait' | 'background' = 'wait'): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#committedHere) {
        const names = this.#meta.unsynced(this.#boot);
        if (names.length > 0) {
          if (durability === 'wait') {
            // Node has no syncfs(2); sync(1) -f is that call on the filesystem of the given path.
            execFileSync('sync', ['-f', this.#dir], { stdio: 'ignore' });
            this.#meta.markSynced(names);
          } else {
            this.#syncInBackground(names);
          }
        }
      }
    } finally {
      this.#meta.close();
      this.#dropSpare();
    }
  }

  /** Removes the spare directory (when made; one still being made is left to a later open's #recover). */
  #dropSpare(): void {
    const spare = this.#spare;
    this.#spare = undefined;
    if (spare === undefined) return;
    // Synchronously: a CLI process exits right after close(), before a promise's callback would run.
    if (existsSync(join(spare.dir, 'work'))) rmSync(spare.dir, { recursive: true, force: true });
  }

  /**
   * Ties the rows to a token, creates the file `sync/<token>` and starts a detached `sync -f` that removes that file
   * once the sync has finished: a missing file says it finished (#adoptSyncs). Finishing only ever removes a file,
   * never adds one, so removing a root while the sync runs (`rm -rf`) cannot fail on a name that appeared under it.
   * The file and dir are tsbuild's own (nothing from a build names them); the paths go to the shell as arguments,
   * never into its script.
   */
  #syncInBackground(names: string[]): void {
    const dir = join(this.#dir, SYNC_DIR);
    mkdirSync(dir, { recursive: true });
    const token = `${this.#boot}.${process.pid}.${Date.now()}`;
    const file = join(dir, token);
    writeFileSync(file, '');
    this.#meta.setSyncToken(names, token);
    const child = spawn('/bin/sh', ['-c', 'sync -f "$1" && rm -f "$2"', 'tsbuild-sync', this.#dir, file],
      { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);   // no sh: the rows stay unsynced and the next build's close tries again
    child.unref();
  }

  /**
   * Marks synced the rows of background syncs that finished: of this boot (an earlier boot's token proves nothing,
   * as the file's creation may itself have been lost with the page cache), with the sync dir there and the token's
   * file gone. A sync still running, or killed, keeps its file: its rows are named again by the next build's close.
   * Files of earlier boots are removed; #recover drops those boots' unsynced rows.
   */
  #adoptSyncs(): void {
    const dir = join(this.#dir, SYNC_DIR);
    let entries: Set<string>;
    try {
      entries = new Set(readdirSync(dir));
    } catch {
      return;   // no sync dir: no background sync ever started here (or it was removed: then nothing is proven)
    }
    for (const token of this.#meta.pendingSyncTokens()) {
      if (token.startsWith(`${this.#boot}.`) && !entries.has(token)) this.#meta.markTokenSynced(token);
    }
    for (const entry of entries) if (!entry.startsWith(`${this.#boot}.`)) rmSync(join(dir, entry), { force: true });
  }

  #measured(row: SnapshotRow): SnapshotRow {
    if (row.kind !== 'committed' || row.size >= 0) return row;
    const size = apparentSize(join(this.#idDir(row.id), 'fs'));
    this.#meta.setSize(row.id, size);
    return { ...row, size };
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
      // volatile (kernel overlayfs, Linux >= 5.10): no syncfs of the whole host filesystem at every umount (a COPY's
      // umount took 80 ms to 1.1 s on a busy disk), and fsync inside a RUN (dpkg: one per file) returns at once;
      // close() syncs once per build (see commit()). The guarantee stays: a row is committed unsynced under this boot,
      // and #recover drops unsynced rows of an earlier boot with their children. An upper dir is mounted writable
      // once: after a crash overlayfs refuses to remount a volatile upper/work pair (work/incompat/volatile), but an
      // active snapshot whose owner died is removed by #recover, and a committed one is only ever a lower dir.
      options: [`lowerdir=${lower.join(':')}`, `upperdir=${join(base, 'fs')}`, `workdir=${join(base, 'work')}`,
        ...(snapshotterKind() === 'overlayfs' ? ['volatile'] : []), ...overlayMountOptions()],
    }];
  }

  /**
   * The `fs` dirs of committed `name` and its ancestors. A committed row never changes its id or parent, and a row
   * with children cannot be removed, so once `name` itself is found (one query) the chain below it is what it was:
   * chains are kept by name and id, and a 30-step build asks one row per call instead of 30.
   */
  #chain(name: string): string[] {
    const row = this.#committed(name);
    const known = this.#chains.get(name);
    if (known !== undefined && known.id === row.id) return [...known.dirs];
    const dirs = [join(this.#idDir(row.id), 'fs'), ...(row.parent === null ? [] : this.#chain(row.parent))];
    this.#chains.set(name, { id: row.id, dirs });
    if (this.#chains.size > MAX_CHAINS) this.#chains.delete(this.#chains.keys().next().value as string);
    return [...dirs];
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
    this.#adoptSyncs();
    const { owned, torn } = this.#meta.recoveryCandidates(this.#boot);
    for (const row of owned) {
      if (row.owner !== null && !isProcessAlive(row.owner)) await this.remove(row.name).catch(() => undefined);
    }
    // Committed under an earlier boot and never synced: the machine went down before close() ran, so the contents
    // may be torn. Drop them and everything built on them, children first (a child's id is larger than its parent's).
    if (torn.length > 0) {
      const rows = this.#meta.all();
      const doomed = new Set(torn.map((r) => r.name));
      for (const row of rows) if (row.parent !== null && doomed.has(row.parent)) doomed.add(row.name);
      for (const row of rows.filter((r) => doomed.has(r.name)).reverse()) await this.remove(row.name).catch(() => undefined);
    }
    // List the directories before the rows: another live process inserts a row before it creates the row's
    // directory, so every directory seen here already has its row. Read the other way round, a snapshot prepared
    // in between would look unreferenced and lose its directory under the process using it.
    const entries = await readdir(this.#dir);
    const ids = this.#meta.ids();
    for (const entry of entries) {
      const spareOf = SPARE.exec(entry)?.[1];
      const unused = spareOf !== undefined ? !isProcessAlive(Number(spareOf)) : /^\d+$/.test(entry) && !ids.has(entry);
      if (unused) await removeTree(join(this.#dir, entry));
    }
  }
}

/**
 * Marks `<root>/snapshots` FS_TOPDIR_FL (`chattr +T`), once per root, so that ext2/3/4's Orlov allocator spreads the
 * snapshot directories made in it over the block groups, as it does for the directories right under a filesystem's
 * root. Without it every snapshot lands in the group of `snapshots/` itself, and a RUN's new files are allocated
 * there. On ext4 without a journal (this machine's), allocation skips each inode freed in the last minute by a scan
 * that grows with them: after a day of builds that group is full of such inodes (dpkg's own temporary files among
 * them), and a cold `apt-get install nodejs npm` (387 packages, 20,000 files) took 20.0-24.8 s against buildah's
 * 14.9-16.1 s, 10 % of its CPU samples in find_inode_bit/recently_deleted; with the flag 13.4-16.2 s (bench/RESULTS.md,
 * "Real-world cold: the network and the disk"). Other filesystems ignore or refuse the flag: either way the marker
 * file says it was tried, so the open path does not ask again.
 */
async function spreadSnapshotDirs(dir: string): Promise<void> {
  const marker = join(dir, 'spread');
  if (existsSync(marker)) return;
  await run('chattr', ['+T', dir]).catch(() => undefined);
  // A root this process may read but not write (`tsbuild du` of another user's root) is opened all the same.
  try { writeFileSync(marker, ''); } catch { /* asked again at the next open */ }
}

/**
 * The most committed layers a snapshot may stand on: overlayfs's OVL_MAX_STACK is 500 lower dirs, and a step's
 * read-only view of its image (rootfs-file.ts) stacks its own upper dir on them as one more.
 */
const MAX_STACK = 500;

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

/** The kernel's id of this boot: page-cache data written under it is still there while it is the same. */
function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** Apparent bytes of a tree (what `du -sb` prints), by one walk. */
function apparentSize(dir: string): number {
  let total = 0;
  const stack = [dir];
  for (let d = stack.pop(); d !== undefined; d = stack.pop()) {
    try {
      total += lstatSync(d).size;
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) stack.push(p);
        else total += lstatSync(p).size;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;   // removed by a concurrent prune
    }
  }
  return total;
}

