import { Graph, alg } from '@dagrejs/graphlib';
import type { BuildGraph, Vertex, VertexId } from '../frontend/index.js';

/**
 * Checks that `graph` is a DAG whose every input is one of its vertices, and returns the vertex ids in an order
 * where each comes after its inputs. A violation is a frontend bug, so it throws a plain Error.
 */
export function checkGraph(graph: BuildGraph): VertexId[] {
  const g = new Graph({ directed: true });
  for (const v of graph.vertices) {
    if (g.hasNode(v.id)) throw new Error(`build graph: duplicate vertex id ${v.id}`);
    g.setNode(v.id);
  }
  for (const v of graph.vertices) {
    for (const input of v.inputs) {
      if (!g.hasNode(input)) throw new Error(`build graph: vertex ${v.id} has unknown input ${input}`);
      g.setEdge(input, v.id);
    }
  }
  if (!alg.isAcyclic(g)) throw new Error(`build graph: cycle through ${alg.findCycles(g).map((c) => c.join(' → ')).join('; ')}`);
  return alg.topsort(g);
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
