import type { Advice } from './advice.js';
import { formatBytes, formatMs, shortDigest, shortReason, stepNumbers } from './format.js';
import type { Report, ReportStep } from './model.js';
import { oneLine } from './reorder-advice.js';
import type { Trends } from './trends.js';
import { excludedText, type ContextReport } from '../context-report/context-report.js';

// GitHub-flavoured Markdown for CI job summaries ($GITHUB_STEP_SUMMARY) and pull-request comments: a summary table,
// one row per step, the advice with Dockerfile snippets. Everything from the user (instructions, file names, arg
// values) is escaped so it cannot break a table or inject HTML.

/** The report as GitHub-flavoured Markdown. */
export function renderMarkdown(report: Report): string {
  const { build, totals } = report;
  const icon = build.status === 'succeeded' ? '✅' : build.status === 'cancelled' ? '⏹️' : '❌';
  const out: string[] = [
    `## ${icon} tsbuild: ${build.status} in ${formatMs(build.durationMs)}, ${totals.cached}/${totals.steps} steps cached`,
    '',
    '| | |',
    '|---|---|',
    `| Build | ${code(build.id)} |`,
  ];
  if (build.dockerfile !== undefined) out.push(`| Dockerfile | ${code(build.dockerfile)}${build.target !== undefined ? ` (target ${code(build.target)})` : ''} |`);
  const names = build.names.length > 0 ? build.names : build.tags;
  if (names.length > 0 || build.resultDigest !== undefined) {
    out.push(`| Image | ${[...names.map(code), ...(build.resultDigest !== undefined ? [code(shortDigest(build.resultDigest))] : [])].join(' ')} |`);
  }
  if (build.attestations?.length) out.push(`| Attestations | ${build.attestations.map((a) => `${attestationKinds(a.predicateTypes)} ${code(shortDigest(a.digest))}`).join(', ')} |`);
  const args = Object.entries(build.args);
  if (args.length > 0) out.push(`| Build args | ${args.map(([k, v]) => code(`${k}=${v}`)).join(' ')} |`);
  out.push(`| Cache | ${totals.cached} cached, ${totals.missed} missed (${formatMs(totals.missedMs)} in missed steps) |`);
  out.push(`| New layers | ${formatBytes(totals.newLayerBytes)} |`);
  if (totals.registry) {
    const r = totals.registry;
    out.push(`| Registry | ↑ ${formatBytes(r.bytesUp)}, ↓ ${formatBytes(r.bytesDown)}, ${r.requests} requests, ${r.blobsUploaded} blobs uploaded, ${r.blobsMounted} mounted, ${r.blobsSkipped} already there |`);
  }
  if (build.error) out.push(`| Error | ${cell(build.error.message)}${build.error.code !== undefined ? ` (${code(build.error.code)})` : ''} |`);
  out.push('', ...stepsTable(report.steps));
  if (report.advice.length > 0) out.push('', '### Advice', '', ...report.advice.flatMap(adviceSection));
  if (report.context !== undefined) out.push('', ...contextSection(report.context));
  return `${out.join('\n')}\n`;
}

/** How many top-level entries of the context the Markdown lists (the largest); the HTML and JSON have them all. */
const CONTEXT_PARTS = 8;

/** "Build context": what was sent, by top-level entry, and the .dockerignore lines that would send less. */
function contextSection(c: ContextReport): string[] {
  const excluded = c.excluded.files > 0 || (c.excluded.unscanned ?? []).length > 0 ? `; .dockerignore kept out ${excludedText(c, formatBytes)}` : '';
  const out = ['### Build context', '', `Sent ${c.sent.files} files, ${formatBytes(c.sent.bytes)}${excluded}.`, ''];
  if (c.parts.length > 0) {
    out.push('| Entry | Files | Size | Read by |', '|---|--:|--:|---|');
    for (const p of c.parts.slice(0, CONTEXT_PARTS)) out.push(`| ${code(p.path)} | ${p.files} | ${formatBytes(p.bytes)} | ${p.readBy.length > 0 ? p.readBy.map(code).join(' ') : 'no COPY'} |`);
    const rest = c.parts.slice(CONTEXT_PARTS);
    if (rest.length > 0) out.push(`| ${rest.length} more | ${rest.reduce((n, p) => n + p.files, 0)} | ${formatBytes(rest.reduce((n, p) => n + p.bytes, 0))} | |`);
    out.push('');
  }
  for (const s of c.suggestions) {
    const swept = s.sweptBy.length > 0 ? `; only ${s.sweptBy.map(code).join(', ')} sweeps it in` : '';
    out.push(`- 💡 add ${code(s.pattern)} to \`.dockerignore\`: ${s.files} files, ${formatBytes(s.bytes)} that no COPY names${swept}`);
  }
  if (c.suggestions.length > 0) out.push('');
  return out;
}

/** `tsbuild report --last N --format md`: one row per build, then the steps that lost the most time to misses. */
export function renderTrendsMarkdown(t: Trends): string {
  const pct = (x: number): string => `${Math.round(x * 100)}%`;
  const out = [`## tsbuild: cache trends over ${t.builds.length} builds${t.dockerfile !== undefined ? ` of ${code(t.dockerfile)}` : ''}`, '',
    '| Build | Started | Status | Cached | Hit rate | In missed steps |', '|---|---|---|--:|--:|--:|'];
  for (const b of t.builds) out.push(`| ${code(b.id.slice(0, 12))} | ${b.started} | ${b.status} | ${b.cached}/${b.steps} | ${pct(b.hitRate)} | ${formatMs(b.missedMs)} |`);
  const missed = t.steps.filter((s) => s.misses > 0);
  out.push('', '### Steps by time lost to misses', '');
  if (missed.length === 0) out.push('Every step hit in every build.');
  else {
    out.push('| Step | Instruction | Builds (oldest first) | Hit rate | Misses | Time lost | Usual reasons |', '|---|---|---|--:|--:|--:|---|');
    for (const s of missed) {
      const marks = s.history.map((x) => (x === null ? '·' : x ? '✅' : '❌')).join('');
      const reasons = s.reasons.slice(0, 2).map((r) => cell(`${r.count}× ${r.example}`)).join('<br>');
      out.push(`| ${code(s.label)} | ${code(oneLine(s.instruction, 70))} | ${marks} | ${pct(s.hitRate)} | ${s.misses} | ${formatMs(s.missedMs)} | ${reasons} |`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** `provenance + sbom` from in-toto predicate types. */
function attestationKinds(types: string[]): string {
  return types.map((t) => (t.includes('slsa.dev/provenance') ? 'provenance' : t.includes('spdx.dev') ? 'sbom' : t)).filter((k, i, all) => all.indexOf(k) === i).join(' + ');
}

function stepsTable(steps: readonly ReportStep[]): string[] {
  const numbers = stepNumbers(steps);
  const rows = steps.map((s, i) => {
    const ran = s.reasons.map((r) => cell(shortReason(r, numbers)));
    // The step that failed the build (a failed build's record has it): its error first, then why it ran.
    const failed = s.error !== undefined ? [`**failed:** ${cell(oneLine(s.error, 200))}`] : [];
    const why = s.cached ? (s.cacheRef ? cell(`cached (remote cache ${s.cacheRef})`) : 'cached') : [...failed, ...ran].join('<br>');
    const where = s.location ? ` ${code(s.location.label)}` : '';
    // Multi-platform builds list each step once per platform: say which (stage names carry it, `linux/arm64 build`).
    const platform = /^(.+):s\d+\./.exec(s.id)?.[1];
    const on = platform !== undefined ? ` ${code(platform)}` : '';
    return `| ${s.error !== undefined ? '💥' : s.cached ? '✅' : '❌'} | #${i + 1}${where}${on} | ${code(oneLine(s.instruction, 70))} | ${formatMs(s.durationMs)} | ${s.size > 0 ? formatBytes(s.size) : ''} | ${why} |`;
  });
  return ['### Steps', '', '| | Step | Instruction | Time | Layer | Why it ran |', '|---|---|---|--:|--:|---|', ...rows];
}

function adviceSection(advice: Advice): string[] {
  const saved = advice.savedMs > 0 ? ` (saves ~${formatMs(advice.savedMs)})` : '';
  const out = [`#### ${advice.severity === 'warning' ? '⚠️' : 'ℹ️'} ${TITLES[advice.kind]}${saved}`, '', text(advice.message), '', text(advice.suggestion.text), ''];
  const { before, after } = advice.suggestion;
  if (before !== undefined) out.push('Before:', '', ...fence(before), '');
  if (after !== undefined) out.push('After:', '', ...fence(after), '');
  return out;
}

/** Advice titles, by kind. */
export const TITLES: Record<Advice['kind'], string> = {
  'reorder-copy': 'Copy dependency manifests before installing',
  'late-arg': 'Declare the build arg later',
  'pin-base': 'Pin the base image by digest',
  'no-cache': 'The cache was disabled',
  'file-modes': 'Check files out with the same permissions',
};

/** A fenced dockerfile block; the fence is longer than any backtick run inside. */
function fence(snippet: string): string[] {
  const longest = Math.max(0, ...[...snippet.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(Math.max(3, longest + 1));
  return [`${ticks}dockerfile`, ...snippet.split('\n'), ticks];
}

/** An inline code span that survives backticks and pipes inside a table cell. */
function code(value: string): string {
  const flat = value.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${flat}${pad}${ticks}`;
}

/** Prose from user data: Markdown and HTML metacharacters escaped; `code` spans the advice wrote are kept. */
function text(value: string): string {
  return value.split(/(`[^`\n]+`)/).map((part, i) => (i % 2 === 1 ? part : escape(part))).join('');
}

function cell(value: string): string {
  return escape(value.replace(/\s*\n\s*/g, ' ')).replace(/\|/g, '\\|');
}

function escape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/([\\*_[\]~])/g, '\\$1');
}
