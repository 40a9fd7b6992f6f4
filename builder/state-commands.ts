import type { Command } from 'commander';
import { BuildHistory, SqliteCacheIndex, type BuildSummary } from '../solver/index.js';
import { LinuxWorker } from '../worker/index.js';
import { defaultRoot } from './options/root.js';
import { printImageHistory } from './image-history.js';
import { lockRoot } from './root-lock.js';
import { redactRecord } from './report/index.js';
import { parseDuration, parseSize, formatSize } from './options/units.js';
import { UserError } from '../common/index.js';

function row(b: BuildSummary): string {
  const when = new Date(b.started).toISOString().replace('T', ' ').slice(0, 19);
  const secs = ((b.finished - b.started) / 1000).toFixed(1);
  return `${b.id}  ${when}  ${b.status.padEnd(9)}  ${`${secs}s`.padStart(7)}  ${`${b.cached}/${b.steps} cached`.padEnd(14)}  ${b.tags.join(',') || '-'}`;
}

/** The newest build of a list, by start time. */
function latestBuildId(builds: BuildSummary[]): string | undefined {
  return [...builds].sort((a, b) => b.started - a.started)[0]?.id;
}

/** `tsbuild history`, `history inspect`, `du` and `prune`: commands over the state in `--root`. */
export function registerStateCommands(program: Command): void {
  const history = program.command('history').argument('[image]', 'an image: show its layers as `docker history` does')
    .description('list past builds, or show the history of an image')
    .option('--root <dir>', 'state directory', defaultRoot())
    .option('--json', 'print JSON')
    .option('--no-trunc', "don't truncate output")
    .action(async (image: string | undefined, flags: { root: string; json?: boolean; trunc?: boolean }) => {
      if (image) { await printImageHistory(image, { root: flags.root, ...(flags.json ? { json: true } : {}), ...(flags.trunc === false ? { noTrunc: true } : {}) }); return; }
      const cache = BuildHistory.open(flags.root);
      try {
        const builds = cache.listBuilds().map(redactRecord);
        if (flags.json) process.stdout.write(`${JSON.stringify(builds, null, 2)}\n`);
        else process.stdout.write(`${['BUILD ID              STARTED              STATUS     DURATION  CACHE           TAGS', ...builds.map(row)].join('\n')}\n`);
      } finally { cache.close(); }
    });
  history.command('inspect').argument('[id]', 'build id (default: the latest build, as buildx)').description('show every step of a build with timings, hit/miss and reasons')
    .option('--json', 'print JSON')
    .action((given: string | undefined, flags: { json?: boolean }) => {
      // --root belongs to `history`: commander hands it to the parent wherever it appears on the line.
      const parent = history.opts() as { root: string; json?: boolean };
      const root = parent.root;
      // --json is also an option of `history`, which takes it wherever it appears on the line.
      const json = flags.json === true || parent.json === true;
      const cache = BuildHistory.open(root);
      try {
        const id = given ?? latestBuildId(cache.listBuilds());
        if (id === undefined) throw new UserError('INVALID_ARGUMENT', `no builds recorded in ${root}`, 'run `tsbuild build` first, or pass --root of the builds');
        const stored = cache.getBuild(id);
        if (!stored) throw new UserError('INVALID_ARGUMENT', `no build ${id} in ${root}`, 'list builds with `tsbuild history`');
        const build = redactRecord(stored);   // records written before redaction existed may still hold values
        if (json) { process.stdout.write(`${JSON.stringify(build, null, 2)}\n`); return; }
        for (const v of build.vertices) {
          process.stdout.write(`${v.cached ? 'CACHED' : 'RAN   '}  ${`${(v.durationMs / 1000).toFixed(2)}s`.padStart(8)}  ${v.text}\n`);
        }
      } finally { cache.close(); }
    });

  program.command('du').description('show the build cache disk usage')
    .option('--root <dir>', 'state directory', defaultRoot())
    .option('--verbose', 'list every record')
    .action((flags: { root: string; verbose?: boolean }) => {
      const cache = SqliteCacheIndex.open(flags.root);
      try {
        const du = cache.du();
        if (flags.verbose) for (const e of du.entries) process.stdout.write(`${e.key.slice(7, 19)}  ${formatSize(e.size).padStart(9)}  ${e.leased ? 'in use ' : '       '} ${e.opText}\n`);
        process.stdout.write(`Records: ${du.count}\nTotal:   ${formatSize(du.size)}\n`);
      } finally { cache.close(); }
    });

  program.command('prune').description('remove build cache, least recently used first')
    .option('--root <dir>', 'state directory', defaultRoot())
    .option('--keep-storage <size>', 'amount of disk space to keep for cache (e.g. 512MB, 10GB)')
    .option('--filter <filter>', 'only until=DURATION (e.g. until=24h) is supported', (v: string, p: string[] = []) => [...p, v], [])
    .option('-a, --all', 'remove all unused build cache')
    .option('-f, --force', 'do not prompt for confirmation (tsbuild never prompts; accepted as buildx takes it)')
    .option('--verbose', 'accepted as buildx takes it')
    .action(async (flags: { root: string; keepStorage?: string; filter: string[]; all?: boolean }) => {
      let until: number | undefined;
      for (const f of flags.filter) {
        const m = /^until=(.+)$/.exec(f);
        if (!m?.[1]) throw new UserError('INVALID_ARGUMENT', `unsupported --filter ${f}`, 'use --filter until=24h');
        until = Date.now() - parseDuration(m[1]);
      }
      // Exclusive: no build may pick a snapshot or blob for reuse between planning and removal.
      const lock = await lockRoot(flags.root, 'exclusive', () => process.stderr.write(`waiting for the builds running on ${flags.root} to finish\n`));
      const cache = SqliteCacheIndex.open(flags.root);
      const worker = await LinuxWorker.open({ root: flags.root });
      try {
        const plan = cache.prune({
          ...(flags.all ? { all: true } : {}), ...(until !== undefined ? { until } : {}),
          ...(flags.keepStorage ? { keepStorage: parseSize(flags.keepStorage) } : {}),
        });
        for (const name of plan.snapshots) await worker.removeSnapshot(name);
        for (const digest of plan.blobs) await worker.store.delete(digest);
        process.stdout.write(`Deleted ${plan.keys.length} records, ${plan.snapshots.length} snapshots, ${plan.blobs.length} blobs\nTotal reclaimed: ${formatSize(plan.reclaimed)}\n`);
      } finally { cache.close(); worker.close(); await lock.release(); }
    });
}
