import type { Command } from 'commander';
import { parseDuration, parseSize, formatSize } from '../options/units.js';
import { UserError } from '../../common/index.js';
import { rootOf } from './global-options.js';
import { withRoot } from './root.js';

/** `tsbuild prune`: removes cache records (least recently used first) and the snapshots and blobs only they used. */
export function registerPrune(program: Command): void {
  program.command('prune').description('remove build cache, least recently used first')
    .option('--keep-storage <size>', 'amount of disk space to keep for cache (e.g. 512MB, 10GB)')
    .option('--filter <filter>', 'only until=DURATION (e.g. until=24h) is supported', (v: string, p: string[] = []) => [...p, v], [])
    .option('-a, --all', 'remove all unused build cache')
    .option('-f, --force', 'do not prompt for confirmation (tsbuild never prompts; accepted as buildx takes it)')
    .option('--verbose', 'accepted as buildx takes it')
    .action(async (flags: { keepStorage?: string; filter: string[]; all?: boolean }, cmd: Command) => {
      let until: number | undefined;
      for (const f of flags.filter) {
        const m = /^until=(.+)$/.exec(f);
        if (!m?.[1]) throw new UserError('INVALID_ARGUMENT', `unsupported --filter ${f}`, 'use --filter until=24h');
        until = Date.now() - parseDuration(m[1]);
      }
      await withRoot(rootOf(cmd), {}, async (root) => {
        // Exclusive: no build may pick a snapshot or blob for reuse between planning and removal.
        await root.lock('exclusive', () => process.stderr.write(`waiting for the builds running on ${root.dir} to finish\n`));
        const cache = await root.cache();
        const worker = await root.worker();
        const plan = cache.prune({
          ...(flags.all ? { all: true } : {}), ...(until !== undefined ? { until } : {}),
          ...(flags.keepStorage ? { keepStorage: parseSize(flags.keepStorage) } : {}),
        });
        for (const name of plan.snapshots) await worker.removeSnapshot(name);
        for (const digest of plan.blobs) await worker.store.delete(digest);
        process.stdout.write(`Deleted ${plan.keys.length} records, ${plan.snapshots.length} snapshots, ${plan.blobs.length} blobs\nTotal reclaimed: ${formatSize(plan.reclaimed)}\n`);
      });
    });
}
