import type { BuildGraph, Vertex, VertexId } from '../frontend/index.js';
import { formatPlatform } from '../registry/oci/index.js';
import { cacheKey } from './cache-key.js';
import type { CacheKey } from './cache-key.js';
import { explainMiss } from './explain-miss.js';
import type { MissReason } from './explain-miss.js';
import { locatorOf } from './graph-order.js';
import type { CacheIndex, CacheRecord, ContextSource, FsState, StepRecord, Worker } from './ports.js';
import { vertexParts } from './vertex-parts.js';
import type { PartsContext, SolvedInput, VertexParts } from './vertex-parts.js';

// How a step is keyed, looked up and explained: one module, so `tsbuild plan` (predict.ts) and `tsbuild build`
// (solve.ts) cannot drift apart. Each caller keeps only its own policy: solve() runs misses, shares keys and asks a
// remote cache; predict() stops at the first miss of a chain.

/** What keying a step reads besides the vertex. */
export interface StepKeyContext {
  graph: BuildGraph;
  /** The vertex's inputs, already solved (or predicted to hit). */
  inputs: Map<VertexId, SolvedInput>;
  context: ContextSource;
  /** The worker's contentDigest, or solve()'s wrapper that answers for lazy remote results. */
  contentDigest: PartsContext['contentDigest'];
  signal: AbortSignal;
  /** Prepended to the step's locator (see locatorOf). */
  locatorPrefix?: string | undefined;
}

/** A keyed step: its cache key, the parts and per-file digests behind it, and where it sits in the Dockerfile. */
export interface KeyedStep {
  vertex: Vertex;
  key: CacheKey;
  parts: VertexParts;
  /** Where the step sits (stage + position + Dockerfile): the index remembers its last key there, for explainMiss. */
  locator: string;
}

/** Computes `vertex`'s key from its solved inputs: the platform it is built for, its op, args and file content. */
export async function keyStep(vertex: Vertex, ctx: StepKeyContext): Promise<KeyedStep> {
  const parts = await vertexParts(vertex, {
    inputs: ctx.inputs, context: ctx.context, platform: stepPlatform(ctx.graph, vertex), signal: ctx.signal,
    contentDigest: ctx.contentDigest,
  });
  return { vertex, key: cacheKey(parts.parts), parts, locator: locatorOf(ctx.graph, vertex, ctx.locatorPrefix) };
}

/** The platform a step is keyed for: a FROM's own, else its stage's (empty for a vertex outside every stage). */
export function stepPlatform(graph: BuildGraph, vertex: Vertex): string {
  const op = vertex.op;
  if (op.kind === 'image' || op.kind === 'scratch') return formatPlatform(op.platform);
  const stage = graph.stages.find((s) => s.index === vertex.stage);
  return stage === undefined ? '' : formatPlatform(stage.platform);
}

/**
 * The local cache's record for `key`, or undefined when there is none or its snapshot is gone (pruned or lost): such
 * a step is rebuilt rather than failing later. Without `worker.hasSnapshot` every record counts as present.
 */
export async function localHit(cache: Pick<CacheIndex, 'get'>, worker: Pick<Worker, 'hasSnapshot'>, key: CacheKey): Promise<CacheRecord | undefined> {
  const hit = await cache.get(key.digest);
  if (hit === undefined) return undefined;
  return (await isSnapshotPresent(worker, hit.result)) ? hit : undefined;
}

async function isSnapshotPresent(worker: Pick<Worker, 'hasSnapshot'>, fs: FsState): Promise<boolean> {
  if (fs.snapshot === null || worker.hasSnapshot === undefined) return true;
  return worker.hasSnapshot(fs.snapshot);
}

/**
 * Why `step` misses, against the key its locator had last time (`previous`): the parents named by the steps that
 * last changed their filesystems, the FROM's reference, and the files behind both keys' content.
 */
export function explainStep(step: KeyedStep, inputs: Map<VertexId, SolvedInput>, previous: StepRecord | undefined, noCache: boolean | string = false): MissReason[] {
  const vertex = step.vertex;
  return explainMiss(previous?.parts, step.key.parts, {
    noCache,
    parents: step.parts.keyedInputs.map((id) => ({ id: inputs.get(id)?.fsId ?? id, text: inputs.get(id)?.fsText ?? '', ...(inputs.get(id)?.cached === true ? { cached: true } : {}) })),
    ...(vertex.op.kind === 'image' ? { ref: vertex.op.ref } : {}),
    ...(previous === undefined ? {} : { filesBefore: previous.files }),
    filesNow: step.parts.files,
  });
}

/** True for a step that changes only the image config (LABEL, CMD, ENV …): its filesystem is its parent's. */
export function isConfigOnly(vertex: Vertex): boolean {
  return vertex.op.kind === 'meta';
}

/**
 * What a keyed step with filesystem `fs` gives the steps built on it. A config-only step passes its parent's `fsKey`
 * (and the names of the step behind it) through, so changing a LABEL does not invalidate the RUN after it.
 */
export function solvedStep(step: KeyedStep, inputs: Map<VertexId, SolvedInput>, fs: FsState): SolvedInput {
  const vertex = step.vertex;
  const parentId = vertex.inputs[0];
  const parent = isConfigOnly(vertex) && parentId !== undefined ? inputs.get(parentId) : undefined;
  return {
    key: step.key.digest, fs, text: vertex.text,
    fsKey: parent?.fsKey ?? step.key.digest, fsId: parent?.fsId ?? vertex.id, fsText: parent?.fsText ?? vertex.text,
  };
}
