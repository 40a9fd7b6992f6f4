import type { CopyOp } from '../frontend/index.js';
import type { Digest } from '../registry/oci/index.js';
import type { CacheKey } from './cache-key.js';
import { contentFactId, type ContentFact } from './cache-export.js';
import { chainOf, materialize, selectorOf } from './materialize.js';
import type { CacheIndex, ContentDigest, FileSource, FsState, ProgressSink, RemoteCache, Worker } from './ports.js';
import type { SolvedInput } from './vertex-parts.js';

/**
 * The lazy rule of one solve: a remote hit stays a list of layers until a step must read its files (run on it,
 * COPY from it, mount it). Each chain is opened at most once; an opened remote hit is stored in the local index so
 * the next build on this root hits locally. A deferred miss (defer()) is a placeholder until a step needs its
 * filesystem, and runs then, once. Also records the content digests taken over vertex filesystems, which a cache
 * export shares so another runner can key a COPY --from without opening (or building) its source.
 */
export class LazyResults {
  readonly #worker: Worker;
  readonly #cache: CacheIndex;
  readonly #remote: RemoteCache | undefined;
  readonly #signal: AbortSignal;
  readonly #opening = new Map<Digest, Promise<FsState>>();
  readonly #opened = new Map<Digest, FsState>();
  readonly #remoteHits = new Map<Digest, { key: CacheKey; size: number; created: number | undefined }>();
  readonly #facts = new Map<string, ContentFact>();
  /** Placeholder of a deferred miss → its run (started once, on first need). */
  readonly #deferred = new WeakMap<FsState, () => Promise<FsState>>();
  /** Placeholder → the filesystem its run made. */
  readonly #ran = new WeakMap<FsState, FsState>();

  constructor(worker: Worker, cache: CacheIndex, remote: RemoteCache | undefined, signal: AbortSignal) {
    this.#worker = worker;
    this.#cache = cache;
    this.#remote = remote;
    this.#signal = signal;
  }

  /** Remembers a remote hit, so its result is stored locally once opened. */
  noteRemoteHit(key: CacheKey, size: number, created?: number): void {
    this.#remoteHits.set(key.digest, { key, size, created });
  }

  /**
   * A placeholder for a step that missed and is not run yet: `run` makes its filesystem, the first time open() or
   * contentDigest() needs it (or start() is called). The placeholder must never reach the worker.
   */
  defer(run: () => Promise<FsState>): FsState {
    const placeholder: FsState = { snapshot: null, layers: [] };
    let running: Promise<FsState> | undefined;
    this.#deferred.set(placeholder, () => {
      running ??= run().then((fs) => { this.#ran.set(placeholder, fs); return fs; });
      return running;
    });
    return placeholder;
  }

  /** Whether `fs` is a deferred step's placeholder (run or not). */
  isDeferred(fs: FsState): boolean {
    return this.#deferred.has(fs);
  }

  /** Runs a deferred step now, if it has not started; resolves with its filesystem. */
  start(fs: FsState): Promise<FsState> {
    return this.#deferred.get(fs)?.() ?? Promise.resolve(fs);
  }

  /**
   * `input` with a filesystem the worker can use: a deferred step run, and (when `files`, the step reads the input's
   * files) a lazy remote hit fetched and unpacked.
   */
  async open(input: SolvedInput, progress: ProgressSink, files = true): Promise<SolvedInput> {
    if (this.#deferred.has(input.fs)) input = { ...input, fs: await this.start(input.fs) };
    if (input.fs.lazy === undefined || !files) return input;
    const fs = await this.#openFs(input.fs, progress);
    const hit = this.#remoteHits.get(input.key);
    if (hit !== undefined) {
      this.#remoteHits.delete(input.key);
      await this.#cache.put(hit.key, { result: fs, size: hit.size, created: hit.created });
    }
    return { ...input, fs };
  }

  /**
   * The opened form of `fs` when this solve opened it, else `fs` as it is; for a deferred step, what its run made, or
   * undefined when it never ran.
   */
  settled(fs: FsState): FsState | undefined {
    if (this.#deferred.has(fs)) {
      const made = this.#ran.get(fs);
      return made === undefined ? undefined : this.settled(made);
    }
    return fs.lazy === undefined ? fs : (this.#opened.get(chainOf(fs.layers)) ?? fs);
  }

  /**
   * The content digest of what `op` selects from `source`. Over a lazy filesystem it is taken from the remote
   * cache's facts when they have it, so keying a COPY --from a remote hit fetches nothing.
   */
  async contentDigest(source: FileSource, op: CopyOp, signal: AbortSignal, progress: ProgressSink): Promise<ContentDigest> {
    if (source.kind !== 'fs') return this.#worker.contentDigest(source, op, signal);
    const selector = selectorOf(op);
    const key = source.key;
    let fs = source.fs;
    if (this.#deferred.has(fs)) {
      // Not built here: another runner's fact about the step's result keys the COPY without building it.
      const made = this.#ran.get(fs);
      const known = made !== undefined || key === undefined ? undefined : await this.#remote?.contentDigest({ key }, selector);
      if (known !== undefined) return this.#record({ source: key, selector, digest: known });
      fs = made ?? await this.start(fs);
    }
    const chain = chainOf(fs.layers);
    if (fs.lazy !== undefined) {
      const known = await this.#remote?.contentDigest({ chain, ...(key !== undefined ? { key } : {}) }, selector);
      if (known !== undefined) return this.#record({ chain, source: key, selector, digest: known });
      fs = await this.#openFs(fs, progress);
    }
    return this.#record({ chain, source: key, selector, digest: await this.#worker.contentDigest({ kind: 'fs', fs }, op, signal) });
  }

  /** Every content digest taken over a vertex filesystem in this solve. */
  facts(): ContentFact[] {
    return [...this.#facts.values()];
  }

  #record(fact: { chain?: Digest; source: Digest | undefined; selector: Digest; digest: ContentDigest }): ContentDigest {
    const { chain, source, selector, digest } = fact;
    const known: ContentFact = { ...(chain !== undefined ? { chain } : {}), ...(source !== undefined ? { source } : {}), selector, digest };
    this.#facts.set(contentFactId(known), known);
    return digest;
  }

  async #openFs(fs: FsState, progress: ProgressSink): Promise<FsState> {
    const chain = chainOf(fs.layers);
    let opening = this.#opening.get(chain);
    if (opening === undefined) {
      progress.status(`fetching ${fs.layers.length} layers from remote cache ${fs.lazy?.ref ?? ''}`.trim());
      opening = materialize(fs, { worker: this.#worker, remote: this.#remote, signal: this.#signal, progress }).then((opened) => {
        this.#opened.set(chain, opened);
        return opened;
      });
      this.#opening.set(chain, opening);
    }
    return opening;
  }
}
