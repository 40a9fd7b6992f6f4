import { appendFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { writeOutputFile } from '../options/destinations.js';
import type { BuildRecord } from '../../solver/index.js';
import type { BuildOutcome } from '../build.js';
import { readBuildRecord, readDockerfileText, type HistorySource } from './load-report.js';
import { buildReport, type Report, type ReportInput } from './model.js';
import { renderHtml } from './render-html.js';
import { renderJson } from './render-json.js';
import { renderMarkdown } from './render-markdown.js';

/** The formats a report file can have, by extension. */
export type ReportFormat = 'json' | 'md' | 'html';

/** Renders a report in one format. */
export function renderReport(report: Report, format: ReportFormat): string {
  return format === 'json' ? renderJson(report) : format === 'md' ? renderMarkdown(report) : renderHtml(report);
}

/** The format a file name asks for (`.json`, `.md`/`.markdown`, `.html`/`.htm`), if any. */
export function formatOfFile(file: string): ReportFormat | undefined {
  const ext = extname(file).toLowerCase();
  return ext === '.json' ? 'json' : ext === '.md' || ext === '.markdown' ? 'md' : ext === '.html' || ext === '.htm' ? 'html' : undefined;
}

/** Where the report of a build comes from: a finished build, a stored record, or a full report input. */
export type ReportSource = BuildOutcome | BuildRecord | ReportInput;

/**
 * `tsbuild build --report FILE`: writes the report in the format FILE's extension names, or FILE.json, FILE.md and
 * FILE.html when it names none. When $GITHUB_STEP_SUMMARY is set (GitHub Actions), the Markdown is appended there
 * too. With a BuildOutcome, pass the build's `root` so the stored record (times, args, status) is used. Returns
 * the files written.
 */
export async function writeReports(source: ReportSource, file: string, opts: { root?: HistorySource; env?: NodeJS.ProcessEnv; summary?: boolean } = {}): Promise<string[]> {
  const input = await reportInput(source, opts.root);
  const report = buildReport(input);
  const written = await writeReportFiles(report, file);
  if (opts.summary !== false) await writeStepSummary(report, opts.env ?? process.env);
  return written;
}

/** Writes a built report to FILE in the format its extension names, or to FILE.json, FILE.md and FILE.html. */
export async function writeReportFiles(report: Report, file: string): Promise<string[]> {
  const format = formatOfFile(file);
  const targets: [string, ReportFormat][] = format
    ? [[resolve(file), format]]
    : (['json', 'md', 'html'] as const).map((f) => [resolve(`${file}.${f}`), f]);
  for (const [path, f] of targets) await writeOutputFile(path, renderReport(report, f));
  return targets.map(([path]) => path);
}

/** The GitHub Actions job summary file the Markdown report goes to, unless `TSBUILD_SUMMARY=false` turns it off. */
export function stepSummaryPath(env: NodeJS.ProcessEnv): string | undefined {
  if (/^(false|0|no|off)$/i.test(env.TSBUILD_SUMMARY ?? '')) return undefined;
  return env.GITHUB_STEP_SUMMARY || undefined;
}

/** Appends the Markdown report to `$GITHUB_STEP_SUMMARY` when there is one; true when it wrote. */
export async function writeStepSummary(report: Report, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const path = stepSummaryPath(env);
  if (!path) return false;
  await appendFile(path, `${renderMarkdown(report)}\n`);
  return true;
}

async function reportInput(source: ReportSource, root: HistorySource | undefined): Promise<ReportInput> {
  let input: ReportInput;
  if ('record' in source) input = source;
  else if ('vertices' in source) input = { record: source };
  else {
    const record = root !== undefined ? await readBuildRecord(root, source.buildId) : recordOf(source);
    input = { record, graph: source.graph, metrics: source.metrics, image: { digest: source.digest, names: source.pushed, ...(source.attestations ? { attestations: source.attestations } : {}) } };
  }
  if (input.dockerfileText !== undefined) return input;
  const text = await readDockerfileText(input.record);
  return text === undefined ? input : { ...input, dockerfileText: text };
}

/** A record rebuilt from an outcome alone (no history at hand): times from the steps, args unknown. */
function recordOf(outcome: BuildOutcome): BuildRecord {
  const started = Math.min(...outcome.records.map((r) => r.started));
  const finished = Math.max(...outcome.records.map((r) => r.finished));
  const dockerfile = outcome.records.find((r) => r.location)?.location?.file;
  return {
    id: outcome.buildId, started: Number.isFinite(started) ? started : 0, finished: Number.isFinite(finished) ? finished : 0,
    status: 'succeeded', ...(dockerfile !== undefined ? { dockerfile } : {}), args: {}, tags: outcome.pushed,
    resultDigest: outcome.digest, vertices: outcome.records,
  };
}
