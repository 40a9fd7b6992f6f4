import type { Command } from 'commander';
import { cacheFilter, typeSelected } from '../options/cache-filter.js';
import { cacheMountRow, usageSummary, usageTable, usageVerbose } from '../usage-table.js';
import type { UsageRow } from '../usage-table.js';
import { collect } from './build-flags.js';
import { rootOf } from './global-options.js';
import { withRoot } from './root.js';

/**
 * `tsbuild du`: what the build cache in `--root` holds, printed as `docker buildx du` prints it (builder/usage-table.ts):
 * the cache records, then the RUN cache mounts (BuildKit's exec.cachemount records). `--filter until=DURATION` lists
 * those not used for that long (what `prune --filter until=DURATION` would consider), `--filter type=T` one kind;
 * with a filter, as in buildx, no summary.
 */
export function registerDu(program: Command): void {
  program.command('du').description('show the build cache disk usage')
    .option('--filter <filter>', 'until=DURATION (e.g. until=24h): records not used for that long; type=regular|exec.cachemount', collect, [])
    .option('--verbose', 'every record in detail')
    .action((flags: { verbose?: boolean; filter: string[] }, cmd: Command) => {
      const filter = cacheFilter(flags.filter);
      return withRoot(rootOf(cmd), {}, async (root) => {
        const now = Date.now();
        // The worker's module is loaded only when a command needs it (commands register eagerly).
        const { cacheMountsDir, listCacheMounts } = await import('../../worker/index.js');
        const rows: UsageRow[] = [
          ...(typeSelected(filter, 'regular') ? (await root.cache()).du().entries : []),
          // Listed without opening the worker (which makes its directories): du reads a root it may not write.
          ...(typeSelected(filter, 'exec.cachemount') ? (await listCacheMounts(cacheMountsDir(root.dir))).map(cacheMountRow) : []),
        ];
        const entries = rows.filter((e) => filter.until === undefined || e.lastUsed < now - filter.until);
        process.stdout.write(flags.verbose ? usageVerbose(entries, now) : usageTable(entries, now));
        if (flags.filter.length === 0) process.stdout.write(usageSummary(entries));
      });
    });
}
