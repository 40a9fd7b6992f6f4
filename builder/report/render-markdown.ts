import type { Advice } from './advice.js';
import { formatBytes, formatMs, shortDigest, shortReason, stepNumbers } from './format.js';
import type { Report, ReportStep } from './model.js';
import { oneLine } from './reorder-advice.js';

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
  return `${out.join('\n')}\n`;
}

/** `provenance + sbom` from in-toto predicate types. */
function attestationKinds(types: string[]): string {
  return types.map((t) => (t.includes('slsa.dev/provenance') ? 'provenance' : t.includes('spdx.dev') ? 'sbom' : t)).filter((k, i, all) => all.indexOf(k) === i).join(' + ');
}

function stepsTable(steps: readonly ReportStep[]): string[] {
  const numbers = stepNumbers(steps);
  const rows = steps.map((s, i) => {
    const why = s.cached ? (s.cacheRef ? cell(`cached (remote cache ${s.cacheRef})`) : 'cached') : s.reasons.map((r) => cell(shortReason(r, numbers))).join('<br>');
    const where = s.location ? ` ${code(s.location.label)}` : '';
    // Multi-platform builds list each step once per platform: say which (stage names carry it, `linux/arm64 build`).
    const platform = /^(.+):s\d+\./.exec(s.id)?.[1];
    const on = platform !== undefined ? ` ${code(platform)}` : '';
    return `| ${s.cached ? '✅' : '❌'} | #${i + 1}${where}${on} | ${code(oneLine(s.instruction, 70))} | ${formatMs(s.durationMs)} | ${s.size > 0 ? formatBytes(s.size) : ''} | ${why} |`;
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
