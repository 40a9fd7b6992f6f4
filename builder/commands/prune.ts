import type { Command } from 'commander';
import { cacheMountRow, prunedTotal, usageTable, usageVerbose } from '../usage-table.js';
import type { UsageRow } from '../usage-table.js';
import { cacheFilter, typeSelected } from '../options/cache-filter.js';
import { UserError } from '../../common/index.js';
import { collect } from './build-flags.js';
import { rootOf } from './global-options.js';
import { withRoot } from './root.js';
import { parseDiskSpace, pruneRoot, pruneSpaceOptions } from '../gc.js';

/**
 * `tsbuild prune`: removes cache records (least recently used first) and the snapshots and blobs only they used, and
 * ADD <url>'s stored downloads, the RUN cache mounts (BuildKit's exec.cachemount records: `docker buildx prune` removes them too, and
 * `--filter type=exec.cachemount` only them). With a space limit only records are removed: the limits are planned
 * over the records' bytes.
 */
export function registerPrune(program: Command): void {
  program.command('prune').description('remove build cache, least recently used first')
    .option('--reserved-space <size>', 'amount of disk space always allowed to keep for cache (e.g. 512MB, 10GB, 10%)')
    .option('--max-used-space <size>', 'maximum amount of disk space allowed to keep for cache (e.g. 10GB, 60%)')
    .option('--min-free-space <size>', 'target amount of free disk space after pruning (e.g. 20GB, 20%)')
    .option('--keep-storage <size>', 'amount of disk space to keep for cache (deprecated: use --reserved-space)')
    .option('--filter <filter>', 'until=DURATION (e.g. until=24h), type=regular|exec.cachemount (or type!=…)', collect, [])
    .option('-a, --all', 'remove all unused build cache')
    .option('-f, --force', 'do not prompt for confirmation (tsbuild never prompts; accepted as buildx takes it)')
    .option('--verbose', 'every removed record in detail')
    .action(async (flags: { keepStorage?: string; reservedSpace?: string; maxUsedSpace?: string; minFreeSpace?: string; filter: string[]; all?: boolean; verbose?: boolean }, cmd: Command) => {
      const filter = cacheFilter(flags.filter);
      const until = filter.until === undefined ? undefined : Date.now() - filter.until;
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
        const pruned: UsageRow[] = [];
        let reclaimed = 0;
        if (typeSelected(filter, 'regular')) {
          const before = (await root.cache()).du().entries;
          const plan = await pruneRoot(root, {
            ...(flags.all ? { all: true } : {}), ...(until !== undefined ? { until } : {}), ...pruneSpaceOptions(policy, root.dir),
          });
          const removed = new Set<string>(plan.keys);
          pruned.push(...before.filter((e) => removed.has(e.key)));
          reclaimed += plan.reclaimed;
          // ADD <url>'s stored downloads (BuildKit keeps them as regular records too): they only spare a request.
          if (Object.keys(policy).length === 0) {
            const { pruneDownloads } = await import('../../worker/index.js');
            reclaimed += await pruneDownloads(root.dir, until);
          }
        }
        if (typeSelected(filter, 'exec.cachemount') && Object.keys(policy).length === 0) {
          const { cacheMountsDir, listCacheMounts, removeCacheMount } = await import('../../worker/index.js');
          const dir = cacheMountsDir(root.dir);
          for (const mount of await listCacheMounts(dir)) {
            if (until !== undefined && mount.lastUsed >= until) continue;
            await removeCacheMount(dir, mount.name);
            pruned.push(cacheMountRow(mount));
            reclaimed += mount.size;
          }
        }
        // As `docker buildx prune` prints it: the records removed, then the bytes freed (their snapshots and blobs).
        process.stdout.write(`${flags.verbose ? usageVerbose(pruned) : usageTable(pruned)}${prunedTotal(reclaimed)}`);
      });
    });
}
