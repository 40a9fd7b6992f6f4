import type { BuildGraph } from '../../frontend/index.js';
import { displayText } from '../report/instruction-text.js';

/**
 * Step labels as buildx shows them: `[build 2/4] COPY src/ ./` (stage name or index, position among the stage's
 * steps). Vertices shared by several stages keep the label of the first stage that lists them.
 */
export function vertexLabels(graph: BuildGraph): Map<string, string> {
  const byId = new Map(graph.vertices.map((v) => [v.id, v]));
  const labels = new Map<string, string>();
  const many = graph.stages.length > 1;
  for (const stage of graph.stages) {
    const name = stage.name ?? (many ? `stage-${stage.index}` : '');
    stage.vertices.forEach((id, i) => {
      const v = byId.get(id);
      if (!v || labels.has(id)) return;
      labels.set(id, `[${name ? `${name} ` : ''}${i + 1}/${stage.vertices.length}] ${displayText(v.text)}`);
    });
  }
  return labels;
}
