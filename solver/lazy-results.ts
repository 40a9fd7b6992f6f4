import type { CopyOp } from '../frontend/index.js';
import type { Digest } from '../registry/oci/index.js';
import type { CacheKey } from './cache-key.js';
import type { ContentFact } from './cache-export.js';
import { chainOf, materialize, selectorOf } from './materialize.js';
import type { CacheIndex, ContentDigest, FileSource, FsState, ProgressSink, RemoteCache, Worker } from './ports.js';
import type { SolvedInput } from './vertex-parts.js';

/**
 * The lazy rule of one solve: a remote hit stays a list of layers until a step must read its files (run on it,
 * COPY from it, mount it). Each chain is opened at most once; an opened remote hit is stored in the local index so
 * the next build on this root hits locally. Also records the content digests taken over vertex filesystems, which
 * a cache export shares so another runner can key a COPY --from without opening its source.
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

  /** `input` with a filesystem the worker can use (fetched and unpacked when it was a lazy remote hit). */
  async open(input: SolvedInput, progress: ProgressSink): Promise<SolvedInput> {
    if (input.fs.lazy === undefined) return input;
    const fs = await this.#openFs(input.fs, progress);
    const hit = this.#remoteHits.get(input.key);
    if (hit !== undefined) {
      this.#remoteHits.delete(input.key);
      await this.#cache.put(hit.key, { result: fs, size: hit.size, created: hit.created });
    }
    return { ...input, fs };
  }

  /** The opened form of `fs` when this solve opened it, else `fs` as it is. */
  settled(fs: FsState): FsState {
    return fs.lazy === undefined ? fs : (this.#opened.get(chainOf(fs.layers)) ?? fs);
  }

  /**
   * The content digest of what `op` selects from `source`. Over a lazy filesystem it is taken from the remote
   * cache's facts when they have it, so keying a COPY --from a remote hit fetches nothing.
   */
  async contentDigest(source: FileSource, op: CopyOp, signal: AbortSignal, progress: ProgressSink): Promise<ContentDigest> {
    if (source.kind !== 'fs') return this.#worker.contentDigest(source, op, signal);
    const chain = chainOf(source.fs.layers);
    const selector = selectorOf(op);
    let fs = source.fs;
    if (fs.lazy !== undefined) {
      const known = await this.#remote?.contentDigest(chain, selector);
      if (known !== undefined) return this.#record(chain, selector, known);
      fs = await this.#openFs(fs, progress);
    }
    return this.#record(chain, selector, await this.#worker.contentDigest({ kind: 'fs', fs }, op, signal));
  }

  /** Every content digest taken over a vertex filesystem in this solve. */
  facts(): ContentFact[] {
    return [...this.#facts.values()];
  }

  #record(chain: Digest, selector: Digest, digest: ContentDigest): ContentDigest {
    this.#facts.set(`${chain} ${selector}`, { chain, selector, digest });
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
