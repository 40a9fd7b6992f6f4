import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import PQueue from 'p-queue';
import type { BuildGraph, Vertex, VertexId } from '../frontend/index.js';
import type { Digest } from '../registry/oci/index.js';
import { crashPoint } from '../common/index.js';
import type { TestHooks } from '../common/index.js';
import type { CacheKey } from './cache-key.js';
import { stripArgPrefix, type MissReason } from './explain-miss.js';
import { checkGraph, locatorOf, portableLocatorOf } from './graph-order.js';
import { targetChain, type ContentFact } from './cache-export.js';
import { LazyResults } from './lazy-results.js';
import type { CacheIndex, ContentFiles, ContextSource, FsState, ImageSource, ProgressSink, RemoteCache, RunLimits, SecretSource, StepRecord, Worker } from './ports.js';
import type { ProgressEvent, VertexRecord } from './progress-event.js';
import { addedSize, runOp } from './run-op.js';
import { locateError } from './locate-error.js';
import { explainStep, keyStep, localHit, solvedStep, type KeyedStep } from './step-key.js';
import type { SolvedInput, VertexParts } from './vertex-parts.js';

/** Steps being run, by cache key, shared by the solves of one process on one root (SolveOptions.runningSteps). */
export type RunningSteps = Map<Digest, Promise<void>>;

/** What solve() works with. */
export interface SolveOptions {
  worker: Worker;
  images: ImageSource;
  cache: CacheIndex;
  context: ContextSource;
  /** `--secret` files by id; handed to the steps that mount them, never keyed or recorded. */
  secrets?: Record<string, SecretSource>;
  /** `--ssh`: agent sockets by id, forwarded to the steps that mount them; never keyed or recorded. */
  ssh?: Record<string, string>;
  /** `--resource`: cgroup limits of every RUN, as BuildKit's op metadata: never keyed or recorded. */
  limits?: RunLimits;
  /** Run every step, taking nothing from the cache (results are still stored). */
  noCache?: boolean;
  /** Stage names (or indexes) whose steps run regardless of the cache, and so do the steps built on them. */
  noCacheFilter?: string[];
  /** How many steps run at once; defaults to the number of CPUs (at least 2). */
  concurrency?: number;
  /**
   * At most this many RUN steps execute at once (default: half the cores, at least 1). A RUN is usually a process
   * tree that keeps more than one core busy (npm, dpkg with its decompressors, make -j): on this 2-core bench machine
   * the two `npm ci` stages of a build took 1.3x longer on average side by side than one after the other, up to 1.9x
   * (bench/RESULTS.md).
   * Pulls, COPY and keying still run `concurrency` at once.
   */
  execConcurrency?: number;
  signal?: AbortSignal;
  onEvent?: (e: ProgressEvent) => void;
  /** Names the lease holding this build's cache records; generated when absent. */
  buildId?: string;
  /** Prepended to every step locator, e.g. the context directory, so unrelated projects do not explain each other. */
  locatorPrefix?: string;
  /**
   * Results of other runners (`--cache-from`), asked after a local miss. A remote hit is lazy: its layers are only
   * fetched when a step must read its files; see FsState.
   */
  remote?: RemoteCache;
  /** Test hooks (the `before-cache-put` and `after-cache-put` crash points), passed down from the CLI edge. */
  hooks?: TestHooks;
  /**
   * Told each step's key the moment it is computed, before the lookup or the run, with the locator `remember` gets:
   * the record of a failed build so still has the key of the step that failed.
   */
  onKeyed?: (locator: string, step: StepRecord) => void;
  /**
   * Steps other solves of this process are running on the same root (bake's targets built at once, as buildx builds
   * all of them in one solve), by cache key. A step another solve is running is waited for and then taken from the
   * cache instead of run again: a base image two targets start on is pulled and unpacked once. The caller that starts
   * the solves makes it; a lone build has none.
   */
  runningSteps?: RunningSteps;
  /**
   * The caller reads the results of stages besides the target (BUILDKIT_SBOM_SCAN_STAGE scans them): every step that
   * misses is run. Otherwise, with a remote cache, a step of another stage that misses is run only once something
   * needs its filesystem (see SolveRun.#deferrable).
   */
  needsStageResults?: boolean;
  /** The stages (positions in graph.stages) whose results the caller reads: every platform's target of a merged graph. Default: graph.target. */
  targets?: number[];
}

/** The solved graph: every vertex's filesystem and what happened to it. */
export interface SolveResult {
  results: Record<VertexId, FsState>;
  /**
   * One record per vertex, in graph order, except a deferred miss nothing needed (never run, as BuildKit never solves
   * a vertex whose dependents were found in the cache): it has no record and no result.
   */
  records: VertexRecord[];
  /**
   * The lease that keeps this build's cache records (and their snapshots and blobs) from prune. Still held on
   * success so the results can be exported: call `cache.release(leaseId)` when done. Released on failure.
   */
  leaseId: string;
  /** Every vertex's cache key with its parts: what a cache export shares. */
  keys: Record<VertexId, CacheKey>;
  /** Bytes of the layers each vertex added. */
  sizes: Record<VertexId, number>;
  /** Content digests taken over vertex filesystems (COPY --from), for a cache export. */
  contents: ContentFact[];
  /** The deferred misses nothing needed, never run (no record, no result), in graph order. */
  skipped: VertexId[];
  /**
   * The per-file digests behind each keyed vertex's content (vertices that read files: COPY, ADD, RUN --mount), for
   * a cache export: a runner that misses against the exported key can then name the files that changed.
   */
  files: Record<VertexId, ContentFiles>;
}

/** A miss not run yet has a placeholder `fs` (LazyResults.defer, isDeferred) that runs it when opened. */
interface Outcome { fs: FsState; cached: boolean; size: number; reasons: MissReason[]; started: number; remote?: string }
interface Solved extends SolvedInput { forced: boolean; record: VertexRecord; cacheKey: CacheKey; files: ContentFiles }

/**
 * Solves `graph`: keys every vertex, takes hits from the cache and runs the misses on the worker, independent
 * vertices in parallel (at most `concurrency` at once), each key at most once. The first failure cancels the rest;
 * solve() then waits for running steps to stop and rejects with that failure, located at its Dockerfile line.
 */
export async function solve(graph: BuildGraph, opts: SolveOptions): Promise<SolveResult> {
  const order = checkGraph(graph);
  const byId = new Map(graph.vertices.map((v) => [v.id, v]));
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted === true) onAbort();
  const run = new SolveRun(graph, opts, controller);
  const pending = new Map<VertexId, Promise<Solved>>();
  for (const id of order) {
    const vertex = byId.get(id);
    if (vertex === undefined) continue;
    const promise = run.solveVertex(vertex, pending).catch((err: unknown) => {
      run.fail(err, vertex);
      throw err;
    });
    pending.set(id, promise);
  }
  const settled = await Promise.allSettled(pending.values());
  await run.settleStarted();
  opts.signal?.removeEventListener('abort', onAbort);
  if (run.failure !== undefined) {
    await opts.cache.release(run.leaseId);
    throw run.failure;
  }
  const solved = new Map<VertexId, Solved>();
  for (const s of settled) {
    if (s.status !== 'fulfilled') throw new Error('a vertex failed without recording its failure');
    solved.set(s.value.record.id, s.value);
  }
  const results: Record<VertexId, FsState> = {};
  const records: VertexRecord[] = [];
  const keys: Record<VertexId, CacheKey> = {};
  const sizes: Record<VertexId, number> = {};
  const files: Record<VertexId, ContentFiles> = {};
  const skipped: VertexId[] = [];
  for (const v of graph.vertices) {
    const s = solved.get(v.id);
    if (s === undefined) continue;
    keys[v.id] = s.cacheKey;
    if (Object.keys(s.files).length > 0) files[v.id] = s.files;
    const fs = run.lazy.settled(s.fs);
    if (fs === undefined) {   // deferred and never needed
      skipped.push(v.id);
      continue;
    }
    const record = run.lazy.isDeferred(s.fs) ? run.deferredRecord(s.record) : s.record;
    results[v.id] = fs;
    records.push(record);
    sizes[v.id] = record.size;
  }
  return { results, records, leaseId: run.leaseId, keys, sizes, contents: run.lazy.facts(), skipped, files };
}

/** The state of one solve() call. */
class SolveRun {
  readonly leaseId: string;
  readonly lazy: LazyResults;
  readonly #graph: BuildGraph;
  readonly #opts: SolveOptions;
  readonly #signal: AbortSignal;
  readonly #queue: PQueue;
  readonly #execQueue: PQueue;
  readonly #byKey = new Map<Digest, { vertex: VertexId; outcome: Promise<Outcome> }>();
  readonly #vertices: Map<VertexId, Vertex>;
  /** #lastBuild's answer, read once. */
  #last: Promise<LastBuild> | undefined;
  /** Per stage (by its first vertex): its steps' instructions now, and where each stood last time (#stageShifts). */
  readonly #shifts = new Map<VertexId, { texts: (string | undefined)[]; shifts: ({ by: number; record: StepRecord } | undefined)[] }>();
  readonly #controller: AbortController;
  /** The first failure, located at its step; what solve() rejects with. */
  failure: Error | undefined;
  readonly #failures = new WeakSet<object>();
  /**
   * Steps that may be deferred when they miss: those of stages the target is not built on (their results are read
   * only by COPY --from and RUN --mount=from), when a remote cache may hold facts that key those reads without them.
   */
  readonly #deferrable: Set<VertexId>;
  /**
   * Results of deferrable stages that a step which is not deferrable reads (a target stage's COPY --from, a mount):
   * where #startUnlessKnown decides whether the stage runs at once. A stage read only by other deferred stages (`FROM
   * deps AS build`) is left to them: it runs if and when one of them does.
   */
  readonly #startPoints = new Set<VertexId>();
  /** Deferred steps that ran, by vertex: their outcome and when they finished. */
  readonly #deferredRuns = new Map<VertexId, { outcome: Outcome; finished: number }>();
  /** Deferred stages started because no fact about their result was known: solve() waits for them. */
  readonly #started: Promise<unknown>[] = [];

  constructor(graph: BuildGraph, opts: SolveOptions, controller: AbortController) {
    this.#graph = graph;
    this.#vertices = new Map(graph.vertices.map((v) => [v.id, v]));
    this.#opts = opts;
    this.#controller = controller;
    const signal = controller.signal;
    this.#signal = signal;
    this.#deferrable = new Set();
    if (opts.remote !== undefined && opts.needsStageResults !== true && opts.noCache !== true) {
      const needed = new Set((opts.targets ?? [graph.target]).flatMap((t) => [...targetChain(graph, t)]));
      const stages = new Set<number>();
      const results = new Set<VertexId>();
      for (const stage of graph.stages) {
        if (needed.has(stage.result)) continue;
        stages.add(stage.index);
        results.add(stage.result);
      }
      for (const v of graph.vertices) if (v.stage !== undefined && stages.has(v.stage) && !needed.has(v.id)) this.#deferrable.add(v.id);
      for (const v of graph.vertices) {
        if (this.#deferrable.has(v.id)) continue;
        for (const id of v.inputs) if (results.has(id)) this.#startPoints.add(id);
      }
    }
    this.leaseId = opts.buildId ?? randomUUID();
    this.lazy = new LazyResults(opts.worker, opts.cache, opts.remote, signal);
    this.#queue = new PQueue({ concurrency: opts.concurrency ?? Math.max(2, availableParallelism()) });
    this.#execQueue = new PQueue({ concurrency: opts.execConcurrency ?? Math.max(1, Math.floor(availableParallelism() / 2)) });
  }

  emit(e: ProgressEvent): void {
    this.#opts.onEvent?.(e);
  }

  /**
   * Records `err`, the failure of `vertex`, located at its step: the first one is the solve's failure (its error event
   * sent, the rest cancelled). An error already located here (a deferred step's, seen again by the step that needed
   * it) is passed on as it is.
   */
  fail(err: unknown, vertex: Vertex): Error {
    if (typeof err === 'object' && err !== null && this.#failures.has(err)) return err as Error;
    const located = locateError(err, vertex, this.#opts.signal);
    this.#failures.add(located);
    if (this.failure === undefined) {
      this.failure = located;
      this.emit({ type: 'error', vertex: vertex.id, time: Date.now(), message: located.message });
      this.#controller.abort(located);
    }
    return located;
  }

  /** Waits for the deferred stages started without a need (see #startUnlessKnown). */
  async settleStarted(): Promise<void> {
    await Promise.allSettled(this.#started);
  }

  /** The record of a deferred step that ran: when it ran and what it made, instead of the placeholder's. */
  deferredRecord(record: VertexRecord): VertexRecord {
    const ran = this.#deferredRuns.get(record.id);
    if (ran === undefined) return record;
    const { outcome, finished } = ran;
    return {
      ...record, cached: outcome.cached, reasons: outcome.cached ? [] : record.reasons,
      started: outcome.started, finished, durationMs: finished - outcome.started, size: outcome.size,
    };
  }

  /** Waits for the vertex's inputs, keys it, then takes it from the cache or runs it (once per key). */
  async solveVertex(vertex: Vertex, pending: Map<VertexId, Promise<Solved>>): Promise<Solved> {
    const inputs = new Map<VertexId, Solved>();
    for (const id of vertex.inputs) {
      const input = pending.get(id);
      if (input === undefined) throw new Error(`vertex ${vertex.id} needs ${id}, which is not scheduled before it`);
      inputs.set(id, await input);
    }
    this.#signal.throwIfAborted();
    const started = Date.now();
    const step = await this.#enqueue(() =>
      keyStep(vertex, {
        graph: this.#graph, inputs, context: this.#opts.context, signal: this.#signal, locatorPrefix: this.#opts.locatorPrefix,
        contentDigest: (source, op, signal) => this.lazy.contentDigest(source, op, signal, this.#progress(vertex.id)),
      }),
    );
    const { key, locator } = step;
    this.#opts.onKeyed?.(locator, { ...key, files: step.parts.files });
    const forced = this.#isForced(vertex, step.parts, inputs);
    const matched = this.#matchPrevious(await this.#lastBuild(), locator, vertex);
    const previous = matched.found ? matched.record : await this.#remotePrevious(vertex);
    // Hold before looking up, so a concurrent prune cannot remove the record between the lookup and its use.
    await this.#opts.cache.hold(this.leaseId, [key.digest]);
    let shared = this.#byKey.get(key.digest);
    const isLeader = shared === undefined;
    if (shared === undefined) {
      // What forced it, for its reason: --no-cache, or the --no-cache-filter its stage (or one it builds on) is in.
      const forcedBy = !forced || this.#opts.noCache === true ? forced : `--no-cache-filter ${(this.#opts.noCacheFilter ?? []).join(',')}`;
      const explain = async (): Promise<MissReason[]> => {
        const reasons = explainStep(step, inputs, previous, forcedBy);
        // Against a remote cache's key the files behind its content are in a blob of their own: read only now, for a
        // miss whose content differs, so the reason can name the files.
        if (matched.found || previous === undefined || !reasons.some((r) => r.kind === 'content' && r.unlisted === true)) return this.#withModeChanges(reasons, step);
        const files = await this.#opts.remote?.previousFiles(portableLocatorOf(this.#graph, vertex));
        return this.#withModeChanges(files === undefined ? reasons : explainStep(step, inputs, { ...previous, files }, forcedBy), step);
      };
      shared = { vertex: vertex.id, outcome: this.#enqueue(() => this.#resolve(vertex, key, forced, inputs, explain, started, this.#deferrable.has(vertex.id))) };
      this.#byKey.set(key.digest, shared);
    }
    const outcome = await shared.outcome;
    const isDeferred = this.lazy.isDeferred(outcome.fs);
    if (isLeader && isDeferred && this.#startPoints.has(vertex.id)) {
      await this.#startUnlessKnown(outcome.fs, solvedStep(step, inputs, outcome.fs).fsKey);
    }
    // The same key in a chain a target needs (a FROM both stages name): what the deferrable one left waiting runs now.
    if (isDeferred && !this.#deferrable.has(vertex.id)) await this.lazy.start(outcome.fs);
    if (!isLeader && !isDeferred) this.emit({ type: 'cached', vertex: vertex.id, text: vertex.text, time: Date.now(), of: shared.vertex });
    await this.#opts.cache.remember(locator, { ...key, files: step.parts.files });
    const finished = Date.now();
    const cached = outcome.cached || !isLeader; // a second vertex with the same key reuses the first one's result
    const source = !cached ? {} : outcome.remote === undefined ? { cacheSource: 'local' as const } : { cacheSource: 'remote' as const, cacheRef: outcome.remote };
    const record: VertexRecord = {
      id: vertex.id,
      text: vertex.text,
      ...(vertex.location === undefined ? {} : { location: vertex.location }),
      key: key.digest,
      cached,
      reasons: cached ? [] : outcome.reasons,
      started: isLeader ? outcome.started : started,
      finished,
      durationMs: finished - (isLeader ? outcome.started : started),
      size: outcome.size,
      ...source,
    };
    return { ...solvedStep(step, inputs, outcome.fs), cached, forced, record, cacheKey: key, files: step.parts.files };
  }

  /**
   * Runs `task` on the queue. Not with p-queue's own `signal` option: that rejects a *running* task at once and frees
   * its slot while the worker is still busy. A task that starts after the abort gives up before doing anything.
   */
  async #enqueue<T>(task: () => Promise<T>): Promise<T> {
    return this.#queue.add(() => {
      this.#signal.throwIfAborted();
      return task();
    });
  }

  /**
   * Runs a RUN's execution in an exec slot. The step already holds a slot of the general queue (#enqueue); while it
   * waits for an exec slot, the general queue grows by one, so a RUN waiting its turn does not hold up the COPY steps,
   * pulls and cache keys of other stages.
   */
  async #execSlot<T>(task: () => Promise<T>): Promise<T> {
    this.#queue.concurrency += 1;
    let isWaiting = true;
    const stopWaiting = (): void => {
      if (!isWaiting) return;
      isWaiting = false;
      this.#queue.concurrency -= 1;
    };
    try {
      return await this.#execQueue.add(() => {
        stopWaiting();
        return task();
      });
    } finally {
      stopWaiting();
    }
  }

  /**
   * `reasons` with the files of each content reason that changed their mode alone marked so (the worker tells). A
   * file that cannot be read again now (removed since its digest) keeps the plain reason: the step still runs.
   */
  async #withModeChanges(reasons: MissReason[], step: KeyedStep): Promise<MissReason[]> {
    const worker = this.#opts.worker;
    const ask = worker.withModeChanges?.bind(worker);
    if (ask === undefined) return reasons;
    return Promise.all(reasons.map(async (r) => {
      const from = r.kind === 'content' && r.changes.length > 0 ? step.parts.sources[r.source] : undefined;
      if (r.kind !== 'content' || from === undefined) return r;
      return { ...r, changes: await ask(from.source, from.op, r.changes, this.#signal).catch(() => r.changes) };
    }));
  }

  /**
   * A deferred stage's result missed: unless the remote cache knows what COPY --from takes from it by its key, a step
   * that reads it will need it built, so the stage runs now, beside the others, as it would have without deferral.
   */
  async #startUnlessKnown(fs: FsState, fsKey: Digest): Promise<void> {
    if (await this.#opts.remote?.hasContentOf(fsKey) === true) return;
    this.#started.push(this.#enqueue(() => this.lazy.start(fs)).catch(() => undefined));   // its failure is recorded by fail()
  }

  async #resolve(vertex: Vertex, key: CacheKey, forced: boolean, inputs: Map<VertexId, Solved>, explain: () => Promise<MissReason[]>, started: number, mayDefer: boolean): Promise<Outcome> {
    const running = forced ? undefined : this.#opts.runningSteps?.get(key.digest);
    if (running !== undefined) await untilSettledOrAborted(running, this.#signal);
    if (!forced) {
      const hit = await localHit(this.#opts.cache, this.#opts.worker, key);
      if (hit !== undefined) {
        this.emit({ type: 'cached', vertex: vertex.id, text: vertex.text, time: Date.now() });
        return { fs: hit.result, cached: true, size: hit.size, reasons: [], started };
      }
      const remote = await this.#opts.remote?.lookup(key.digest);
      if (remote !== undefined) {
        this.lazy.noteRemoteHit(key, remote.size, remote.created);
        this.emit({ type: 'cached', vertex: vertex.id, text: vertex.text, time: Date.now(), source: remote.ref });
        this.emit({ type: 'status', vertex: vertex.id, text: `from remote cache ${remote.ref}`, time: Date.now() });
        const fs: FsState = { snapshot: null, layers: remote.layers, lazy: { ref: remote.ref } };
        return { fs, cached: true, size: remote.size, reasons: [], started, remote: remote.ref };
      }
    }
    if (mayDefer && !forced) {
      // Run when a step needs the filesystem (LazyResults.open, contentDigest without a fact), or never.
      const reasons = await explain();
      const fs = this.lazy.defer(async () => {
        try {
          const outcome = await this.#resolve(vertex, key, forced, inputs, async () => reasons, Date.now(), false);
          this.#deferredRuns.set(vertex.id, { outcome, finished: Date.now() });
          return outcome.fs;
        } catch (err) {
          throw this.fail(err, vertex);
        }
      });
      return { fs, cached: false, size: 0, reasons, started };
    }
    // Ours to run: another solve that comes to this key meanwhile waits for it (no await between its check and this).
    const shared = this.#opts.runningSteps;
    const other = shared?.get(key.digest);
    if (shared !== undefined && other !== undefined && !forced) return this.#resolve(vertex, key, forced, inputs, explain, started, false);
    let ran = (): void => undefined;
    const mine = new Promise<void>((resolve) => { ran = resolve; });
    shared?.set(key.digest, mine);
    try {
      return await this.#run(vertex, key, inputs, explain);
    } finally {
      if (shared?.get(key.digest) === mine) shared.delete(key.digest);
      ran();
    }
  }

  /** Runs the step (a miss) and stores its result. */
  async #run(vertex: Vertex, key: CacheKey, inputs: Map<VertexId, Solved>, explain: () => Promise<MissReason[]>): Promise<Outcome> {
    const reasons = await explain();
    const progress = this.#progress(vertex.id);
    // Deferred inputs run before an exec slot is taken (they may need one of their own); lazy remote hits are fetched
    // once the step has started, under its header.
    const built = await this.#openInputs(inputs, progress, false);
    const readsFiles = vertex.op.kind === 'exec' || vertex.op.kind === 'copy' || vertex.op.kind === 'mkdir';
    let opened = built;
    let runStarted = Date.now();
    const execute = async (): Promise<FsState> => {
      this.#signal.throwIfAborted();
      // A RUN waiting for an exec slot has not started: its start (and its duration) count from the slot.
      runStarted = Date.now();
      this.emit({ type: 'start', vertex: vertex.id, text: vertex.text, reasons, time: runStarted });
      opened = await this.#openInputs(built, progress, readsFiles);
      return runOp(vertex, {
        worker: this.#opts.worker,
        images: this.#opts.images,
        context: this.#opts.context,
        secrets: this.#opts.secrets ?? {},
        ...(this.#opts.ssh ? { ssh: this.#opts.ssh } : {}),
        ...(this.#opts.limits ? { limits: this.#opts.limits } : {}),
        inputs: opened,
        content: key.parts.content,
        signal: this.#signal,
        progress,
      });
    };
    const fs = vertex.op.kind === 'exec' ? await this.#execSlot(execute) : await execute();
    const parentId = vertex.inputs[0];
    const size = addedSize(fs, parentId === undefined ? undefined : opened.get(parentId)?.fs);
    crashPoint(this.#opts.hooks, 'before-cache-put');
    await this.#opts.cache.put(key, { result: fs, size });
    crashPoint(this.#opts.hooks, 'after-cache-put');
    const done = Date.now();
    this.emit({ type: 'done', vertex: vertex.id, time: done, durationMs: done - runStarted, size });
    return { fs, cached: false, size, reasons, started: runStarted };
  }

  /**
   * The inputs with a filesystem to build on: deferred inputs run, and with `files` (the step reads its inputs'
   * files) lazy remote hits fetched too.
   */
  async #openInputs(inputs: Map<VertexId, SolvedInput>, progress: ProgressSink, files: boolean): Promise<Map<VertexId, SolvedInput>> {
    const opened = new Map<VertexId, SolvedInput>();
    for (const [id, input] of inputs) opened.set(id, await this.lazy.open(input, progress, files));
    return opened;
  }

  /**
   * What the cache held at each locator of this build's stages before this solve wrote any: "the last build" of every
   * step, read once, as the first step is keyed. A step that moved (one inserted or removed before it) is looked for
   * at its old place, which this build's own writes would otherwise have replaced by then. A few places past each
   * stage's last are read too: a step removed near a stage's end leaves the ones after it there.
   */
  #lastBuild(): Promise<LastBuild> {
    this.#last ??= (async () => {
      const out = new Map<string, StepRecord | undefined>();
      const stages = new Map<string, number>();
      for (const v of this.#graph.vertices) {
        const locator = locatorOf(this.#graph, v, this.#opts.locatorPrefix);
        out.set(locator, await this.#opts.cache.previous(locator));
        const { stage, position } = placeOf(locator);
        if (position !== undefined) stages.set(stage, Math.max(stages.get(stage) ?? -1, position));
      }
      for (const [stage, last] of stages) {
        for (let p = last + 1; p <= last + 8; p++) {
          const record = await this.#opts.cache.previous(`${stage}${p}`);
          if (record === undefined) break;
          out.set(`${stage}${p}`, record);
        }
      }
      return { records: out, places: placesOf(out) };
    })();
    return this.#last;
  }

  /**
   * The instructions of `vertex`'s stage now, and for each where the same instruction stood last time nearest to its
   * place: computed once a stage, so a stage of N steps costs N lookups, not N² (a 1000-line stage took 150 s).
   */
  #stageShifts(last: LastBuild, stage: string, vertex: Vertex): { texts: (string | undefined)[]; shifts: ({ by: number; record: StepRecord } | undefined)[] } {
    const ids = this.#graph.stages.find((s) => s.vertices.includes(vertex.id))?.vertices ?? [];
    const key = ids[0] ?? vertex.id;
    let known = this.#shifts.get(key);
    if (known === undefined) {
      const texts = ids.map((id) => { const v = this.#vertices.get(id); return v === undefined ? undefined : stripArgPrefix(v.text, v.args); });
      known = { texts, shifts: texts.map((text, i) => (text === undefined ? undefined : nearestPlace(last.places, stage, text, i))) };
      this.#shifts.set(key, known);
    }
    return known;
  }

  /**
   * The last build of `vertex` among `last` (#lastBuild): the record at its own place when the same instruction stood
   * there. Else, when every step after it in the stage moved by as many places as it did (steps were inserted or
   * removed before it), the record where it stood: its reasons are then its parent's, never an "instruction changed"
   * into its old neighbour's text; steps that changed places otherwise (swapped) keep the record here ("instruction
   * changed"). An instruction the stage never held is new when what stood here stands elsewhere in the stage now, and
   * an edit in place otherwise. `found` false: nothing was here, the remote cache may know.
   */
  #matchPrevious(last: LastBuild, locator: string, vertex: Vertex): { found: boolean; record?: StepRecord } {
    const here = last.records.get(locator);
    const { stage, position } = placeOf(locator);
    const was = here === undefined ? undefined : stripArgPrefix(here.parts.opText, here.parts.args);
    if (here !== undefined && (was === stripArgPrefix(vertex.text, vertex.args) || position === undefined)) return { found: true, record: here };
    if (position === undefined) return { found: false };
    const { texts, shifts } = this.#stageShifts(last, stage, vertex);
    const shift = shifts[position];
    if (shift !== undefined) {
      const moved = shift.by !== 0 && shifts.slice(position + 1).every((s) => s === undefined || s.by === shift.by);
      if (moved || here !== undefined) return { found: true, record: moved ? shift.record : here };
    }
    // Nothing stood here (the stage grew): the remote cache may know.
    if (here === undefined) return { found: false };
    const standsElsewhere = texts.some((text, i) => i !== position && text === was);
    return standsElsewhere ? { found: true } : { found: true, record: here };
  }

  async #remotePrevious(vertex: Vertex): Promise<StepRecord | undefined> {
    const key = await this.#opts.remote?.previous(portableLocatorOf(this.#graph, vertex));
    return key === undefined ? undefined : { ...key, files: {} };
  }

  /**
   * Forced steps run whatever the cache holds. A step built on a forced one is forced too, because its key did not
   * change while its input may have; a COPY --from source is exempt: its content digest already tells.
   */
  #isForced(vertex: Vertex, vp: VertexParts, inputs: Map<VertexId, Solved>): boolean {
    if (this.#opts.noCache === true) return true;
    const stage = this.#graph.stages.find((s) => s.index === vertex.stage);
    const filter = this.#opts.noCacheFilter ?? [];
    if (stage !== undefined && (filter.includes(String(stage.index)) || (stage.name !== undefined && filter.includes(stage.name)))) return true;
    return vp.keyedInputs.some((id) => inputs.get(id)?.forced === true);
  }

  #progress(vertex: VertexId): ProgressSink {
    return {
      log: (stream, data) => this.emit({ type: 'log', vertex, stream, data, time: Date.now() }),
      status: (text, current, total) =>
        this.emit({ type: 'status', vertex, text, ...(current === undefined ? {} : { current }), ...(total === undefined ? {} : { total }), time: Date.now() }),
    };
  }
}

/** Waits for `p` to settle (its outcome is not ours), or throws when `signal` aborts first. */
async function untilSettledOrAborted(p: Promise<unknown>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  let onAbort = (): void => undefined;
  try {
    await Promise.race([
      p.then(() => undefined, () => undefined),
      new Promise<never>((_, reject) => { onAbort = () => reject(signal.reason); signal.addEventListener('abort', onAbort, { once: true }); }),
    ]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The last build's step records by locator, and by stage and instruction (placesOf). */
interface LastBuild {
  records: Map<string, StepRecord | undefined>;
  places: Map<string, { position: number; record: StepRecord }[]>;
}

const placeKey = (stage: string, instruction: string): string => `${stage}\0${instruction}`;

/** Where each instruction stood last time, by stage: one pass over the records, so a lookup is a map's. */
function placesOf(records: Map<string, StepRecord | undefined>): Map<string, { position: number; record: StepRecord }[]> {
  const out = new Map<string, { position: number; record: StepRecord }[]>();
  for (const [locator, record] of records) {
    const at = placeOf(locator);
    if (record === undefined || at.position === undefined) continue;
    const key = placeKey(at.stage, stripArgPrefix(record.parts.opText, record.parts.args));
    const list = out.get(key);
    if (list === undefined) out.set(key, [{ position: at.position, record }]);
    else list.push({ position: at.position, record });
  }
  return out;
}

/** Where `instruction` stood last time in `stage` nearest to `position` now: by how many places, and its record. */
function nearestPlace(places: LastBuild['places'], stage: string, instruction: string, position: number): { by: number; record: StepRecord } | undefined {
  let best: { by: number; record: StepRecord } | undefined;
  for (const at of places.get(placeKey(stage, instruction)) ?? []) {
    const by = at.position - position;
    if (best === undefined || Math.abs(by) < Math.abs(best.by)) best = { by, record: at.record };
  }
  return best;
}

/** A locator's stage part (through its last `/`) and position in the stage; no position for one not in a stage. */
function placeOf(locator: string): { stage: string; position?: number } {
  const slash = locator.lastIndexOf('/');
  const position = Number(locator.slice(slash + 1));
  return Number.isInteger(position) && slash >= 0 && locator.slice(slash + 1) !== '' ? { stage: locator.slice(0, slash + 1), position } : { stage: locator };
}
