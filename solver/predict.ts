import type { BuildGraph, Vertex, VertexId } from '../frontend/index.js';
import { formatPlatform } from '../registry/oci/index.js';
import type { Digest } from '../registry/oci/index.js';
import { cacheKey } from './cache-key.js';
import { explainMiss } from './explain-miss.js';
import type { MissReason } from './explain-miss.js';
import { locatorOf } from './graph-order.js';
import type { CacheIndex, ContextSource, Worker } from './ports.js';
import { vertexParts } from './vertex-parts.js';
import type { SolvedInput } from './vertex-parts.js';

/** What `tsbuild plan` says of one step before anything runs. */
export interface Prediction {
  id: VertexId;
  /** Known when every input would hit (a step after a miss gets its key only once that miss has run). */
  key?: Digest;
  wouldHit: boolean;
  reasons: MissReason[];
}

/** What predict() reads: the same parts a build would use, but nothing is executed or stored. */
export interface PredictOptions {
  worker: Pick<Worker, 'contentDigest' | 'hasSnapshot'>;
  cache: Pick<CacheIndex, 'get' | 'previous'>;
  context: ContextSource;
  signal: AbortSignal;
  locatorPrefix?: string;
}

function platformOf(graph: BuildGraph, vertex: Vertex): string {
  const op = vertex.op;
  if (op.kind === 'image' || op.kind === 'scratch') return formatPlatform(op.platform);
  const stage = graph.stages.find((s) => s.index === vertex.stage);
  return stage === undefined ? '' : formatPlatform(stage.platform);
}

/**
 * Which steps of `graph` the local cache would answer, and why the others would run: the build's own keys
 * (context files hashed, inputs chained) looked up without running anything. A step on top of a predicted miss is
 * a miss naming that parent: its inputs do not exist yet, so its key cannot be known.
 */
export async function predict(graph: BuildGraph, opts: PredictOptions): Promise<Prediction[]> {
  const solved = new Map<VertexId, SolvedInput>();
  const out: Prediction[] = [];
  const texts = new Map(graph.vertices.map((v) => [v.id, v.text]));
  /** For each predicted miss, the step whose filesystem change it stands for (itself unless it is config-only). */
  const missOwner = new Map<VertexId, VertexId>();
  for (const vertex of graph.vertices) {
    const missedInput = vertex.inputs.find((id) => !solved.has(id));
    if (missedInput !== undefined) {
      // Name the step that will change the filesystem, not a config-only step that merely sits on top of it.
      const owner = missOwner.get(missedInput) ?? missedInput;
      missOwner.set(vertex.id, vertex.op.kind === 'meta' ? owner : vertex.id);
      out.push({ id: vertex.id, wouldHit: false, reasons: [{ kind: 'parent', vertex: owner, text: texts.get(owner) ?? '' }] });
      continue;
    }
    const vp = await vertexParts(vertex, {
      inputs: solved, context: opts.context, platform: platformOf(graph, vertex), signal: opts.signal,
      contentDigest: (source, op, signal) => opts.worker.contentDigest(source, op, signal),
    });
    const key = cacheKey(vp.parts);
    const hit = await opts.cache.get(key.digest);
    const present = hit !== undefined && (hit.result.snapshot === null || !opts.worker.hasSnapshot || await opts.worker.hasSnapshot(hit.result.snapshot));
    if (hit !== undefined && present) {
      const parent = vertex.op.kind === 'meta' && vertex.inputs[0] !== undefined ? solved.get(vertex.inputs[0]) : undefined;
      solved.set(vertex.id, {
        key: key.digest, fs: hit.result, text: vertex.text,
        fsKey: parent?.fsKey ?? key.digest, fsId: parent?.fsId ?? vertex.id, fsText: parent?.fsText ?? vertex.text,
      });
      out.push({ id: vertex.id, key: key.digest, wouldHit: true, reasons: [] });
      continue;
    }
    const previous = await opts.cache.previous(locatorOf(graph, vertex, opts.locatorPrefix));
    const reasons = explainMiss(previous?.parts, vp.parts, {
      parents: vp.keyedInputs.map((id) => ({ id: solved.get(id)?.fsId ?? id, text: solved.get(id)?.fsText ?? '' })),
      ...(vertex.op.kind === 'image' ? { ref: vertex.op.ref } : {}),
      ...(previous === undefined ? {} : { filesBefore: previous.files }),
      filesNow: vp.files,
    });
    const parent = vertex.op.kind === 'meta' ? solved.get(vertex.inputs[0] ?? '') : undefined;
    // A config-only step that misses changes no file: the steps on top of it are keyed on its parent, as in solve().
    if (parent) solved.set(vertex.id, { ...parent, key: key.digest, text: vertex.text });
    else missOwner.set(vertex.id, vertex.id);
    out.push({ id: vertex.id, key: key.digest, wouldHit: false, reasons });
  }
  return out;
}
