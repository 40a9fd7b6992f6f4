import PQueue from 'p-queue';
import type { BuildGraph, VertexId } from '../../frontend/index.js';
import { cacheExport, type CacheKey, type ContentFiles, type ExportSource, type FsState } from '../../solver/index.js';
import { parseReference, type Digest } from '../../registry/index.js';
import { cacheName, type CacheToSpec } from './cache-spec.js';
import { openCacheStore, uploadConcurrency } from './cache-store.js';
import { copy } from '../content/index.js';
import { exportTo, type ExportContext } from './export-cache.js';
import type { FinishedStep } from './step-recorder.js';

/** How many steps' layers go up at once while the build runs (each step's blobs are themselves bounded). */
const CONCURRENCY = 2;

/**
 * `--cache-to` while the build runs. Design (the simpler of the two in issue 19): the blobs of each finished step
 * in the export's scope (every step for mode=max; the target stage's chain for mode=min) are sent to each registry
 * or store (gha, s3, azblob) cache in the background as the step finishes, bounded; the cache manifest is written once, at
 * the end, on success (writeCaches) and on failure (exportFailed: the records of the steps that finished). The
 * manifest always goes last, after every blob it names is confirmed where it goes (exportToRegistry HEADs them
 * again, exportToGha looks each up), and a local export is renamed into place whole: an interrupted export never
 * leaves a manifest pointing at missing blobs.
 */
export class IncrementalCacheExport {
  readonly #specs: CacheToSpec[];
  readonly #graph: BuildGraph;
  readonly #ctx: ExportContext;
  readonly #queue = new PQueue({ concurrency: CONCURRENCY });
  /** The blobs sent, by cache name. */
  readonly #sent = new Map<string, Set<Digest>>();

  constructor(specs: CacheToSpec[], graph: BuildGraph, ctx: ExportContext) {
    this.#specs = specs;
    this.#graph = graph;
    this.#ctx = ctx;
  }

  /** Starts sending `step`'s layers to every registry or store (gha, s3, azblob) cache whose scope holds it. Never throws: failures are noted. */
  stepFinished(step: FinishedStep): void {
    const source = partialSource(new Map([[step.vertex.id, step]]));
    for (const spec of this.#specs) {
      if (spec.type === 'inline' || spec.type === 'local') continue;
      const name = cacheName(spec);
      // cacheExport decides the scope (mode=min: the target's chain), as it will for the manifest at the end.
      const layers = cacheExport(this.#graph, source, spec.mode).records.flatMap((r) => r.layers);
      const sent = this.#sent.get(name) ?? new Set<Digest>();
      this.#sent.set(name, sent);
      // Keyed by the layer as the build holds it (uncompressed for its own steps); gzipped in the queue, once.
      const local = layers.filter((l) => !sent.has(l.descriptor.digest));
      if (local.length === 0) continue;
      for (const l of local) sent.add(l.descriptor.digest);
      void this.#queue.add(async () => {
        if (this.#ctx.signal?.aborted === true) return;
        const blobs = (await this.#ctx.blobs.outgoing(local, this.#ctx.signal)).map((l) => l.descriptor);
        if (spec.type === 'registry') await this.#ctx.blobs.ensureAt(parseReference(spec.ref), blobs, this.#ctx.signal);
        else await copy(this.#ctx.blobs, openCacheStore(spec), blobs, { signal: this.#ctx.signal, concurrency: uploadConcurrency(spec) });
      }).catch((err: unknown) => {
        // Not fatal: the final export asks for every blob again and uploads what is still missing.
        for (const l of local) sent.delete(l.descriptor.digest);
        this.#ctx.note(`cache export to ${name}: early upload of ${step.vertex.text} failed (${err instanceof Error ? err.message : String(err)}); retrying at the end`);
      });
    }
  }

  /** Waits for the uploads started so far. */
  async settle(): Promise<void> {
    await this.#queue.onIdle();
  }

  /**
   * After a failed build: waits for the uploads, then writes each cache (registry and local) with the records of the
   * steps that finished, so the next runner starts from them. Failures here are noted, never thrown: the build's
   * own error is what the user must see.
   */
  async exportFailed(finished: Map<VertexId, FinishedStep>): Promise<void> {
    await this.settle();
    const source = partialSource(finished);
    for (const spec of this.#specs) {
      if (spec.type === 'inline') continue;
      const exported = cacheExport(this.#graph, source, spec.mode);
      if (exported.records.length === 0) continue;
      const where = cacheName(spec);
      try {
        await exportTo(spec, exported, this.#ctx);
        this.#ctx.note(`the build failed: ${where} holds the ${exported.records.length} steps that finished`);
      } catch (err) {
        this.#ctx.note(`cache export to ${where} after the failure failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

/** What cacheExport() reads, from the steps that finished (no content facts: they come with a whole solve). */
function partialSource(finished: Map<VertexId, FinishedStep>): ExportSource {
  const results: Record<VertexId, FsState> = {};
  const keys: Record<VertexId, CacheKey> = {};
  const sizes: Record<VertexId, number> = {};
  const files: Record<VertexId, ContentFiles> = {};
  for (const [id, step] of finished) {
    results[id] = step.fs;
    keys[id] = step.key;
    sizes[id] = step.size;
    files[id] = step.files;
  }
  return { results, keys, sizes, contents: [], files };
}
