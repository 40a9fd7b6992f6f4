import type { BuildGraph, VertexId } from '../frontend/index.js';
import type { Digest } from '../registry/oci/index.js';
import type { MissReason } from './explain-miss.js';
import type { CacheIndex, ContextSource, Worker } from './ports.js';
import { explainStep, isConfigOnly, keyStep, localHit, solvedStep } from './step-key.js';
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
      missOwner.set(vertex.id, isConfigOnly(vertex) ? owner : vertex.id);
      out.push({ id: vertex.id, wouldHit: false, reasons: [{ kind: 'parent', vertex: owner, text: texts.get(owner) ?? '' }] });
      continue;
    }
    const step = await keyStep(vertex, {
      graph, inputs: solved, context: opts.context, signal: opts.signal, locatorPrefix: opts.locatorPrefix,
      contentDigest: (source, op, signal) => opts.worker.contentDigest(source, op, signal),
    });
    const key = step.key;
    const hit = await localHit(opts.cache, opts.worker, key);
    if (hit !== undefined) {
      solved.set(vertex.id, solvedStep(step, solved, hit.result));
      out.push({ id: vertex.id, key: key.digest, wouldHit: true, reasons: [] });
      continue;
    }
    const reasons = explainStep(step, solved, await opts.cache.previous(step.locator));
    const parent = isConfigOnly(vertex) ? solved.get(vertex.inputs[0] ?? '') : undefined;
    // A config-only step that misses changes no file: the steps on top of it are keyed on its parent, as in solve().
    if (parent) solved.set(vertex.id, solvedStep(step, solved, parent.fs));
    else missOwner.set(vertex.id, vertex.id);
    out.push({ id: vertex.id, key: key.digest, wouldHit: false, reasons });
  }
  return out;
}
