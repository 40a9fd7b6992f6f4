import type { BuildGraph } from '../../frontend/index.js';
import { displayText, keywordOf, sourceText } from '../report/instruction-text.js';

/**
 * Step labels as buildx shows them: `[build 2/4] COPY --from=deps /out ./` (stage name or index, position among the
 * stage's steps, the instruction as written in the Dockerfile when its text is known, else read back from history).
 * Vertices shared by several stages keep the label of the first stage that lists them.
 */
export function vertexLabels(graph: BuildGraph, dockerfileText?: string): Map<string, string> {
  const byId = new Map(graph.vertices.map((v) => [v.id, v]));
  const lines = dockerfileText?.split('\n');
  const labels = new Map<string, string>();
  const many = graph.stages.length > 1;
  for (const stage of graph.stages) {
    const name = stage.name ?? (many ? `stage-${stage.index}` : '');
    stage.vertices.forEach((id, i) => {
      const v = byId.get(id);
      if (!v || labels.has(id)) return;
      const shown = displayText(v.text);
      const written = v.location ? sourceText(lines, v.location.line, v.location.endLine, keywordOf(shown)) : undefined;
      const text = written?.replace(/\\\n\s*/g, ' ').replace(/\s+/g, ' ').trim() ?? shown;
      labels.set(id, `[${name ? `${name} ` : ''}${i + 1}/${stage.vertices.length}] ${text}`);
    });
  }
  return labels;
}
