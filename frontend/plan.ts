import type { BuildGraph, Op } from './graph.js';
import { assertNever } from './graph.js';

// Human views of a compiled graph, for `tsbuild plan` (JSON is JSON.stringify of the graph itself).

function opSummary(op: Op): string {
  switch (op.kind) {
    case 'image': return `image ${op.ref}@${op.digest.slice(0, 19)}`;
    case 'scratch': return 'scratch';
    case 'exec': return `exec ${JSON.stringify(op.argv)} cwd=${op.cwd}${op.user ? ` user=${op.user}` : ''}${op.mounts.length ? ` mounts=${op.mounts.length}` : ''}`;
    case 'copy': return `${op.mode} ${op.from.kind === 'vertex' ? `from ${op.from.id} ` : op.from.kind === 'inline' ? 'inline ' : ''}${JSON.stringify(op.sources)} → ${op.dest}`;
    case 'mkdir': return `mkdir ${op.path}`;
    case 'meta': return `meta ${Object.keys(op.change).join(',') || (op.author !== undefined ? 'author' : '-')}`;
    default: return assertNever(op);
  }
}

/** One line per vertex, grouped by stage: id, the instruction's history text, its inputs and build args. */
export function planText(graph: BuildGraph): string {
  const lines: string[] = [];
  const byId = new Map(graph.vertices.map((v) => [v.id, v]));
  graph.stages.forEach((stage, i) => {
    const title = `stage ${stage.index}${stage.name ? ` (${stage.name})` : ''}${i === graph.target ? ' [target]' : ''}`;
    lines.push(title);
    for (const v of graph.vertices.filter((x) => x.stage === stage.index)) {
      const args = Object.entries(v.args).map(([k, val]) => `${k}=${val}`).join(' ');
      const extra = v.inputs.slice(1);
      lines.push(`  ${v.id.padEnd(8)} ${v.text}`);
      lines.push(`  ${' '.repeat(8)} ${opSummary(v.op)}${extra.length ? ` ← ${extra.join(', ')}` : ''}${args ? ` args: ${args}` : ''}`);
    }
    if (!byId.has(stage.vertices[0] ?? '') || byId.get(stage.vertices[0] ?? '')?.stage !== stage.index) lines.push(`  (starts from ${stage.vertices[0] ?? '?'})`);
  });
  return lines.join('\n') + '\n';
}

/** Graphviz DOT: one cluster per stage, an edge per input (dashed for COPY --from and mount sources). */
export function planDot(graph: BuildGraph): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = ['digraph build {', '  rankdir=TB;', '  node [shape=box, fontname="monospace"];'];
  for (const stage of graph.stages) {
    lines.push(`  subgraph ${q(`cluster_s${stage.index}`)} {`, `    label=${q(stage.name ?? `stage ${stage.index}`)};`);
    for (const v of graph.vertices.filter((x) => x.stage === stage.index)) {
      lines.push(`    ${q(v.id)} [label=${q(`${v.id}\n${v.text.length > 60 ? v.text.slice(0, 57) + '...' : v.text}`)}];`);
    }
    lines.push('  }');
  }
  for (const v of graph.vertices) {
    v.inputs.forEach((input, i) => lines.push(`  ${q(input)} -> ${q(v.id)}${i > 0 ? ' [style=dashed]' : ''};`));
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
