import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { formatOfFile, loadReport, renderReport, type ReportFormat } from '../report/index.js';
import { loadReportArg } from '../report-source.js';
import { trendsAction } from '../report/trends-command.js';
import { rootOf } from './global-options.js';
import { withRoot } from './root.js';
import { visibleText } from '../../common/index.js';

interface ReportFlags { format?: ReportFormat; output?: string; last?: string; file?: string }

/** `tsbuild report [BUILD_ID|IMAGE]`: the cache-hit analysis of a recorded build (the latest by default) or of an image. */
export function registerReport(program: Command, signal: AbortSignal): void {
  program.command('report').argument('[build-id|image|file]', 'build id or a unique prefix (default: the latest build), an image pushed with --attach-report, a report JSON file, or a bundle from `history export` (.dockerbuild)')
    .description('explain a build: which steps hit the cache, why the others missed, and what to change')
    .addOption(new Option('--format <format>', 'report format (default: from the -o extension, else md)').choices(['json', 'md', 'html']))
    .option('-o, --output <file>', 'write the report to FILE instead of stdout')
    .option('--last <n>', 'cache trends over the last N recorded builds of a Dockerfile (text, json or html)')
    .option('-f, --file <path>', 'with --last: the Dockerfile whose builds to read (default: that of the latest build)')
    .action((buildId: string | undefined, flags: ReportFlags, cmd: Command) => withRoot(rootOf(cmd), {}, async (root) => {
      if (flags.last !== undefined) return trendsAction(root, flags);
      const report = buildId === undefined ? await loadReport(root) : (await loadReportArg(buildId, root, signal)).report;
      const format = flags.format ?? (flags.output !== undefined ? formatOfFile(flags.output) : undefined) ?? 'md';
      const text = renderReport(report, format);
      if (flags.output !== undefined) await writeFile(resolve(flags.output), text);
      // A report may be someone else's (an image's attached one, a file): its text never drives the terminal.
      else process.stdout.write(format === 'md' ? visibleText(text) : text);
    }));
}
