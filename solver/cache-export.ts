import type { BuildGraph, VertexId } from '../frontend/index.js';
import type { Digest } from '../registry/oci/index.js';
import type { CacheKey, CacheKeyParts } from './cache-key.js';
import { portableLocatorOf } from './graph-order.js';
import { chainOf } from './materialize.js';
import type { ContentDigest, ContentFiles, FsState, LayerRef } from './ports.js';

/** `min`: the target stage's chain only (what the final image is made of); `max`: every vertex of every stage. */
export type CacheExportMode = 'min' | 'max';

/** One step's result as another runner can reuse it. */
export interface ExportRecord {
  key: Digest;
  parts: CacheKeyParts;
  /** Dockerfile base name, stage and position: lets a fresh runner explain a miss against this record. */
  locator: string;
  /** The whole filesystem, bottom first. */
  layers: LayerRef[];
  size: number;
  /** When the result was first built (epoch ms): the image times of a runner that takes it from the cache. */
  created?: number;
  /** The per-file digests behind the key's content: a runner that misses against this key names the files that changed. */
  files?: ContentFiles;
}

/**
 * What a COPY `selector` takes from a filesystem (its content digest), so a runner can key a COPY --from without
 * that filesystem's bytes. The filesystem is named by `chain` (its layers: a result the cache holds) and by `source`
 * (the cache key of the step that made it): with mode=min the build stages' results are not exported, but a runner
 * that never builds such a stage still keys the final stage's COPY --from it, as BuildKit's exported cache keys let
 * its solver do. At least one of the two is set.
 */
export interface ContentFact { chain?: Digest; source?: Digest; selector: Digest; digest: ContentDigest }

/** What a solve can share through a remote cache. Plain data; builder/cache serialises it. */
export interface CacheExport { records: ExportRecord[]; contents: ContentFact[] }

/** The part of a solve result that cacheExport() reads. */
export interface ExportSource {
  results: Record<VertexId, FsState>;
  keys: Record<VertexId, CacheKey>;
  sizes: Record<VertexId, number>;
  contents: ContentFact[];
  /** When each result was first built (epoch ms), where known. */
  builtAt?: Record<VertexId, number>;
  /** The per-file digests behind each vertex's content, where it read files (SolveResult.files). */
  files?: Record<VertexId, ContentFiles>;
}

/**
 * The records to share for `mode`, one per key, in graph order, with the content facts about the exported
 * filesystems. Pure.
 */
export function cacheExport(graph: BuildGraph, solved: ExportSource, mode: CacheExportMode): CacheExport {
  const scope = mode === 'max' ? new Set(graph.vertices.map((v) => v.id)) : targetChain(graph);
  const records: ExportRecord[] = [];
  const seen = new Set<Digest>();
  for (const v of graph.vertices) {
    const key = solved.keys[v.id];
    const fs = solved.results[v.id];
    if (!scope.has(v.id) || key === undefined || fs === undefined || seen.has(key.digest)) continue;
    seen.add(key.digest);
    const created = solved.builtAt?.[v.id];
    const files = solved.files?.[v.id];
    records.push({
      key: key.digest, parts: key.parts, locator: portableLocatorOf(graph, v), layers: fs.layers, size: solved.sizes[v.id] ?? 0,
      ...(created !== undefined ? { created } : {}), ...(files !== undefined && Object.keys(files).length > 0 ? { files } : {}),
    });
  }
  const chains = new Set(records.map((r) => chainOf(r.layers)));
  // A fact over a filesystem this export does not hold is still of use by the key of the step that made it.
  const contents = solved.contents.flatMap((c): ContentFact[] => {
    if (c.chain !== undefined && chains.has(c.chain)) return [c];
    return c.source === undefined ? [] : [{ source: c.source, selector: c.selector, digest: c.digest }];
  });
  return { records, contents };
}

/** The key a content fact is known by in a set of facts: one entry per filesystem name and selector. */
export function contentFactId(c: ContentFact): string {
  return `${c.chain ?? ''} ${c.source ?? ''} ${c.selector}`;
}

/** The target stage's (or `target`'s) result and its parents, down to its FROM (through the stages it is built on). */
export function targetChain(graph: BuildGraph, target = graph.target): Set<VertexId> {
  const byId = new Map(graph.vertices.map((v) => [v.id, v]));
  const out = new Set<VertexId>();
  let id = graph.stages[target]?.result;
  while (id !== undefined && !out.has(id)) {
    out.add(id);
    id = byId.get(id)?.inputs[0];
  }
  return out;
}
