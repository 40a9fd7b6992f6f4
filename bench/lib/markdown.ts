import type { ProfileReport } from './profile.js';
import type { BenchReport } from './report.js';
import type { Row, ScenarioResult, TrafficRow } from './result.js';
import { mibPerSecond } from './stats.js';

/** Milliseconds for a reader: `412 ms`, `2.41 s`. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function spread(row: Row): string {
  return `${formatMs(row.ms.median)} (${formatMs(row.ms.min)}–${formatMs(row.ms.max)})`;
}

function mark(isMet: boolean | undefined): string {
  return isMet === undefined ? '' : isMet ? '✅ met' : '❌ missed';
}

function summaryLine(s: ScenarioResult): string {
  const ratio = s.ratios[0];
  const ours = s.rows.find((r) => r.label === ratio?.ours) ?? s.rows.find((r) => r.role === 'tsbuild');
  const peer = s.rows.find((r) => r.label === ratio?.peer) ?? s.rows.find((r) => r.role === 'peer');
  if (s.error !== undefined && ratio === undefined) return `| ${s.title} | failed: ${oneLine(s.error)} | | | ${s.goal ?? ''} | ❌ failed |`;
  const traffic = s.traffic.find((t) => t.role === 'tsbuild' && t.label.includes('re-push'));
  const met = traffic !== undefined ? traffic.isMet && (ratio?.isMet ?? true) : ratio?.isMet;
  const wire = traffic !== undefined ? `; ${traffic.count.requests} requests, ${traffic.count.blobBytesUp} blob bytes up` : '';
  return `| ${s.title} | ${ours ? spread(ours) : '—'}${wire} | ${peer ? `${oneLine(peer.label)}: ${spread(peer)}` : '—'} | ${ratio ? `${ratio.value.toFixed(2)}×` : '—'} | ${s.goal ?? '—'} | ${mark(met)} |`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').slice(0, 200);
}

function rowsTable(rows: Row[]): string[] {
  const out = ['| contender | median | min–max | throughput | per step | command |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    const tput = r.bytes !== undefined ? `${mibPerSecond(r.bytes, r.ms.median).toFixed(0)} MiB/s` : '';
    const perStep = r.steps !== undefined ? formatMs(r.ms.median / r.steps) : '';
    out.push(`| ${oneLine(r.label)} | ${formatMs(r.ms.median)} | ${formatMs(r.ms.min)}–${formatMs(r.ms.max)} | ${tput} | ${perStep} | \`${oneLine(r.command)}\` |`);
  }
  return out;
}

function trafficTable(rows: TrafficRow[]): string[] {
  const out = ['| push | requests | by kind | blob bytes up | allowed (blobs + manifest) | goal |', '|---|---|---|---|---|---|'];
  for (const t of rows) {
    const kinds = Object.entries(t.count.byKind).map(([k, n]) => `${k} ${n}`).join(', ');
    const isRepush = t.label.includes('re-push');
    out.push(`| ${oneLine(t.label)} | ${t.count.requests} | ${kinds} | ${t.count.blobBytesUp.toLocaleString('en-US')} | ${t.blobs + 1} | ${isRepush ? mark(t.isMet) : '(for scale)'} |`);
  }
  return out;
}

function scenarioSection(s: ScenarioResult): string[] {
  const out = [`### ${s.title}`, ''];
  if (s.goal !== undefined) out.push(`Goal: ${s.goal}.`, '');
  if (s.rows.length > 0) out.push(...rowsTable(s.rows), '');
  if (s.traffic.length > 0) out.push(...trafficTable(s.traffic), '');
  for (const r of s.ratios) {
    out.push(`- ${r.ours} / ${r.peer} = **${r.value.toFixed(2)}×**${r.goal !== undefined ? ` (goal ≤ ${r.goal.toFixed(1)}×: ${mark(r.isMet)})` : ''}`);
  }
  for (const n of s.notes) out.push(`- ${n}`);
  if (s.error !== undefined) out.push(`- **failed**: \`${oneLine(s.error)}\``);
  out.push(`- scenario wall time ${formatMs(s.durationMs)}`, '');
  return out;
}

/** CPU tables are shown where they matter: tsbuild slower than something it was compared with, or a goal missed. */
function needsDetail(s: ScenarioResult | undefined): boolean {
  if (s === undefined) return false;
  return s.ratios.some((r) => r.value >= 1 || r.isMet === false) || s.traffic.some((t) => t.label.includes('re-push') && t.role === 'tsbuild' && !t.isMet);
}

function profileSection(p: ProfileReport, detailed: boolean): string[] {
  const out = [`#### ${p.scenario} (worst ratio ${p.ratio.toFixed(2)}×)`, ''];
  if (p.error !== undefined) return [...out, `Profiling failed: \`${oneLine(p.error)}\``, ''];
  out.push(`${formatMs(p.wallMs)} wall (profiler on).`, '');
  out.push('| phase | time |', '|---|---|', ...p.phases.map((ph) => `| ${ph.name} | ${formatMs(ph.ms)} |`), '');
  if (p.steps.length > 0) out.push('Slowest steps: ' + p.steps.map((s) => `\`${oneLine(s.text)}\` ${formatMs(s.ms)}`).join('; ') + '.', '');
  if (p.cpu !== undefined && detailed) {
    out.push(`Main-thread CPU samples: ${formatMs(p.cpu.totalMs)}. By area:`, '');
    out.push('| area | self time | share |', '|---|---|---|', ...p.cpu.byArea.slice(0, 8).map((h) => `| ${h.where} | ${formatMs(h.selfMs)} | ${h.percent.toFixed(1)}% |`), '');
    out.push('Top functions by self time:', '');
    out.push('| function | self time | share |', '|---|---|---|', ...p.cpu.top.slice(0, 12).map((h) => `| \`${oneLine(h.where)}\` | ${formatMs(h.selfMs)} | ${h.percent.toFixed(1)}% |`), '');
  }
  return out;
}

/** The generated part of bench/RESULTS.md: machine, summary table, one section per scenario, components, profile. */
export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const out = [
    `## Results of ${report.date}`,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, kernel ${m.kernel}.`,
    `Versions: node ${m.versions.node}, tsbuild ${m.versions.tsbuild}, ${m.versions.buildah}, ${m.versions.skopeo}, ${m.versions.pigz}.`,
    `Each contender ran ${report.reps} times, alternating with its peer; figures are wall-clock medians with (min–max). Whole run: ${formatMs(report.totalMs)}.`,
    '',
    '| scenario | tsbuild | peer | tsbuild / peer | goal | |',
    '|---|---|---|---|---|---|',
    ...report.scenarios.map(summaryLine),
    '',
    ...report.scenarios.flatMap(scenarioSection),
  ];
  if (report.components.length > 0) {
    out.push('### Component benchmarks (kept by each folder\'s owners)', '');
    for (const c of report.components) out.push(`- **${c.name}**${c.isOk ? '' : ' (failed)'}:`, '', '```', c.output, '```', '');
  }
  if (report.profiles.length > 0) {
    out.push('### Profiles, slowest ratio first', '', 'Each scenario\'s tsbuild run once more under `scripts/node --cpu-prof dist/bundle/cli/launch.js … --progress tsbuild-json` (the bundle bin/tsbuild runs; frames mapped to the TypeScript): '
      + 'phases from the progress events, the slowest steps, and, where tsbuild is slower than a peer or misses a goal, where the main thread\'s CPU went.', '');
    report.profiles.forEach((p) => out.push(...profileSection(p, needsDetail(report.scenarios.find((s) => s.id === p.scenario)))));
  }
  return `${out.join('\n')}\n`;
}

const BEGIN = '<!-- bench:generated:begin (make bench rewrites this part; write notes outside it) -->';
const END = '<!-- bench:generated:end -->';

/** Replaces the generated part of RESULTS.md, keeping everything written outside the markers. */
export function spliceResults(existing: string | undefined, generated: string): string {
  const block = `${BEGIN}\n${generated}${END}\n`;
  if (existing === undefined || !existing.includes(BEGIN) || !existing.includes(END)) {
    return `# tsbuild benchmarks\n\n\`make bench\` runs every scenario with tsbuild and its peer in the same run and rewrites the generated part below.\n\n${block}${existing !== undefined ? `\n${existing}` : ''}`;
  }
  const start = existing.indexOf(BEGIN);
  const end = existing.indexOf(END) + END.length;
  return `${existing.slice(0, start)}${block.trimEnd()}${existing.slice(end)}`;
}
