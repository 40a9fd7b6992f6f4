import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkedReport, loadReport, type Report } from './report/index.js';
import { fetchAttachedReport, isImageArgument } from './report-attach.js';
import type { Root } from './commands/root.js';
import { UserError } from '../common/index.js';

// Where `tsbuild report ARG` and `tsbuild explain --against ARG` find a build's report: a file (a report a CI job
// saved with --report FILE.json, or a build bundle it exported, .dockerbuild), the report attached to an image
// (--attach-report), or a build id in the root.

/** The report `arg` names, and how to name where it came from. */
export async function loadReportArg(arg: string, root: Root, signal?: AbortSignal): Promise<{ report: Report; source: string }> {
  const isFile = await stat(arg).then((s) => s.isFile(), () => false);
  if (isFile) {
    const { isGzipFile, reportsOfBundle } = await import('./history/read-bundle.js');
    if (await isGzipFile(arg)) return reportOfBundle(arg, await reportsOfBundle(arg));
    return { report: parseReportFile(await readFile(arg, 'utf8'), arg), source: `file ${resolve(arg)}` };
  }
  if (arg.endsWith('.json') || arg.endsWith('.dockerbuild')) {
    throw new UserError('INVALID_ARGUMENT', `report file ${arg} not found`, 'pass the path of a report written by --report FILE.json or `tsbuild report --format json`, or of a bundle written by `tsbuild history export`');
  }
  if (isImageArgument(arg)) return { report: await fetchAttachedReport(arg, await root.registry(), root.dir, signal), source: `report attached to ${arg}` };
  return { report: await loadReport(root, arg), source: `build in ${root.dir}` };
}

/** The newest build's report of a bundle (its builds are one CI job's, usually one). */
function reportOfBundle(file: string, found: { ref: string; report: unknown }[]): { report: Report; source: string } {
  const reports = found.map((f, i) => ({ ref: f.ref, report: checkReport(f.report, `${file} (build ${f.ref || i + 1})`) }));
  if (reports.length === 0) {
    throw new UserError('INVALID_ARGUMENT', `${file} holds no tsbuild report`, 'the bundle was exported by BuildKit\'s buildx or an older tsbuild: export it with this tsbuild (`tsbuild history export`), or pass a report written by --report FILE.json');
  }
  const newest = reports.reduce((a, b) => (b.report.build.started > a.report.build.started ? b : a));
  const among = reports.length > 1 ? ` (the newest of ${reports.length})` : '';
  return { report: newest.report, source: `bundle ${resolve(file)}, build ${newest.report.build.id}${among}` };
}

function parseReportFile(text: string, file: string): Report {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserError('INVALID_ARGUMENT', `${file} is not JSON: ${(err as Error).message}`, 'pass a report written by --report FILE.json', { cause: err });
  }
  return checkReport(value, file);
}

/** A report document read from a file someone else wrote: the shape the renderers and comparisons rely on. */
function checkReport(value: unknown, what: string): Report {
  return checkedReport(value, (where) => new UserError('INVALID_ARGUMENT', `${what} is not a schemaVersion 1 tsbuild report (at ${where})`, 'pass a report written by --report FILE.json'));
}
