import { Option, type Command } from 'commander';
import { loadReport, type Report } from '../report/index.js';
import { rootOf } from './global-options.js';
import { withRoot, type Root } from './root.js';
import { loadReportArg } from '../report-source.js';
import { compareBuilds, renderComparison, type Comparison } from '../explain/compare-builds.js';
import { parseKeyManifest } from '../explain/key-manifest.js';
import { UserError, visibleText } from '../../common/index.js';

/** The formats `explain` prints. */
export type ExplainFormat = 'text' | 'json';

/** Fails with a hint when a report predates key manifests: there is nothing to compare. */
function checkKeys(report: Report, what: string): void {
  const steps = report.steps as unknown[];
  const keyed = steps.filter((s) => parseKeyManifest([(s as { key?: unknown }).key])?.length === 1).length;
  if (keyed === 0) {
    throw new UserError('INVALID_ARGUMENT', `${what} (build ${report.build.id}) carries no step keys to compare`,
      report.steps.length === 0 ? 'that build recorded no steps (it failed before any finished)' : 'it was written by an older tsbuild: rebuild it with this version to get a report with key manifests');
  }
}

/** Compares build `buildId` (the latest in `root` when absent) with `against`. */
export async function explainAgainst(root: Root, buildId: string | undefined, against: string, signal?: AbortSignal): Promise<Comparison> {
  const here = await loadReport(root, buildId);
  const there = await loadReportArg(against, root, signal);
  checkKeys(here, 'this build');
  checkKeys(there.report, there.source);
  return compareBuilds(here, `root ${root.dir}`, there.report, there.source);
}

/** The comparison in `format`. */
export function renderExplain(c: Comparison, format: ExplainFormat): string {
  return format === 'json' ? `${JSON.stringify(c, null, 2)}\n` : renderComparison(c);
}

/** `tsbuild explain --against REF|BUILD_ID|REPORT.json [BUILD_ID]`. */
export function registerExplain(program: Command, signal: AbortSignal): void {
  program.command('explain').argument('[build-id]', 'the build to explain (default: the latest in --root)')
    .description('compare a build with another machine\'s: which steps hit there and missed here, and which ingredient differs')
    .requiredOption('--against <ref|build-id|file>', 'an image pushed with --attach-report, a report JSON file, a bundle from `history export` (.dockerbuild), or a build id in --root')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (buildId: string | undefined, flags: { against: string; format: ExplainFormat }, cmd: Command) => {
      const comparison = await withRoot(rootOf(cmd), {}, (root) => explainAgainst(root, buildId, flags.against, signal));
      // The other build's report may be someone else's (an image's attached one): its text never drives the terminal.
      const text = renderExplain(comparison, flags.format);
      process.stdout.write(flags.format === 'text' ? visibleText(text) : text);
    });
}
