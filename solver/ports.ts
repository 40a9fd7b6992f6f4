import type { CopyOp, ExecOp, MkdirOp, Vertex } from '../frontend/index.js';
import type { Descriptor, Digest, ImageConfig, ImageManifest } from '../registry/oci/index.js';
import type { CacheKey, CacheKeyParts } from './cache-key.js';
import type { FileChange } from './explain-miss.js';

// What the solver needs from the parts that execute and store. Implemented in worker/ (and builder/ for images),
// wired in builder/.

/** One layer of an image: the compressed blob's descriptor and the uncompressed tar's digest (diffId). */
export interface LayerRef { descriptor: Descriptor; diffId: Digest }

/**
 * The filesystem a vertex produced: a committed snapshot (null for an empty scratch filesystem) and the image layers
 * that rebuild it from nothing, bottom first.
 *
 * `lazy` marks a hit from a remote cache (`--cache-from`) that is not unpacked here: only its layers are known, and
 * `snapshot` is null without meaning "empty". The solver opens a lazy state (materialize()) before any Worker method
 * sees it; a caller that needs the files of a solve result (local/tar outputs) calls materialize() too.
 */
export interface FsState { snapshot: string | null; layers: LayerRef[]; lazy?: { ref: string } }

/** The build context as the worker reads it: a directory and the .dockerignore patterns to apply. */
export interface ContextSource {
  kind: 'context';
  dir: string;
  excludes: string[];
  /** `--build-context NAME=DIR`: the named local contexts, each read like the main one (its own .dockerignore). */
  named?: Record<string, ContextSource>;
  /** The `--ssh default` agent socket, for an ADD of an ssh git URL (never keyed or recorded). */
  sshAgent?: string | undefined;
  /**
   * The build's GIT_AUTH_TOKEN / GIT_AUTH_HEADER secrets (optionally `.HOST`), for an ADD of an http(s) git URL, as
   * BuildKit's git source looks them up in the session (never keyed or recorded).
   */
  gitSecrets?: Record<string, SecretSource>;
}

/** Where a file operation reads from: the context, another vertex's filesystem or heredoc files. */
export type FileSource = ContextSource | { kind: 'fs'; fs: FsState; key?: Digest } | { kind: 'inline'; files: { name: string; content: string }[] };

/** Where a step's output and status go; the solver turns these into progress events. */
export interface ProgressSink {
  log(stream: 'stdout' | 'stderr', chunk: Uint8Array): void;
  status(text: string, current?: number, total?: number): void;
}

/**
 * A `--secret`: the path of a host file (src=), or the value itself (env=: a variable's value is kept in memory
 * and never written to a file). Never enters a layer, a key or a record.
 */
export type SecretSource = string | Uint8Array;

/** What a RUN step's mounts resolve to at run time. */
export interface ExecResources {
  /** Filesystems of mount sources (`from=` a stage or image), by vertex id; the context when `from` is the context. */
  sources: Record<string, FileSource>;
  /** `--secret` sources by id. */
  secrets: Record<string, SecretSource>;
  /** `--ssh ID=SOCKET`: host agent sockets by id, for RUN --mount=type=ssh. Never keyed or recorded. */
  ssh?: Record<string, string>;
  /**
   * Each `--mount=type=cache,from=…` by target: the content digest of what it mounts from its source, as the step's key
   * has it (`content['mount:TARGET']`). The worker names the cache directory by it, so another source content is
   * another cache, seeded with that content, and the same content finds what the last run left (BuildKit keys it by
   * id and the source's ref: solver/llbsolver/mounts/mount.go getRefCacheDir).
   */
  cacheSources?: Record<string, Digest>;
  /** The build's cgroup limits for every RUN (`--resource`); never keyed or recorded. */
  limits?: RunLimits;
}

/**
 * buildx's `--resource` (and docker build's `-m`, `--cpu-*`): cgroup limits of every RUN step, as BuildKit applies
 * its OpMetadata.linux_resources, which are metadata, not part of a step's key: a step cached under other limits is a
 * hit. Absent fields are unlimited. `memorySwapBytes` is memory plus swap, -1 unlimited, as docker's --memory-swap.
 */
export interface RunLimits {
  memoryBytes?: number;
  memorySwapBytes?: number;
  cpuShares?: number;
  cpuPeriodUs?: number;
  cpuQuotaUs?: number;
  /** CPUs the step may run on (`0-3,5`). */
  cpusetCpus?: string;
  /** Memory nodes the step may use (`0,1`). */
  cpusetMems?: string;
}

/** A file-content digest with the per-path digests that made it, so a miss can say which file changed. */
export interface ContentDigest { digest: Digest; files: Record<string, Digest> }

/** Executes vertices. Every method must leave no mount, process or temp file behind on any exit path. */
export interface Worker {
  /**
   * FROM an image, or a remote cache hit: unpacks `layers` (bottom first, their blobs already in the content store)
   * into a snapshot chain named by chainId, reusing every layer already unpacked. Each layer's uncompressed tar must
   * hash to its diffId.
   */
  unpack(layers: LayerRef[], signal: AbortSignal, progress: ProgressSink): Promise<FsState>;
  exec(op: ExecOp, parent: FsState, resources: ExecResources, signal: AbortSignal, progress: ProgressSink): Promise<FsState>;
  copy(op: CopyOp, parent: FsState, source: FileSource, signal: AbortSignal, progress: ProgressSink): Promise<FsState>;
  mkdir(op: MkdirOp, parent: FsState, signal: AbortSignal): Promise<FsState>;
  /** COPY keys: digest of exactly the selected files (path, type, mode, uid/gid, content, link target; never mtime). */
  contentDigest(source: FileSource, op: CopyOp, signal: AbortSignal): Promise<ContentDigest>;
  /**
   * Optional: true when the committed snapshot `name` still exists. When present, the solver checks a cache hit's
   * snapshot with it and rebuilds the step when the snapshot is gone (pruned or lost) instead of failing later.
   */
  hasSnapshot?(name: string): Promise<boolean>;
  /**
   * Optional: `changes` (the listed files of a content miss over what `op` selects from `source`) with `mode` set on
   * each that differs from before in its permission bits alone. Asked only for a miss that lists changed files.
   */
  withModeChanges?(source: FileSource, op: CopyOp, changes: FileChange[], signal: AbortSignal): Promise<FileChange[]>;
}

/** Resolves and fetches base images (implemented in builder/ over the registry client and the content store). */
export interface ImageSource {
  /** Makes sure the manifest, config and every layer blob of `digest` are in the content store. */
  pull(ref: string, digest: Digest, signal: AbortSignal, progress: ProgressSink): Promise<{ manifest: ImageManifest; config: ImageConfig }>;
}

/** What the cache index stores for one key: the result and its bookkeeping. Times are epoch milliseconds. */
export interface CacheRecord {
  result: FsState;
  parts: CacheKeyParts;
  created: number;
  lastUsed: number;
  /** Bytes of the layers this step added (blob sizes as the store holds them: uncompressed tars for layers this build made, as-pulled for others); 0 for config-only steps. */
  size: number;
}

/** One result another runner stored in a remote cache: the key's parts, its filesystem's layers (bottom first). */
export interface RemoteRecord {
  parts: CacheKeyParts;
  layers: LayerRef[];
  /** Bytes of the layers the step added (compressed). */
  size: number;
  /** Where it came from, as the user wrote it (`host/cache:main`, a directory): shown in reports. */
  ref: string;
  /**
   * When the exporting runner first built the result (epoch ms), when the cache says: the image's `created` and
   * history times of a step hit here, so an image rebuilt wholly from the cache has the exporter's digest (BuildKit
   * keeps the same as `buildkit/createdat`).
   */
  created?: number | undefined;
}

/**
 * Results shared by other runners (`--cache-from`), loaded before the solve: lookups move no layer bytes. Only
 * fetchLayers does, and the solver calls it only for a result whose files a step (or an output) really needs.
 */
export interface RemoteCache {
  /** The record for `key`, if any source has one. */
  lookup(key: Digest): Promise<RemoteRecord | undefined>;
  /**
   * The content digest another runner computed for the COPY `selector` (see selectorOf) over a filesystem: the one
   * whose layers' diffIds hash to `at.chain` (see chainOf), else the result of the step keyed `at.key`. A COPY --from
   * a lazy result is keyed without fetching it, and one from a step this runner has not built without building it.
   */
  contentDigest(at: { chain?: Digest; key?: Digest }, selector: Digest): Promise<ContentDigest | undefined>;
  /** Whether contentDigest() knows anything taken over the result of the step keyed `key`. */
  hasContentOf(key: Digest): Promise<boolean>;
  /** The key last exported at a portable locator (Dockerfile name, stage, position): explains misses on a new root. */
  previous(locator: string): Promise<CacheKey | undefined>;
  /**
   * The per-file digests behind the content of that key, when the cache kept them: asked only for a miss whose
   * content differs, so its files can be named. Undefined when unknown.
   */
  previousFiles(locator: string): Promise<ContentFiles | undefined>;
  /** Makes sure the content store the worker unpacks from holds the blobs of `layers`. */
  fetchLayers(layers: LayerRef[], signal: AbortSignal, progress: ProgressSink): Promise<void>;
}

/** Per-file digests by content source name (`context`, `vertex`, `inline`, `mount:/target`): for explaining misses. */
export type ContentFiles = Record<string, Record<string, Digest>>;

/** The last key a step (a locator) had, with the per-file digests behind its content: input to explainMiss(). */
export interface StepRecord extends CacheKey { files: ContentFiles }

/**
 * The persistent cache index: key → result, locator → last key, leases. Safe for several processes on one root at
 * once. A lease (by build id, with the holder's pid) protects keys from prune until released or its process dies.
 */
export interface CacheIndex {
  /** The record for `key`, marking it used now; undefined when it was never stored or was pruned. */
  get(key: Digest): Promise<CacheRecord | undefined>;
  /** Stores (or replaces) the result for `key`; `created` (epoch ms) when it was built elsewhere first (a remote hit). */
  put(key: CacheKey, record: { result: FsState; size: number; created?: number | undefined }): Promise<void>;
  /** The last key seen at `locator` (stage + step position + Dockerfile), for explainMiss(). */
  previous(locator: string): Promise<StepRecord | undefined>;
  /** Remembers `step` as the key now at `locator`. */
  remember(locator: string, step: StepRecord): Promise<void>;
  /** Adds `keys` to the lease `leaseId` held by this process, creating it when new. */
  hold(leaseId: string, keys: Digest[]): Promise<void>;
  /** Ends the lease `leaseId`; its keys may be pruned from now on. */
  release(leaseId: string): Promise<void>;
}

/** Re-exported so implementers import everything from one place. */
export type { Vertex };
