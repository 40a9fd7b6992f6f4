import type { Report } from './model.js';

/**
 * The end-of-build summary in the terminal: how much came from the cache, why the first misses happened (their
 * root causes, not every step that followed), and the advice. Empty when every step was a hit.
 */
export function renderTerminalSummary(report: Report): string {
  const { totals } = report;
  const lines = [`cache: ${totals.cached}/${totals.steps} steps cached, ${totals.missed} missed (${(totals.missedMs / 1000).toFixed(1)}s spent in missed steps)`];
  if (totals.missed === 0) return `${lines.join('\n')}\n`;
  const byId = new Map(report.steps.map((s) => [s.id, s]));
  const roots = new Set(report.steps.filter((s) => !s.cached).flatMap((s) => s.rootCauses));
  // Steps built for the first time say nothing about a change: one line for all of them.
  const isNew = (id: string) => byId.get(id)?.reasons.every((r) => r.reason.kind === 'new') === true;
  const fresh = [...roots].filter(isNew);
  // After an upgrade that changed the key recipe every step misses once: said once, not as steps never built.
  const rekeyed = fresh.filter((id) => byId.get(id)?.reasons.some((r) => r.reason.kind === 'new' && r.reason.recipe !== undefined) === true);
  const never = fresh.length - rekeyed.length;
  if (never > 0) lines.push(`  ${never} step${never > 1 ? 's' : ''} never built before on this root`);
  if (rekeyed.length > 0) lines.push(`  ${rekeyed.length} step${rekeyed.length > 1 ? 's' : ''} keyed by an earlier tsbuild, whose cache key recipe differs: built once again`);
  for (const id of roots) {
    const step = byId.get(id);
    if (!step || step.cached || isNew(id)) continue;
    const where = step.location ? `${step.location.label} ` : '';
    lines.push(`  miss ${where}${step.instruction.split('\n')[0] ?? ''}`);
    for (const r of step.reasons) lines.push(`       ${r.text}`);
  }
  for (const a of report.advice) {
    lines.push(`advice: ${a.message}`);
    if (a.suggestion.after) lines.push(...a.suggestion.after.split('\n').map((l) => `    ${l}`));
  }
  return `${lines.join('\n')}\n`;
}
