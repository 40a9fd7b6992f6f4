import type { Command } from 'commander';
import type { BuildSummary } from '../../solver/index.js';
import { redactRecord } from '../report/index.js';
import { UserError } from '../../common/index.js';
import { buildIdOfRef, buildRefPrefix, readBuilders } from '../builders/index.js';
import { findBuildRecord, historyJsonLines, historyTable, historyTemplate, localRepository, parseHistoryFilters, readStoredLogs, renderInspect, replayBuild } from '../history/index.js';
import { collect, progressOf } from './build-flags.js';
import { createProgress } from '../progress/index.js';
import { builderOf, rootOf } from './global-options.js';
import { withRoot } from './root.js';
import { writeOutputFile } from '../options/destinations.js';

function row(b: BuildSummary): string {
  const when = new Date(b.started).toISOString().replace('T', ' ').slice(0, 19);
  const secs = ((b.finished - b.started) / 1000).toFixed(1);
  return `${b.id}  ${when}  ${b.status.padEnd(9)}  ${`${secs}s`.padStart(7)}  ${`${b.cached}/${b.steps} cached`.padEnd(14)}  ${b.tags.join(',') || '-'}`;
}

/** The newest build of a list, by start time. */
function latestBuildId(builds: BuildSummary[]): string | undefined {
  return [...builds].sort((a, b) => b.started - a.started)[0]?.id;
}

/** `tsbuild history [IMAGE]` and `history inspect [ID]`: the build history in `--root`, or an image's layers. */
export function registerHistory(program: Command): void {
  const history = program.command('history').argument('[image]', 'an image: show its layers as `docker history` does')
    .description('list past builds, or show the history of an image')
    .option('--json', 'print JSON')
    .option('--no-trunc', "don't truncate output")
    .action((image: string | undefined, flags: { json?: boolean; trunc?: boolean }, cmd: Command) => withRoot(rootOf(cmd), {}, async (root) => {
      if (image) { const { printImageHistory } = await import('../image-history.js'); await printImageHistory(image, root, { ...(flags.json ? { json: true } : {}), ...(flags.trunc === false ? { noTrunc: true } : {}) }); return; }
      const builds = (await root.history()).listBuilds().map(redactRecord);
      if (flags.json) process.stdout.write(`${JSON.stringify(builds, null, 2)}\n`);
      else process.stdout.write(`${['BUILD ID              STARTED              STATUS     DURATION  CACHE           TAGS', ...builds.map(row)].join('\n')}\n`);
    }));
  history.command('ls').description('list build records, as `docker buildx history ls`')
    .option('--format <format>', 'table, json (one object a line) or a Go template (`table TEMPLATE` for columns)', 'table')
    .option('--no-trunc', "don't truncate output")
    .option('--filter <filter>', 'ref=, repository=, status= (or !=), startedAt<, completedAt<, duration< (or >); all must match', collect, [])
    .option('--local', "list the builds of this directory's git repository (its remote URL) only")
    .action((flags: { format: string; trunc?: boolean; filter: string[]; local?: boolean }, cmd: Command) => {
      const filters = parseHistoryFilters(flags.filter);   // a bad filter is refused before the root is opened
      return withRoot(rootOf(cmd), {}, async (root) => {
        if (flags.local) filters.push(...parseHistoryFilters([`repository=${await localRepository(process.cwd())}`]));
        // buildx asks BuildKit for the newest 50 records (utils.go recordsLimit), then filters them.
        const builds = (await root.history()).listBuilds(50).filter((b) => filters.every((f) => f(b)));
        const prefix = (): string => buildRefPrefix(readBuilders(root.dir), builderOf(cmd));
        if (flags.format === 'table') process.stdout.write(historyTable(builds, { trunc: flags.trunc !== false }));
        else if (flags.format === 'json') process.stdout.write(historyJsonLines(builds, prefix()));
        else process.stdout.write(await historyTemplate(builds, flags.format, prefix(), { trunc: flags.trunc !== false }));
      });
    });
  history.command('rm').argument('[ref...]', 'build ids (or unique prefixes of them)').description('remove build records, as `docker buildx history rm`')
    .option('--all', 'remove every build record')
    .action((refs: string[], flags: { all?: boolean }, cmd: Command) => {
      if (refs.length === 0 && !flags.all) throw new UserError('INVALID_ARGUMENT', 'history rm needs a build id, or --all', 'list the builds with `tsbuild history ls`');
      return withRoot(rootOf(cmd), {}, async (root) => {
        const unknown = (await root.history()).removeBuilds(refs.map(buildIdOfRef), flags.all === true);
        if (unknown.length > 0) throw new UserError('INVALID_ARGUMENT', `no build record found for ${unknown.map((r) => JSON.stringify(r)).join(', ')}`, 'list the builds with `tsbuild history ls`');
      });
    });
  // buildx's other history commands: named, never taken for an image called "logs" (which was then looked up on Docker Hub).
  history.command('logs').argument('[ref]', 'build id, a unique prefix of one, or ^N: the N-th build before the latest (default: the latest)')
    .description("print a build's progress again, as `docker buildx history logs`: its steps with their output as the build showed it (a record from a tsbuild that kept no output: its steps alone)")
    .option('--progress <mode>', 'plain, rawjson or tty', 'plain')
    .action((given: string | undefined, flags: { progress: string }, cmd: Command) => {
      // buildx's runLogs: the mode as progressui takes it (auto is plain here); $BUILDKIT_PROGRESS plays no part.
      const { progress } = progressOf(flags, true, {});
      const mode = progress === 'auto' ? 'plain' : progress;
      return withRoot(rootOf(cmd), {}, async (root) => {
        const store = await root.history();
        const record = redactRecord(findBuildRecord(store, given));
        const logs = store.logsOf(record.id);
        const writer = createProgress(mode, process.stderr);
        await replayBuild(record, writer, logs === undefined ? [] : readStoredLogs(logs, record.id));
        // Plain's closing line is the wall time it measured live, not the build's: a replay has none, as buildx's.
        if (mode !== 'plain') writer.close();
      });
    });
  history.command('export').argument('[ref...]', 'build ids (or unique prefixes, or ^N); default: the latest build')
    .description('export build records into a Docker Desktop bundle (.dockerbuild), as `docker buildx history export`')
    .option('-o, --output <file>', 'output file path (default: standard output, when it is no terminal)')
    .option('--all', 'export every build record')
    .option('--finalize', 'ensure the records are finalized first (tsbuild\'s are, once their build ends)')
    .action((refs: string[], flags: { output?: string; all?: boolean }, cmd: Command) => {
      // buildx's checks, in its order: refs with --all, then a terminal as the output (before any record is read).
      if (flags.all && refs.length > 0) throw new UserError('INVALID_ARGUMENT', 'cannot specify refs when using --all', 'drop the refs, or --all');
      if (flags.output === undefined && process.stdout.isTTY) throw new UserError('INVALID_ARGUMENT', 'refusing to write to console, use --output to specify a file', 'add -o FILE.dockerbuild, or redirect standard output');
      return withRoot(rootOf(cmd), {}, async (root) => {
        const { exportHistory } = await import('../history/export.js');
        const bundle = await exportHistory(await root.history(), flags.all === true ? 'all' : refs, buildRefPrefix(readBuilders(root.dir), builderOf(cmd)));
        if (flags.output === undefined) process.stdout.write(bundle);
        else await writeOutputFile(flags.output, bundle);
      });
    });
  for (const [name, instead] of [['import', 'tsbuild report FILE.dockerbuild, or tsbuild explain --against FILE.dockerbuild (a bundle tsbuild exported: the build\'s report rides in it)'], ['open', 'tsbuild report ID --format html'], ['trace', 'tsbuild report ID --format html (its timeline)']] as const) {
    history.command(name).allowUnknownOption().allowExcessArguments().description(`not supported: use ${instead}`)
      .action(() => { throw new UserError('INVALID_ARGUMENT', `history ${name} is not supported by tsbuild`, `use ${instead}`); });
  }
  history.command('inspect').argument('[ref]', 'build id, a unique prefix of one, or ^N: the N-th build before the latest (default: the latest)')
    .description('show a build record, as `docker buildx history inspect`')
    .option('--format <format>', 'pretty, json or a Go template over buildx\'s inspect fields', 'pretty')
    .option('--json', "print tsbuild's own record as JSON (every step with its timings, hit/miss and reasons)")
    .action((given: string | undefined, flags: { format: string; json?: boolean }, cmd: Command) => withRoot(rootOf(cmd), {}, async (root) => {
      const store = await root.history();
      // --json is also an option of `history`, which takes it wherever it appears on the line.
      if (flags.json === true || (history.opts() as { json?: boolean }).json === true) {
        // The record as tsbuild keeps it; a ref as a metadata file or `history ls --format json` gives it (BUILDER/NODE/ID), or the id alone.
        const id = given !== undefined ? buildIdOfRef(given) : latestBuildId(store.listBuilds());
        if (id === undefined) throw new UserError('INVALID_ARGUMENT', `no builds recorded in ${root.dir}`, 'run `tsbuild build` first, or pass --root of the builds');
        const stored = store.getBuild(id);
        if (!stored) throw new UserError('INVALID_ARGUMENT', `no build ${id} in ${root.dir}`, 'list builds with `tsbuild history`');
        process.stdout.write(`${JSON.stringify(redactRecord(stored), null, 2)}\n`);   // records written before redaction existed may still hold values
        return;
      }
      const record = redactRecord(findBuildRecord(store, given));
      process.stdout.write(await renderInspect(record, flags.format, { refGiven: given !== undefined && given !== '', logsCommand: `${commandName()} history logs` }));
    }));
}

/** How the user runs us, for the commands an output suggests: `docker buildx` when docker runs tsbuild as its plugin. */
function commandName(): string {
  return process.env['DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND'] ? 'docker buildx' : 'tsbuild';
}
