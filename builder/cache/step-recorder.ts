import type { BuildGraph, Vertex, VertexId } from '../../frontend/index.js';
import {
  locatorOf, portableLocatorOf,
  type CacheIndex, type CacheKey, type CacheRecord, type ContentFiles, type FsState, type RemoteCache, type StepRecord,
} from '../../solver/index.js';
import type { Digest } from '../../registry/oci/index.js';

/** A step the solver has finished (hit or run): its key, the files behind it and its filesystem. */
export interface FinishedStep {
  vertex: Vertex;
  /** Dockerfile base name, stage and position (portableLocatorOf). */
  locator: string;
  key: CacheKey;
  files: ContentFiles;
  fs: FsState;
  size: number;
}

/**
 * The solver's CacheIndex, watched: every call goes to `inner` unchanged, and each step is reported to `onFinished`
 * the moment the solver remembers its key (that is, once its result is settled: a local hit, a remote hit or a run
 * that stored its result). This is how a build learns, step by step and without changing the solver, what a failed
 * build had already finished: the key manifest of the report and the incremental cache export both read it.
 */
export class StepRecorder implements CacheIndex {
  /** Finished steps by vertex id, in the order they finished. */
  readonly finished = new Map<VertexId, FinishedStep>();
  readonly #inner: CacheIndex;
  readonly #byLocator = new Map<string, Vertex>();
  readonly #results = new Map<Digest, { fs: FsState; size: number }>();
  readonly #onFinished: (step: FinishedStep) => void;
  readonly #portable: (v: Vertex) => string;

  constructor(inner: CacheIndex, graph: BuildGraph, locatorPrefix: string, onFinished: (step: FinishedStep) => void = () => undefined) {
    this.#inner = inner;
    this.#onFinished = onFinished;
    for (const v of graph.vertices) this.#byLocator.set(locatorOf(graph, v, locatorPrefix), v);
    this.#portable = (v) => portableLocatorOf(graph, v);
  }

  async get(key: Digest): Promise<CacheRecord | undefined> {
    const record = await this.#inner.get(key);
    if (record !== undefined) this.#results.set(key, { fs: record.result, size: record.size });
    return record;
  }

  async put(key: CacheKey, record: { result: FsState; size: number }): Promise<void> {
    await this.#inner.put(key, record);
    this.#results.set(key.digest, { fs: record.result, size: record.size });
  }

  async previous(locator: string): Promise<StepRecord | undefined> {
    return this.#inner.previous(locator);
  }

  async remember(locator: string, step: StepRecord): Promise<void> {
    await this.#inner.remember(locator, step);
    const vertex = this.#byLocator.get(locator);
    const result = this.#results.get(step.digest);
    if (vertex === undefined || result === undefined) return;
    const finished: FinishedStep = {
      vertex, locator: this.#portable(vertex), key: { digest: step.digest, parts: step.parts }, files: step.files, fs: result.fs, size: result.size,
    };
    this.finished.set(vertex.id, finished);
    this.#onFinished(finished);
  }

  async hold(leaseId: string, keys: Digest[]): Promise<void> {
    await this.#inner.hold(leaseId, keys);
  }

  async release(leaseId: string): Promise<void> {
    await this.#inner.release(leaseId);
  }

  /** `remote` with its hits noted, so a step taken from a remote cache is reported with its layers too. */
  watchRemote(remote: RemoteCache | undefined): RemoteCache | undefined {
    if (remote === undefined) return undefined;
    return {
      lookup: async (key) => {
        const record = await remote.lookup(key);
        if (record !== undefined && !this.#results.has(key)) {
          this.#results.set(key, { fs: { snapshot: null, layers: record.layers, lazy: { ref: record.ref } }, size: record.size });
        }
        return record;
      },
      contentDigest: (chain, selector) => remote.contentDigest(chain, selector),
      previous: (locator) => remote.previous(locator),
      fetchLayers: (layers, signal, progress) => remote.fetchLayers(layers, signal, progress),
    };
  }
}
