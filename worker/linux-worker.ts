import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { sourceKey } from '../frontend/index.js';
import type { CopyOp, ExecOp, MkdirOp } from '../frontend/index.js';
import { canonicalJson, sha256 } from '../registry/oci/index.js';
import type { Digest } from '../registry/oci/index.js';
import type { ContentDigest, ExecResources, FileChange, FileSource, FsState, LayerRef, ProgressSink, Worker } from '../solver/index.js';
import { FileContentStore } from './content/store.js';
import { LayerError } from './errors.js';
import { BuildCgroups, cacheMountsDir, ChainAccounts, HelperPool, runExec, UserNetworkPool } from './exec/index.js';
import type { CacheSeed, ExecMountSource } from './exec/index.js';
import { CopyError, CopyHistory, Downloads, FileHashCache, GitCommits, contentDigest, withModeChanges, type RemoteAccess, copyInto, copySubtree, statMemoFor } from './fileops/index.js';
import type { CopyOutcome, IncrementalCopy } from './fileops/index.js';
import { isInUserNamespace, snapshotterKind } from './rootless/index.js';
import type { CopySourceDir } from './fileops/index.js';
import { applyLayer } from './layers/apply.js';
import { chainIds } from './layers/chain-id.js';
import { exportLayer } from './layers/diff.js';
import { cleanComponents } from './confined/index.js';
import { ContextMounts } from './context-mount.js';
import { mkdirInRoot } from './mkdir-in-root.js';
import { OverlaySnapshotter } from './snapshots/overlay.js';
import { withMountedSnapshot } from './snapshots/with-mounted-snapshot.js';
import { removeDeadTempDirs } from './remove-dead-temp-dirs.js';
import { makeTempDir, makeTempDirSync, tempDirOf } from './temp-dirs.js';
import { HOST_PATH_MAX } from '../common/index.js';
import type { TestHooks } from '../common/index.js';

/**
 * The mount point of every RUN helper's private tmpfs (worker/exec: ExecEnvironment.scratchDir): empty on the host,
 * shared by the worker's steps, never removed while a worker may run (removing a directory detaches what other mount
 * namespaces mounted on it).
 */
const RUN_SCRATCH = 'run-scratch';

/** Where the worker keeps its state, and how it writes layers. */
export interface LinuxWorkerOptions {
  /** State directory: content store, snapshots, cache mounts, temp dirs. */
  root: string;
  /** SOURCE_DATE_EPOCH (seconds): clamps mtimes in the layers the worker writes. */
  sourceDateEpoch?: number | undefined;
  /** Test hooks (crash points), passed down from the CLI edge. */
  hooks?: TestHooks;
}

/**
 * Runs build steps on this Linux host: overlay snapshots for filesystems, the native helper for RUN, fileops for
 * COPY, and a layer for every step that changed something: measured and recorded on its snapshot, its bytes made
 * only when something needs them (layers/diff.ts).
 */
export class LinuxWorker implements Worker {
  readonly #root: string;
  /** The root's temp dir (temp-dirs.ts): exec state, empty sources, downloads, checkouts, mount points. */
  readonly #tempDir: string;
  readonly #store: FileContentStore;
  readonly #snapshots: OverlaySnapshotter;
  readonly #sourceDateEpoch: number | undefined;
  /** Context file hashes by (dev, inode, size, mtime, ctime): a no-op rebuild re-reads no file contents. */
  readonly #hashes: FileHashCache;
  /** The RUN steps' networks (network=default): started as steps need them, reused, stopped by close(). */
  readonly #networks = new UserNetworkPool();
  /** The RUN steps' cgroups (steps without limits share them): made as steps need them, removed by close(). */
  readonly #cgroups = new BuildCgroups();
  /** The users and groups of the snapshot chains RUN steps ran on, so a chain is read once (for the root: chain-accounts/). */
  readonly #accounts: ChainAccounts;
  /** The last result of each COPY from a context: a COPY that misses links its unchanged files from it. */
  readonly #copies: CopyHistory;
  /** What each ADD <git url>'s ref resolved to when its step was keyed: the ADD fetches exactly that commit. */
  readonly #gitCommits: GitCommits;
  readonly #downloads: Downloads;
  /** RUN helpers started ahead of need (one waits while a step runs): killed by close(). */
  readonly #helpers = new HelperPool(this.#cgroups);
  /** RUN bind mounts of the build's contexts: their whiteout layers, removed by close(). */
  readonly #contextMounts: ContextMounts;

  private constructor(opts: LinuxWorkerOptions, store: FileContentStore, snapshots: OverlaySnapshotter) {
    this.#root = opts.root;
    this.#tempDir = tempDirOf(opts.root);
    this.#gitCommits = new GitCommits(this.#tempDir);
    this.#downloads = new Downloads(opts.root, this.#tempDir);
    this.#store = store;
    this.#snapshots = snapshots;
    this.#sourceDateEpoch = opts.sourceDateEpoch;
    this.#hashes = new FileHashCache(join(opts.root, 'file-hashes.db'));
    this.#copies = new CopyHistory(join(opts.root, 'copy-history'));
    this.#accounts = new ChainAccounts(join(opts.root, 'chain-accounts'));
    this.#contextMounts = new ContextMounts(this.#tempDir);
  }

  /** Opens (creating if needed) the worker state under `opts.root`. */
  static async open(opts: LinuxWorkerOptions): Promise<LinuxWorker> {
    await mkdir(tempDirOf(opts.root), { recursive: true });
    await mkdir(cacheMountsDir(opts.root), { recursive: true });
    await mkdir(join(opts.root, RUN_SCRATCH), { recursive: true });
    // Before the snapshotter opens: a dead build's mount point may still have a snapshot mounted that #recover removes.
    await removeDeadTempDirs(tempDirOf(opts.root));
    return new LinuxWorker(opts, await FileContentStore.open(opts.root, opts.hooks), await OverlaySnapshotter.open(opts.root));
  }

  /** The content store the worker writes layers into (and reads pulled layers from). */
  get store(): FileContentStore { return this.#store; }

  /** The snapshotter, for the builder's garbage collection and exports. */
  get snapshotter(): OverlaySnapshotter { return this.#snapshots; }

  async unpack(layers: LayerRef[], signal: AbortSignal, progress: ProgressSink): Promise<FsState> {
    const chain = chainIds(layers.map((l) => l.diffId));
    let parent: string | undefined;
    for (const [i, layer] of layers.entries()) {
      const name = chain[i] as string;
      signal.throwIfAborted();
      progress.status(`unpacking ${layer.descriptor.digest}`, i + 1, layers.length);
      if (this.#snapshots.stat(name)?.kind !== 'committed') await this.#unpackLayer(name, parent, layer.descriptor.digest, layer.diffId, signal, progress);
      parent = name;
    }
    return { snapshot: parent ?? null, layers: [...layers] };
  }

  async mkdir(op: MkdirOp, parent: FsState, signal: AbortSignal): Promise<FsState> {
    return this.#step(parent, signal, async (key) => {
      await withMountedSnapshot(this.#snapshots, key, async (rootDir) => {
        await mkdirInRoot(rootDir, op.path, op.user);
      });
    });
  }

  /**
   * A COPY from a context directory is incremental (BuildKit's diff-copy): the files the last result of the same COPY
   * (same op, same context directory) wrote from a source that has not changed since are hard-linked from that
   * result's committed upper dir into this snapshot's upper dir instead of copied (fileops/copy-history.ts,
   * native/fsattr/root.c op_inherit). The result is the same tree a full copy makes, mtimes included: a file is linked
   * only when its source's inode, size, mtime and ctime, and the owner and mode written, are the ones recorded.
   * Not with fuse-overlayfs or in a user namespace (rootless), where a full copy is made.
   */
  async copy(op: CopyOp, parent: FsState, source: FileSource, signal: AbortSignal, progress: ProgressSink): Promise<FsState> {
    const contextDir = source.kind === 'context' && op.mode === 'copy' && snapshotterKind() === 'overlayfs' && !isInUserNamespace() ? source.dir : undefined;
    const record = contextDir === undefined ? undefined : await this.#copies.load(op, contextDir);
    const previousDir = record !== undefined && this.#snapshots.stat(record.snapshot)?.kind === 'committed' ? this.#snapshots.lowerDirs(record.snapshot)[0] : undefined;
    let outcome: CopyOutcome | undefined;
    const result = await this.#step(parent, signal, async (key) => {
      const { upperDir, lowerDirs } = this.#snapshots.activeDirs(key);
      const incremental: IncrementalCopy | undefined = contextDir === undefined ? undefined
        : { upperDir, lowerDirs, previous: record === undefined || previousDir === undefined ? undefined : { dir: previousDir, files: record.files } };
      await withMountedSnapshot(this.#snapshots, key, async (rootDir) => {
        outcome = await this.#withCopySource(source, (src) => copyInto(op, src, rootDir, signal, progress, { incremental, remote: this.#remoteAccess(source), tempDir: this.#tempDir }));
      });
    });
    const written = outcome?.written;
    if (contextDir !== undefined && written !== undefined && result.snapshot !== null && result.snapshot !== parent.snapshot) {
      await this.#copies.save(op, contextDir, { snapshot: result.snapshot, files: written });
    }
    return result;
  }

  async exec(op: ExecOp, parent: FsState, resources: ExecResources, signal: AbortSignal, progress: ProgressSink): Promise<FsState> {
    return this.#step(parent, signal, async (key) => { await this.#runIn(key, op, resources, signal, progress); });
  }

  /**
   * `tsbuild debug`: runs `op` on `parent` as a RUN step would (its mounts, secrets, network, sandbox), its stdio the
   * person's at this process's terminal, and throws away what it changed. Returns the process's exit status.
   */
  async interact(op: ExecOp, parent: FsState, resources: ExecResources, terminal: 'stdio' | 'tty', signal: AbortSignal, progress: ProgressSink): Promise<number> {
    const key = `debug-${randomUUID()}`;
    await this.#snapshots.prepare(key, parent.snapshot ?? undefined);
    try {
      return await this.#runIn(key, op, resources, signal, progress, terminal);
    } finally {
      await this.#snapshots.remove(key).catch(() => undefined);
    }
  }

  /** Runs `op` in the active snapshot `key` (its upper dir the step's changes). */
  async #runIn(key: string, op: ExecOp, resources: ExecResources, signal: AbortSignal, progress: ProgressSink, terminal?: 'stdio' | 'tty'): Promise<number> {
    // Synchronous: a directory of a few small files, tens of µs, not worth two trips through the thread pool.
    const stateDir = makeTempDirSync(this.#tempDir, 'exec');
    try {
      const sources: Record<string, ExecMountSource> = {};
      // Only binds mount a source; a cache mount's is read once, by its seed, when its cache is made.
      const bound = new Set(op.mounts.flatMap((m) => (m.type === 'bind' ? [sourceKey(m.from)] : [])));
      for (const [id, src] of Object.entries(resources.sources)) if (bound.has(id)) sources[id] = await this.#execSource(src, stateDir, id, signal, progress);
      const { upperDir, workDir, lowerDirs } = this.#snapshots.activeDirs(key);
      const cacheSeeds = this.#cacheSeeds(op, resources, signal, progress);
      return await runExec(op, {
        rootfs: { lowerDirs, upperDir, workDir, isFresh: true },   // #step prepared it just now
        sources,
        cacheDir: cacheMountsDir(this.#root),
        ...(cacheSeeds === undefined ? {} : { cacheSeeds }),
        secrets: resources.secrets,
        ...(resources.ssh ? { ssh: resources.ssh } : {}),
        ...(resources.limits ? { limits: resources.limits } : {}),
        stateDir,
        tempDir: this.#tempDir,
        scratchDir: join(this.#root, RUN_SCRATCH),
        networks: this.#networks,
        cgroups: this.#cgroups,
        accounts: this.#accounts,
        helpers: this.#helpers,
        ...(terminal !== undefined ? { terminal } : {}),
      }, signal, progress);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }

  async contentDigest(source: FileSource, op: CopyOp, signal: AbortSignal): Promise<ContentDigest> {
    // Only the context is hashed through the cache: a mounted snapshot view gets a fresh anonymous device each time,
    // so its (dev, inode) pairs say nothing about the next mount.
    const cache = source.kind === 'context' ? this.#hashes : undefined;
    // A committed snapshot never changes (names are random or chain ids), so its digest for a selection is kept by
    // (snapshot name, op): a cached COPY --from neither mounts nor walks the stage again.
    const snapshot = source.kind === 'fs' ? source.fs.snapshot : null;
    const key = snapshot === null ? undefined : sha256(canonicalJson({ v: 1, kind: 'snapshot-selection', snapshot, op }));
    const known = key === undefined ? undefined : this.#hashes.getTree(key);
    if (known !== undefined) return known;
    const result = await this.#withCopySource(source, (src) => contentDigest(op, src, signal, cache, this.#remoteAccess(source)));
    if (key !== undefined) this.#hashes.setTree(key, result);
    return result;
  }

  /**
   * Only a context's files are looked at again: they are the ones a checkout under another umask gives other modes,
   * and the hash cache knows their content. A stage's snapshot would have to be mounted for it.
   */
  async withModeChanges(source: FileSource, op: CopyOp, changes: FileChange[], signal: AbortSignal): Promise<FileChange[]> {
    if (source.kind !== 'context') return changes;
    return this.#withCopySource(source, (src) => withModeChanges(op, src, changes, signal, this.#hashes));
  }

  /**
   * The solver checks a cache hit's snapshot with this, so a record whose snapshot is gone (pruned, or lost to a
   * crash between a prune's record delete and its snapshot removal, or its directory removed by hand) is rebuilt as
   * `evicted` instead of failing later.
   */
  async hasSnapshot(name: string): Promise<boolean> {
    return this.#snapshots.hasCommitted(name);
  }

  /**
   * Drops a committed snapshot the builder no longer needs. Its own layer, when lazy (never written: layers/diff.ts),
   * goes with it, as BuildKit's does with its snapshot: a pruned step is build cache, and an image that was never
   * exported (no output) and is pushed later must be built again (the content store says so: MissingBlobError).
   * Blobs that left the build (gzip layers of outputs, pushes, cache exports) stay in the content store.
   */
  async removeSnapshot(name: string): Promise<void> {
    await this.#snapshots.remove(name);
  }

  /**
   * Runs `fn` on filesystem `fs` mounted read-only, or on an empty directory for an empty one (scratch): what COPY
   * --from and the filesystem outputs (-o type=local, type=tar) read. Both are in the root's temp dir, never the host's.
   */
  async withFs<T>(fs: FsState, fn: (dir: string) => Promise<T>): Promise<T> {
    if (fs.snapshot !== null) return withMountedSnapshot(this.#snapshots, fs.snapshot, fn);
    return this.withTempDir('empty', fn);
  }

  /** Runs `fn` on a new empty directory in the root's temp dir, removed after it: files tsbuild makes to write out. */
  async withTempDir<T>(purpose: string, fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await makeTempDir(this.#tempDir, purpose);
    try {
      return await fn(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Releases the metadata database, kills the waiting RUN helper, stops the RUN networks (slirp4netns and their namespaces), removes the RUN cgroups and context layers. */
  close(): void {
    this.#helpers.close();
    this.#contextMounts.close();
    this.#networks.close();
    this.#cgroups.close();
    this.#hashes.close();
    this.#store.close();
    // The build's snapshots are flushed by a detached syncfs after it exits (overlay.ts close): not on its clock.
    this.#snapshots.close('background');
  }

  async #unpackLayer(name: string, parent: string | undefined, blob: Digest, diffId: Digest, signal: AbortSignal, progress: ProgressSink): Promise<void> {
    const key = `unpack-${randomUUID()}`;
    await this.#snapshots.prepare(key, parent);
    try {
      const { upperDir, lowerDirs } = this.#snapshots.activeDirs(key);
      // Base images may ship device nodes (docker and BuildKit create them as root); every other refusal stays.
      const applied = await applyLayer(await this.#store.read(blob), upperDir, { signal, layer: blob, allowDevices: true, lowerDirs });
      if (applied.diffId !== diffId) throw new LayerError(`unpacked to diffId ${applied.diffId}, but the layer's diffId is ${diffId}`, { layer: blob });
      // Rootless only: what the kernel refused (device nodes, trusted.* xattrs). The image keeps the original layer;
      // only later steps of this build do not see these entries.
      for (const d of applied.dropped) progress.log('stderr', Buffer.from(`rootless: layer ${blob}: ${d.entry}: ${d.what} not kept (refused in a user namespace)\n`));
      try {
        await this.#snapshots.commit(name, key);
      } catch (err) {
        // Another unpack of the same chain committed first: its snapshot is just as good as ours.
        if (this.#snapshots.stat(name)?.kind !== 'committed') throw err;
        await this.#snapshots.remove(key);
      }
    } catch (err) {
      await this.#snapshots.remove(key).catch(() => undefined);
      throw err;
    }
  }

  /** Prepares a snapshot on `parent`, lets `change` fill it, commits it and writes its layer; removes it on failure. */
  async #step(parent: FsState, signal: AbortSignal, change: (key: string) => Promise<void>): Promise<FsState> {
    signal.throwIfAborted();
    const key = `step-${randomUUID()}`;
    const name = `layer-${randomUUID()}`;
    await this.#snapshots.prepare(key, parent.snapshot ?? undefined);
    let committed = false;
    try {
      await change(key);
      signal.throwIfAborted();
      await this.#snapshots.commit(name, key);
      committed = true;
      // The layer is measured and recorded on the snapshot, not written (a lazy layer, layers/diff.ts): the content
      // store makes its bytes from the snapshot when an output, a push or a cache export asks for them.
      // A step that changed nothing still adds its layer, an empty tar (diffId sha256:5f70bf18…): BuildKit's exporter
      // takes every snapshot of the ref's layer chain (cache/remote.go getRemote), and dockerfile2llb marks every RUN,
      // COPY, ADD and WORKDIR history entry as having one (commitToHistory withLayer). Its testExportedHistory
      // (frontend/dockerfile/dockerfile_history_test.go) counts `RUN ["ls"]` as a layer, empty_layer false.
      const layer = await exportLayer(this.#snapshots, name, { sourceDateEpoch: this.#sourceDateEpoch, signal });
      return { snapshot: name, layers: [...parent.layers, { descriptor: layer.descriptor, diffId: layer.diffId }] };
    } catch (err) {
      await this.#snapshots.remove(committed ? name : key).catch(() => undefined);
      throw err;
    }
  }

  /** What a remote ADD source fetches with: the build's commits and downloads, the `--ssh default` agent and GIT_AUTH_* secrets. */
  #remoteAccess(source: FileSource): RemoteAccess {
    if (source.kind !== 'context') return { commits: this.#gitCommits, downloads: this.#downloads };
    return { commits: this.#gitCommits, downloads: this.#downloads, sshAgent: source.sshAgent, gitSecrets: source.gitSecrets };
  }

  async #withCopySource<T>(source: FileSource, fn: (src: CopySourceDir) => Promise<T>): Promise<T> {
    switch (source.kind) {
      case 'context':
        // One build's context is listed and stat'ed once, whoever walks it (COPY keys, context report, provenance).
        return fn({ kind: 'dir', path: source.dir, excludes: source.excludes, memo: statMemoFor(source) }).catch((err: unknown) => {
          throw contextChanged(err, source.dir) ?? err;
        });
      case 'inline':
        return fn({ kind: 'inline', files: source.files });
      case 'fs':
        return this.withFs(source.fs, (dir) => fn({ kind: 'dir', path: dir, excludes: [] }).catch((err: unknown) => {
          throw notUtf8Name(err, dir, 'the image or stage COPY --from reads', 'rename the file to UTF-8 in the stage that makes it, or leave its directory out of the COPY') ?? err;
        }));
    }
  }

  // What each `type=cache,from=` mount starts from: the digest the solver keyed its source by, and a copy of the subtree
  // it mounts, read from the source as COPY --from reads it (a stage mounted read-only, or the context) and written
  // into the new cache directory through the confined writer (copySubtree). `fill` runs only for a cache not made yet.
  #cacheSeeds(op: ExecOp, resources: ExecResources, signal: AbortSignal, progress: ProgressSink): Record<string, CacheSeed> | undefined {
    const seeds: Record<string, CacheSeed> = {};
    for (const m of op.mounts) {
      if (m.type !== 'cache' || m.from === undefined) continue;
      const from = m.from;
      const source = resources.sources[sourceKey(from)];
      const digest = resources.cacheSources?.[m.target];
      if (source === undefined || digest === undefined) throw new Error(`exec: the cache mount at ${m.target} has from= but no source or source digest`);
      // An empty filesystem (FROM scratch) has nothing to copy, and its stand-in directory's 0700 is not its root's mode.
      const isEmpty = source.kind === 'fs' && source.fs.snapshot === null && source.fs.lazy === undefined;
      seeds[m.target] = { digest, fill: async (dir, path, isOptional) => isEmpty ? undefined : this.#withCopySource(source, (src) => copySubtree(from, path, isOptional, src, dir, signal, progress)) };
    }
    return Object.keys(seeds).length > 0 ? seeds : undefined;
  }

  async #execSource(source: FileSource, stateDir: string, id: string, signal: AbortSignal, progress: ProgressSink): Promise<ExecMountSource> {
    switch (source.kind) {
      case 'context':
        return this.#contextMounts.source(source, stateDir, id, signal, progress);
      case 'fs': {
        if (source.fs.snapshot === null) {
          const empty = join(stateDir, 'empty', encodeURIComponent(id));
          await mkdir(empty, { recursive: true });
          return { kind: 'dir', path: empty };
        }
        return { kind: 'overlay', lowerDirs: this.#snapshots.lowerDirs(source.fs.snapshot) };
      }
      case 'inline': {
        const dir = join(stateDir, 'inline', encodeURIComponent(id));
        for (const file of source.files) {
          const path = join(dir, ...cleanComponents(file.name));
          await mkdir(dirname(path), { recursive: true });
          await writeFile(path, file.content);
        }
        await mkdir(dir, { recursive: true });
        return { kind: 'dir', path: dir };
      }
    }
  }
}

/** The errors a file that vanished, or became a link or another kind of file, between listing and reading gives (and a path past PATH_MAX). */
const RACE_CODES = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EINVAL', 'ESTALE', 'ENAMETOOLONG']);

/**
 * A COPY source holding a name that is not UTF-8, refused by name: Node lists names as UTF-8, so such a name (Latin-1
 * bytes, say) comes back with U+FFFD in it and that name does not exist. BuildKit copies such names byte for byte;
 * tsbuild's copy keeps names as text (a layer a RUN step writes carries them byte for byte: layers/byte-names.ts).
 */
function notUtf8Name(err: unknown, dir: string, where: string, hint: string): CopyError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || e.code !== 'ENOENT' || typeof e.path !== 'string' || !e.path.includes('\uFFFD')) return undefined;
  const rel = relative(dir, e.path);
  if (rel.startsWith('..')) return undefined;
  return new CopyError('INVALID_ARGUMENT', `a file name in ${where} is not valid UTF-8: ${rel} (each \uFFFD stands for bytes that are not)`, hint, { cause: err });
}

/**
 * A context that changed while a COPY listed and read it (a file removed, replaced by a link or a directory) as a
 * COPY_SOURCE_NOT_FOUND naming the file, instead of the raw ENOENT/ELOOP/EINVAL of the read, an internal error.
 */
function contextChanged(err: unknown, dir: string): CopyError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || e.code === undefined || !RACE_CODES.has(e.code) || typeof e.path !== 'string') return undefined;
  const rel = relative(dir, e.path);
  if (rel.startsWith('..')) return undefined;
  if (e.code === 'ENAMETOOLONG') {
    return new CopyError('INVALID_ARGUMENT', `a path in the build context is longer than this host allows (${HOST_PATH_MAX} bytes): ${rel.slice(0, 120)}…`,
      'shorten the directory names in the context, or leave that directory out with .dockerignore', { cause: err });
  }
  const notUtf8 = notUtf8Name(err, dir, 'the build context', 'rename the file to UTF-8 (e.g. convmv -f latin1 -t utf-8), or leave its directory out with .dockerignore');
  if (notUtf8 !== undefined) return notUtf8;
  return new CopyError('COPY_SOURCE_NOT_FOUND', `the build context changed while it was read: ${rel || '.'} (${e.code} on ${e.syscall ?? 'read'})`,
    'keep the context still during the build: a file was removed, replaced or turned into a link while tsbuild read it', { cause: err });
}

