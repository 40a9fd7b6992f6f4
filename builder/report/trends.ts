import { basename } from 'node:path';
import type { BuildRecord, MissReason } from '../../solver/index.js';
import { describeReason } from './describe-reason.js';
import { escapeHtml as h } from './escape-html.js';
import { displayText } from './instruction-text.js';

/** One build in a trend: how much of it came from the cache. */
export interface TrendBuild { id: string; started: string; status: BuildRecord['status']; steps: number; cached: number; hitRate: number; missedMs: number }

/** One step across the builds: how often it hit, why it missed, and the time its misses cost. */
export interface TrendStep {
  /** `Dockerfile:LINE` (or the vertex id of a step with no line). */
  label: string;
  instruction: string;
  builds: number;
  hits: number;
  misses: number;
  hitRate: number;
  /** Time spent running it when it missed, summed over the builds. */
  missedMs: number;
  /** Its miss reasons by kind, most frequent first, each with the latest sentence. */
  reasons: { kind: MissReason['kind']; count: number; example: string }[];
  /** Per build (oldest first): true hit, false miss, null absent. */
  history: (boolean | null)[];
}

/** `tsbuild report --last N`: the cache behaviour of a Dockerfile over its recorded builds. Plain data. */
export interface Trends { dockerfile?: string; builds: TrendBuild[]; steps: TrendStep[] }

/** The trends of `records` (one Dockerfile's builds, oldest first). Pure. */
export function buildTrends(records: BuildRecord[]): Trends {
  const steps = new Map<string, TrendStep>();
  const reasonCounts = new Map<string, Map<MissReason['kind'], { count: number; example: string }>>();
  records.forEach((r, i) => {
    for (const v of r.vertices) {
      const label = v.location ? `${basename(v.location.file)}:${v.location.line}` : v.id;
      const step = steps.get(label) ?? { label, instruction: displayText(v.text), builds: 0, hits: 0, misses: 0, hitRate: 0, missedMs: 0, reasons: [], history: records.map(() => null) };
      step.builds++;
      step.history[i] = v.cached;
      if (v.cached) step.hits++;
      else {
        step.misses++;
        step.missedMs += v.durationMs;
        const counts = reasonCounts.get(label) ?? new Map();
        for (const reason of v.reasons) {
          const c = counts.get(reason.kind) ?? { count: 0, example: '' };
          counts.set(reason.kind, { count: c.count + 1, example: describeReason(reason) });
        }
        reasonCounts.set(label, counts);
      }
      steps.set(label, step);
    }
  });
  for (const step of steps.values()) {
    step.hitRate = step.builds === 0 ? 0 : step.hits / step.builds;
    step.reasons = [...(reasonCounts.get(step.label) ?? new Map<MissReason['kind'], { count: number; example: string }>())]
      .map(([kind, c]) => ({ kind, ...c })).sort((a, b) => b.count - a.count);
  }
  const last = records[records.length - 1];
  return {
    ...(last?.dockerfile !== undefined ? { dockerfile: last.dockerfile } : {}),
    builds: records.map((r) => {
      const cached = r.vertices.filter((v) => v.cached).length;
      return {
        id: r.id, started: new Date(r.started).toISOString(), status: r.status, steps: r.vertices.length, cached,
        hitRate: r.vertices.length === 0 ? 0 : cached / r.vertices.length,
        missedMs: r.vertices.filter((v) => !v.cached).reduce((n, v) => n + v.durationMs, 0),
      };
    }),
    steps: [...steps.values()].sort((a, b) => b.missedMs - a.missedMs || b.misses - a.misses),
  };
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;
const minutes = (ms: number): string => `${(ms / 60_000).toFixed(2)} min`;

/** The trends as text: one line per build, then the steps that cost the most. */
export function renderTrendsText(t: Trends): string {
  const lines = [`cache trends over ${t.builds.length} builds${t.dockerfile ? ` of ${t.dockerfile}` : ''}:`];
  for (const b of t.builds) lines.push(`  ${b.started}  ${b.id.slice(0, 12)}  ${b.status.padEnd(9)} ${b.cached}/${b.steps} cached (${pct(b.hitRate)}), ${minutes(b.missedMs)} in missed steps`);
  lines.push('steps by time lost to misses:');
  for (const s of t.steps.filter((x) => x.misses > 0)) {
    const marks = s.history.map((x) => (x === null ? ' ' : x ? '✓' : '✗')).join('');
    lines.push(`  ${s.label.padEnd(16)} ${marks}  hit ${pct(s.hitRate)}, missed ${s.misses}×, ${minutes(s.missedMs)} lost  ${s.instruction.split('\n')[0] ?? ''}`);
    for (const r of s.reasons.slice(0, 2)) lines.push(`      ${r.count}× ${r.example}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The trends as a self-contained HTML page with an inline SVG chart (hit rate per build; no external assets). */
export function renderTrendsHtml(t: Trends): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>tsbuild cache trends</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#1f2328}table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #d1d9e0;text-align:left}.num{text-align:right}code{font:12px ui-monospace,monospace}</style>
</head><body>
<h1>Cache trends</h1>
<p>${t.builds.length} builds${t.dockerfile ? ` of <code>${h(t.dockerfile)}</code>` : ''}</p>
${trendsSectionHtml(t)}
</body></html>
`;
}

/** The trend chart and table, for a report page. */
export function trendsSectionHtml(t: Trends): string {
  const W = 600;
  const H = 160;
  const n = t.builds.length;
  const x = (i: number): number => (n <= 1 ? W / 2 : 30 + (i * (W - 60)) / (n - 1));
  const y = (rate: number): number => H - 20 - rate * (H - 40);
  const points = t.builds.map((b, i) => `${x(i).toFixed(1)},${y(b.hitRate).toFixed(1)}`).join(' ');
  const dots = t.builds.map((b, i) => `<circle class="build" data-build="${h(b.id)}" data-hit-rate="${b.hitRate.toFixed(3)}" cx="${x(i).toFixed(1)}" cy="${y(b.hitRate).toFixed(1)}" r="4" fill="#1a7f37"><title>${h(b.id.slice(0, 12))}: ${pct(b.hitRate)}</title></circle>`).join('');
  const svg = `<svg id="hit-rate-chart" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="cache hit rate per build">
<line x1="30" y1="${y(0)}" x2="${W - 30}" y2="${y(0)}" stroke="#d1d9e0"/><line x1="30" y1="${y(1)}" x2="${W - 30}" y2="${y(1)}" stroke="#d1d9e0"/>
<text x="0" y="${y(1) + 4}" font-size="10">100%</text><text x="8" y="${y(0) + 4}" font-size="10">0%</text>
<polyline fill="none" stroke="#1a7f37" stroke-width="2" points="${points}"/>${dots}</svg>`;
  const rows = t.steps.map((s) => `<tr class="trend-step" data-label="${h(s.label)}"><td>${h(s.label)}</td><td><code>${h(s.instruction.split('\n')[0] ?? '')}</code></td><td class="num">${pct(s.hitRate)}</td><td class="num">${s.misses}</td><td class="num">${h(minutes(s.missedMs))}</td><td>${s.reasons.slice(0, 2).map((r) => `${r.count}× ${h(r.example)}`).join('<br>')}</td></tr>`);
  return `<section id="trends"><h2>Cache trends</h2>${svg}
<table><thead><tr><th>step</th><th>instruction</th><th>hit rate</th><th>misses</th><th>time lost</th><th>usual reasons</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}
