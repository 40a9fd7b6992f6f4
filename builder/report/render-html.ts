import type { Advice } from './advice.js';
import { escapeHtml as h } from './escape-html.js';
import { formatBytes, formatMs, shortDigest } from './format.js';
import { REPORT_CSS, REPORT_JS } from './html-assets.js';
import { reasonsHtml } from './html-reasons.js';
import { contextHtml } from './html-context.js';
import type { Report, ReportStep } from './model.js';
import { oneLine } from './reorder-advice.js';
import { TITLES } from './render-markdown.js';
import { assignLanes } from './timeline-lanes.js';

/** The narrowest bar, as a share of the timeline's width (about 8 px on a laptop screen). */
const MIN_BAR_SHARE = 0.007;

type StepIndex = Map<string, { step: ReportStep; number: number }>;

/** The report as one self-contained HTML page: totals, a timeline, the steps with their reasons, the advice. */
export function renderHtml(report: Report): string {
  const index: StepIndex = new Map(report.steps.map((step, i) => [step.id, { step, number: i + 1 }]));
  const title = `tsbuild report ${report.build.id}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${h(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
${headerHtml(report)}
<h2>Timeline</h2>
${timelineHtml(report, index)}
${adviceHtml(report.advice, index)}
<h2>Steps</h2>
${stepsHtml(report, index)}
${contextHtml(report.context)}
</main>
<div id="tip" hidden></div>
<script>${REPORT_JS}</script>
</body>
</html>
`;
}

function headerHtml({ build, totals }: Report): string {
  const names = build.names.length > 0 ? build.names : build.tags;
  const meta = [
    `build <code>${h(build.id)}</code>`,
    `started ${h(build.started.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}`,
    ...(build.dockerfile !== undefined ? [`<code>${h(build.dockerfile)}</code>${build.target !== undefined ? ` target <code>${h(build.target)}</code>` : ''}`] : []),
    ...names.map((n) => `<code>${h(n)}</code>`),
    ...(build.resultDigest !== undefined ? [`digest <code title="${h(build.resultDigest)}">${h(shortDigest(build.resultDigest))}</code>`] : []),
    ...Object.entries(build.args).map(([k, v]) => `<code>--build-arg ${h(k)}=${h(v)}</code>`),
    ...(build.attestations?.length ? [`attestations ${build.attestations.map((a) => `<code title="${h(a.predicateTypes.join(', '))}">${h(shortDigest(a.digest))}</code>`).join(' ')}`] : []),
  ];
  const share = totals.steps > 0 ? Math.round((totals.cached / totals.steps) * 100) : 0;
  const registry = totals.registry;
  const cards = [
    card('Duration', formatMs(build.durationMs), `${totals.steps} steps`),
    card('Cached', `${totals.cached}`, `${share}% of steps`, 'hit', `<div class="ratio"><span style="width:${share}%"></span></div>`),
    card('Missed', `${totals.missed}`, `${formatMs(totals.missedMs)} running them`, 'miss'),
    card('New layers', formatBytes(totals.newLayerBytes), 'from missed steps'),
    ...(registry ? [card('Registry', `↑ ${formatBytes(registry.bytesUp)}`, `↓ ${formatBytes(registry.bytesDown)} · ${registry.requests} requests · ${registry.blobsUploaded} blobs up, ${registry.blobsMounted + registry.blobsSkipped} reused`)] : []),
  ];
  const error = build.error ? `<p class="panel" style="border-color:var(--miss)"><strong>Error${build.error.code !== undefined ? ` ${h(build.error.code)}` : ''}:</strong> ${h(build.error.message)}</p>` : '';
  return `<header><h1>tsbuild build report</h1><span class="pill ${h(build.status)}">${h(build.status)}</span></header>
<div class="meta">${meta.map((m) => `<span>${m}</span>`).join('')}</div>
<div class="cards">${cards.join('')}</div>${error}`;
}

function card(label: string, value: string, sub: string, kind = '', extra = ''): string {
  return `<div class="card ${kind}"><div class="label">${h(label)}</div><div class="value">${h(value)}</div><div class="sub">${h(sub)}</div>${extra}</div>`;
}

function timelineHtml(report: Report, index: StepIndex): string {
  const { steps } = report;
  if (steps.length === 0) return '<div class="panel empty">No steps ran.</div>';
  const total = Math.max(1, report.build.durationMs, ...steps.map((s) => s.endMs));
  const lanes = assignLanes(steps, total * MIN_BAR_SHARE);
  const laneCount = Math.max(...lanes) + 1;
  const pct = (ms: number) => ((ms / total) * 100).toFixed(3);
  const rows: string[][] = Array.from({ length: laneCount }, () => []);
  steps.forEach((s, i) => {
    const n = i + 1;
    const cls = s.cached ? 'hit' : 'miss';
    const label = `#${n} ${oneLine(s.instruction, 60)}`;
    rows[lanes[i] ?? 0]?.push(`<div class="bar ${cls}" data-step="${h(s.id)}" style="left:${pct(s.startMs)}%;width:${pct(Math.max(s.endMs - s.startMs, total * MIN_BAR_SHARE))}%" aria-label="${h(label)}">${h(label)}</div>`);
  });
  const tips = steps.map((s) => tipHtml(s, index)).join('');
  return `<div class="panel"><div class="timeline">
<div class="axis">${ticks(total).map((t) => `<span class="tick" style="left:${pct(t)}%">${h(formatMs(t))}</span>`).join('')}</div>
<div class="lanes">${rows.map((r) => `<div class="lane">${r.join('')}</div>`).join('\n')}</div>
</div>
<div class="legend"><span><span class="swatch hit"></span>cached</span><span><span class="swatch miss"></span>missed (ran)</span><span>parallel steps run on separate lanes · hover a bar for details, click to find its row</span></div>
${tips}</div>`;
}

/** Round tick positions, about 6–10 of them. */
function ticks(total: number): number[] {
  const raw = total / 8;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = 0; t <= total * 1.0001; t += step) out.push(t);
  return out;
}

function tipHtml(s: ReportStep, index: StepIndex): string {
  const n = index.get(s.id)?.number ?? 0;
  const facts = [s.cached ? (s.cacheRef ? `cached (remote cache ${s.cacheRef})` : 'cached') : 'missed', formatMs(s.durationMs), `at +${formatMs(s.startMs)}`, ...(s.size > 0 ? [formatBytes(s.size)] : []), ...(s.location ? [s.location.label] : [])];
  return `<div class="tip-content" id="tip-${h(s.id)}"><div class="tip-title">#${n} ${h(oneLine(s.instruction, 160))}</div><div class="muted">${facts.map(h).join(' · ')}</div>${s.cached ? '' : reasonsHtml(s, index)}</div>`;
}

function stepsHtml(report: Report, index: StepIndex): string {
  const maxMs = Math.max(1, ...report.steps.map((s) => s.durationMs));
  const maxSize = Math.max(1, ...report.steps.map((s) => s.size));
  const rows = report.steps.map((s, i) => {
    const stage = s.stage.name ?? `stage ${s.stage.index}`;
    const loc = s.location ? `<div class="loc" title="${h(s.location.file)}">${h(s.location.label)}</div>` : '';
    const size = s.size > 0 ? `${h(formatBytes(s.size))}<div class="mini size" style="width:${((s.size / maxSize) * 100).toFixed(1)}%"></div>` : '<span class="muted">–</span>';
    return `<tr id="step-${h(s.id)}" data-step="${h(s.id)}" class="${s.cached ? 'hit-row' : 'miss-row'}">
<td class="num">#${i + 1}</td><td><span class="status ${s.cached ? 'hit' : 'miss'}">${s.cached ? (s.cacheRef ? `✓ cached (remote ${h(s.cacheRef)})` : '✓ cached') : '✗ missed'}</span></td>
<td class="stage">${h(stage)}</td><td><pre class="instr"><code>${h(s.instruction)}</code></pre>${loc}</td>
<td class="num">${h(formatMs(s.durationMs))}<div class="mini" style="width:${((s.durationMs / maxMs) * 100).toFixed(1)}%"></div></td>
<td class="num">${size}</td><td class="num">+${h(formatMs(s.startMs))}</td><td>${reasonsHtml(s, index)}</td></tr>`;
  });
  return `<div class="controls"><label><input type="checkbox" id="only-missed"> only missed steps</label></div>
<table class="steps"><thead><tr><th class="num">#</th><th>Cache</th><th>Stage</th><th>Instruction</th><th class="num">Time</th><th class="num">Layer</th><th class="num">Start</th><th>Why it ran</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

function adviceHtml(advice: readonly Advice[], index: StepIndex): string {
  if (advice.length === 0) return '';
  const cards = advice.map((a) => {
    const saved = a.savedMs > 0 ? `<span class="saved">saves ~${h(formatMs(a.savedMs))}</span>` : '';
    const steps = a.steps.map((id) => `<a class="step-link" href="#step-${h(id)}" data-step="${h(id)}">#${index.get(id)?.number ?? '?'}</a>`).join(' ');
    const { before, after } = a.suggestion;
    const snippets = before !== undefined || after !== undefined
      ? `<div class="snippets">${snippet('Before', before)}${snippet('After', after)}</div>` : '';
    return `<section class="panel advice ${h(a.severity)}" data-kind="${h(a.kind)}"><h3>${a.severity === 'warning' ? '⚠️' : 'ℹ️'} ${h(TITLES[a.kind])} ${saved}</h3>
<p>${inlineCode(a.message)}</p><p>${inlineCode(a.suggestion.text)}</p>${snippets}<p class="muted">steps: ${steps}</p></section>`;
  });
  return `<h2>Advice</h2>\n${cards.join('\n')}`;
}

function snippet(label: string, text: string | undefined): string {
  return text === undefined ? '<div></div>' : `<div><div class="label">${h(label)}</div><pre class="snippet"><code>${h(text)}</code></pre></div>`;
}

/** Escapes, then turns the advice's `code` spans into <code>. */
function inlineCode(text: string): string {
  return h(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}
