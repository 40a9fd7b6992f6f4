import type { BuildGraph, Vertex, VertexId } from '../../frontend/index.js';
import {
  locatorOf, portableLocatorOf,
  type CacheIndex, type CacheKey, type CacheRecord, type ContentFiles, type FsState, type MissReason, type ProgressEvent, type RemoteCache,
  type StepRecord, type VertexRecord,
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

/** A step's key as the record's key manifest keeps it: every finished step, and the one that failed. */
export type KeyedStep = Pick<FinishedStep, 'vertex' | 'locator' | 'key' | 'files'>;

/** What the progress events said about one vertex: when it was keyed, whether it ran (and why), how it ended. */
interface Seen { keyedAt?: number; ran?: { reasons: MissReason[]; time: number }; remote?: string; finishedAt?: number }

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
  readonly #graph: BuildGraph;
  readonly #keyed = new Map<VertexId, KeyedStep>();
  readonly #seen = new Map<VertexId, Seen>();
  #failed: { vertex: VertexId; message: string; time: number } | undefined;

  constructor(inner: CacheIndex, graph: BuildGraph, locatorPrefix: string, onFinished: (step: FinishedStep) => void = () => undefined) {
    this.#inner = inner;
    this.#onFinished = onFinished;
    for (const v of graph.vertices) this.#byLocator.set(locatorOf(graph, v, locatorPrefix), v);
    this.#portable = (v) => portableLocatorOf(graph, v);
    this.#graph = graph;
  }

  /** The solver's `onKeyed`: a step's key, known before its lookup or run. */
  readonly keyed = (locator: string, step: StepRecord): void => {
    const vertex = this.#byLocator.get(locator);
    if (vertex === undefined) return;
    this.#keyed.set(vertex.id, { vertex, locator: this.#portable(vertex), key: { digest: step.digest, parts: step.parts }, files: step.files });
    this.#seenOf(vertex.id).keyedAt ??= Date.now();
  };

  /** The solver's progress events, seen on their way to the progress output: what a failed build's record needs. */
  observe(e: ProgressEvent): void {
    if (e.type === 'start') this.#seenOf(e.vertex).ran = { reasons: e.reasons, time: e.time };
    else if (e.type === 'cached' && e.source !== undefined) this.#seenOf(e.vertex).remote = e.source;
    else if (e.type === 'error') this.#failed ??= { vertex: e.vertex, message: e.message, time: e.time };
  }

  /** The keys of every finished step and of the step that failed (when it got as far as its key), in finish order. */
  keyedSteps(): KeyedStep[] {
    const steps: KeyedStep[] = [...this.finished.values()];
    const failed = this.#failed === undefined ? undefined : this.#keyed.get(this.#failed.vertex);
    if (failed !== undefined && !this.finished.has(failed.vertex.id)) steps.push(failed);
    return steps;
  }

  /**
   * The per-step records of a build that did not finish: each finished step (hit or run, with why it ran) and the
   * step that failed, with its error, in graph order. Steps cut short by the failure are not in it.
   */
  records(): VertexRecord[] {
    const out: VertexRecord[] = [];
    for (const v of this.#graph.vertices) {
      const step = this.finished.get(v.id);
      const failed = this.#failed?.vertex === v.id ? this.#failed : undefined;
      const key = step?.key.digest ?? (failed ? this.#keyed.get(v.id)?.key.digest : undefined);
      if (key === undefined || (step === undefined && failed === undefined)) continue;
      const seen = this.#seen.get(v.id) ?? {};
      const started = seen.ran?.time ?? seen.keyedAt ?? failed?.time ?? Date.now();
      const finished = step ? (seen.finishedAt ?? started) : (failed?.time ?? started);
      const cached = step !== undefined && seen.ran === undefined;
      out.push({
        id: v.id, text: v.text, ...(v.location ? { location: v.location } : {}), key, cached,
        reasons: cached ? [] : (seen.ran?.reasons ?? []), started, finished, durationMs: Math.max(0, finished - started), size: step?.size ?? 0,
        ...(cached ? (seen.remote !== undefined ? { cacheSource: 'remote' as const, cacheRef: seen.remote } : { cacheSource: 'local' as const }) : {}),
        ...(failed ? { error: failed.message } : {}),
      });
    }
    return out;
  }

  #seenOf(id: VertexId): Seen {
    let seen = this.#seen.get(id);
    if (seen === undefined) this.#seen.set(id, (seen = {}));
    return seen;
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
    this.#seenOf(vertex.id).finishedAt = Date.now();
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
      contentDigest: (at, selector) => remote.contentDigest(at, selector),
      hasContentOf: (key) => remote.hasContentOf(key),
      previous: (locator) => remote.previous(locator),
      previousFiles: (locator) => remote.previousFiles(locator),
      fetchLayers: (layers, signal, progress) => remote.fetchLayers(layers, signal, progress),
    };
  }
}
