import type { Command } from 'commander';
import { prunedTotal, usageTable, usageVerbose } from '../usage-table.js';
import { untilFilter } from '../options/cache-filter.js';
import { UserError } from '../../common/index.js';
import { collect } from './build-flags.js';
import { rootOf } from './global-options.js';
import { withRoot } from './root.js';
import { parseDiskSpace, pruneRoot, pruneSpaceOptions } from '../gc.js';

/** `tsbuild prune`: removes cache records (least recently used first) and the snapshots and blobs only they used. */
export function registerPrune(program: Command): void {
  program.command('prune').description('remove build cache, least recently used first')
    .option('--reserved-space <size>', 'amount of disk space always allowed to keep for cache (e.g. 512MB, 10GB, 10%)')
    .option('--max-used-space <size>', 'maximum amount of disk space allowed to keep for cache (e.g. 10GB, 60%)')
    .option('--min-free-space <size>', 'target amount of free disk space after pruning (e.g. 20GB, 20%)')
    .option('--keep-storage <size>', 'amount of disk space to keep for cache (deprecated: use --reserved-space)')
    .option('--filter <filter>', 'only until=DURATION (e.g. until=24h) is supported', collect, [])
    .option('-a, --all', 'remove all unused build cache')
    .option('-f, --force', 'do not prompt for confirmation (tsbuild never prompts; accepted as buildx takes it)')
    .option('--verbose', 'every removed record in detail')
    .action(async (flags: { keepStorage?: string; reservedSpace?: string; maxUsedSpace?: string; minFreeSpace?: string; filter: string[]; all?: boolean; verbose?: boolean }, cmd: Command) => {
      const olderThan = untilFilter(flags.filter);
      const until = olderThan === undefined ? undefined : Date.now() - olderThan;
      if (flags.keepStorage !== undefined && flags.reservedSpace !== undefined) {
        throw new UserError('INVALID_ARGUMENT', '--keep-storage and --reserved-space are the same setting', 'give only --reserved-space');
      }
      const reserved = flags.reservedSpace ?? flags.keepStorage;
      const policy = {
        ...(reserved !== undefined ? { reservedSpace: parseDiskSpace(reserved, flags.reservedSpace !== undefined ? '--reserved-space' : '--keep-storage') } : {}),
        ...(flags.maxUsedSpace !== undefined ? { maxUsedSpace: parseDiskSpace(flags.maxUsedSpace, '--max-used-space') } : {}),
        ...(flags.minFreeSpace !== undefined ? { minFreeSpace: parseDiskSpace(flags.minFreeSpace, '--min-free-space') } : {}),
      };
      await withRoot(rootOf(cmd), {}, async (root) => {
        // Exclusive: no build may pick a snapshot or blob for reuse between planning and removal.
        await root.lock('exclusive', () => process.stderr.write(`waiting for the builds running on ${root.dir} to finish\n`));
        const before = (await root.cache()).du().entries;
        const plan = await pruneRoot(root, {
          ...(flags.all ? { all: true } : {}), ...(until !== undefined ? { until } : {}), ...pruneSpaceOptions(policy, root.dir),
        });
        // As `docker buildx prune` prints it: the records removed, then the bytes freed (their snapshots and blobs).
        const removed = new Set<string>(plan.keys);
        const pruned = before.filter((e) => removed.has(e.key));
        process.stdout.write(`${flags.verbose ? usageVerbose(pruned) : usageTable(pruned)}${prunedTotal(plan.reclaimed)}`);
      });
    });
}
