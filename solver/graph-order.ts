import type { BuildGraph, Vertex, VertexId } from '../frontend/index.js';

/**
 * Checks that `graph` is a DAG whose every input is one of its vertices, and returns the vertex ids in an order
 * where each comes after its inputs (Kahn's algorithm, in the graph's own order where it can: iterative, so a
 * Dockerfile of 100,000 instructions cannot overflow the stack as a recursive topological sort did). A violation is a
 * frontend bug, so it throws a plain Error.
 */
export function checkGraph(graph: BuildGraph): VertexId[] {
  const waiting = new Map<VertexId, number>();
  const readers = new Map<VertexId, VertexId[]>();
  for (const v of graph.vertices) {
    if (waiting.has(v.id)) throw new Error(`build graph: duplicate vertex id ${v.id}`);
    waiting.set(v.id, 0);
    readers.set(v.id, []);
  }
  for (const v of graph.vertices) {
    for (const input of v.inputs) {
      const list = readers.get(input);
      if (list === undefined) throw new Error(`build graph: vertex ${v.id} has unknown input ${input}`);
      if (list.at(-1) === v.id) continue;   // the same input twice is one edge
      list.push(v.id);
      waiting.set(v.id, (waiting.get(v.id) ?? 0) + 1);
    }
  }
  const ready = graph.vertices.filter((v) => waiting.get(v.id) === 0).map((v) => v.id).reverse();
  const order: VertexId[] = [];
  for (let id = ready.pop(); id !== undefined; id = ready.pop()) {
    order.push(id);
    const next = readers.get(id) ?? [];
    for (let i = next.length - 1; i >= 0; i--) {
      const r = next[i] ?? '';
      const left = (waiting.get(r) ?? 0) - 1;
      waiting.set(r, left);
      if (left === 0) ready.push(r);
    }
  }
  if (order.length !== graph.vertices.length) {
    const stuck = graph.vertices.filter((v) => (waiting.get(v.id) ?? 0) > 0).map((v) => v.id);
    throw new Error(`build graph: cycle through ${stuck.join(' → ')}`);
  }
  return order;
}

/**
 * Where a step sits, stable across edits elsewhere in the Dockerfile: the Dockerfile path, the stage's name (or its
 * index when unnamed) and the step's position in that stage. "The last build of this step" is the last key stored
 * under its locator.
 */
export function locatorOf(graph: BuildGraph, vertex: Vertex, prefix = ''): string {
  const file = vertex.location?.file ?? 'Dockerfile';
  const stage = graph.stages.find((s) => s.index === vertex.stage);
  const position = stage === undefined ? -1 : stage.vertices.indexOf(vertex.id);
  const stageName = stage?.name ?? String(vertex.stage);
  return position < 0 ? `${prefix}${file}#${vertex.id}` : `${prefix}${file}#${stageName}/${position}`;
}

/**
 * locatorOf() without the machine: the Dockerfile's base name instead of its path, so a record exported by one
 * runner names the same step on another (remote cache records carry it to explain misses on a fresh root).
 */
export function portableLocatorOf(graph: BuildGraph, vertex: Vertex): string {
  const file = vertex.location?.file ?? 'Dockerfile';
  const base = file.slice(file.lastIndexOf('/') + 1);
  return locatorOf(graph, vertex.location === undefined ? vertex : { ...vertex, location: { ...vertex.location, file: base } });
}
