import type { BuildGraph, Vertex } from '../../frontend/index.js';

/**
 * The vertices `graph`'s target needs: its result and everything it reads (parents, COPY --from, mounts), in graph
 * order. In a multi-platform graph this is one platform's part (plus nothing of the others').
 */
export function neededVertices(graph: BuildGraph): Vertex[] {
  const byId = new Map(graph.vertices.map((v) => [v.id, v]));
  const result = graph.stages[graph.target]?.result;
  const seen = new Set<string>();
  const stack = result !== undefined ? [result] : [];
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(byId.get(id)?.inputs ?? []));
  }
  return graph.vertices.filter((v) => seen.has(v.id));
}
