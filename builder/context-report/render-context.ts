import { formatBytes as humanBytes } from '../report/format.js';
import { excludedText, type ContextReport } from './context-report.js';

/** `tsbuild context` as text. */
export function renderContextText(r: ContextReport): string {
  const lines = [`context: ${r.sent.files} files, ${humanBytes(r.sent.bytes)} sent; .dockerignore excluded ${excludedText(r, humanBytes)}`];
  lines.push('sent, by top-level entry:');
  for (const p of r.parts) lines.push(`  ${p.path.padEnd(24)} ${String(p.files).padStart(6)} files ${humanBytes(p.bytes).padStart(10)}   ${p.readBy.length ? `read by ${p.readBy.join(', ')}` : 'read by no COPY'}`);
  const unscanned = r.excluded.unscanned ?? [];
  if (r.excluded.parts.length || unscanned.length) {
    lines.push('excluded by .dockerignore:');
    for (const p of r.excluded.parts) lines.push(`  ${p.path.padEnd(24)} ${String(p.files).padStart(6)} files ${humanBytes(p.bytes).padStart(10)}`);
    for (const d of unscanned) lines.push(`  ${d.padEnd(24)} (not walked)`);
  }
  lines.push('largest files sent:');
  for (const f of r.largest) lines.push(`  ${humanBytes(f.bytes).padStart(10)}  ${f.path}`);
  for (const s of r.suggestions) {
    const swept = s.sweptBy.length ? `; only swept in by ${s.sweptBy.join(', ')}` : '';
    lines.push(`suggest: add "${s.pattern}" to .dockerignore: ${s.files} files, ${humanBytes(s.bytes)} no COPY names${swept}`);
  }
  for (const c of r.copies) {
    lines.push(`${c.label} ${c.instruction}: ${c.files} files, ${humanBytes(c.bytes)}${c.isBroad ? ' (the whole context)' : ''}`);
    const runs = c.after.filter((a) => a.durationMs !== undefined);
    if (c.isBroad && runs.length) lines.push(`    re-runs when any of them changes: ${runs.map((a) => `${a.label} ${a.instruction} (${((a.durationMs ?? 0) / 1000).toFixed(1)} s)`).join(', ')}`);
    if (c.churn.length) lines.push(`    changed most often in ${r.builds} recorded builds: ${c.churn.map((x) => `${x.path} (${x.changes}×)`).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
