import type { BuildGraph, RunMount } from '../../frontend/index.js';
import { neededVertices } from '../attest/needed-vertices.js';

/**
 * The cache mounts of the RUN steps a build runs uncached: every step of the target's with --no-cache, the steps of
 * the --no-cache-filter stages (by index or name, as the solver's #isForced reads them) otherwise. These are the
 * caches BuildKit's IgnoreCache empties (worker/exec/cache-mount.ts resetCacheMounts); a step run again only because
 * an input changed keeps its cache, as there.
 */
export function uncachedCacheMounts(graphs: BuildGraph[], noCache: boolean, noCacheFilter: string[]): Extract<RunMount, { type: 'cache' }>[] {
  if (!noCache && noCacheFilter.length === 0) return [];
  const filter = new Set(noCacheFilter.map((f) => f.toLowerCase()));
  return graphs.flatMap((graph) => neededVertices(graph).flatMap((v) => {
    const stage = graph.stages.find((s) => s.index === v.stage);
    const isUncached = noCache || (stage !== undefined && (filter.has(String(stage.index)) || (stage.name !== undefined && filter.has(stage.name))));
    if (!isUncached || v.op.kind !== 'exec') return [];
    return v.op.mounts.filter((m) => m.type === 'cache');
  }));
}
