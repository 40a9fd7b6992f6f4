import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BuildRecord } from '../../solver/index.js';
import type { HistorySource } from './load-report.js';
import { recordedBuilds } from './recorded-builds.js';
import { buildTrends, renderTrendsHtml, renderTrendsText } from './trends.js';
import { renderTrendsMarkdown } from './render-markdown.js';
import { UserError } from '../../common/index.js';
import { isRemoteUrl } from '../options/build-flags.js';

/** `tsbuild report --last N [-f Dockerfile] [--format json|md|html] [-o FILE]`: cache trends (text without --format). */
export async function trendsAction(root: HistorySource, flags: { last?: string; file?: string; format?: string; output?: string }): Promise<void> {
  const n = Number(flags.last);
  if (!Number.isInteger(n) || n < 1) throw new UserError('INVALID_ARGUMENT', `--last needs a positive whole number, not ${JSON.stringify(flags.last)}`, 'e.g. --last 10');
  const records = await lastBuilds(root, n, flags.file === undefined ? undefined : recordedName(flags.file));
  const trends = buildTrends(records);
  const format = flags.format ?? (flags.output?.endsWith('.html') ? 'html' : flags.output?.endsWith('.json') ? 'json' : flags.output?.endsWith('.md') ? 'md' : 'text');
  const text = format === 'json' ? `${JSON.stringify(trends, null, 2)}\n` : format === 'html' ? renderTrendsHtml(trends)
    : format === 'md' ? renderTrendsMarkdown(trends) : renderTrendsText(trends);
  if (flags.output !== undefined) await writeFile(resolve(flags.output), text);
  else process.stdout.write(text);
}

/** `-f` as builds record it: a path made absolute, or a remote context's Dockerfile name (a URL, `-`, `-:PATH`) as is. */
function recordedName(file: string): string {
  return isRemoteUrl(file) || file === '-' || file.startsWith('-:') ? file : resolve(file);
}

/** The last `n` builds of `dockerfile` (that of the latest build when absent), oldest first. */
async function lastBuilds(root: HistorySource, n: number, dockerfile: string | undefined): Promise<BuildRecord[]> {
  const records = recordedBuilds(await root.history(), dockerfile, n);
  if (records.length === 0) {
    throw new UserError('INVALID_ARGUMENT', `no builds of ${dockerfile ?? 'any Dockerfile'} recorded in ${root.dir}`, 'run `tsbuild build` first, or pass the --root and -f the builds used');
  }
  return records;
}
