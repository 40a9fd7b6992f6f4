import type { Command } from 'commander';
import { untilFilter } from '../options/cache-filter.js';
import { usageSummary, usageTable, usageVerbose } from '../usage-table.js';
import { collect } from './build-flags.js';
import { rootOf } from './global-options.js';
import { withRoot } from './root.js';

/**
 * `tsbuild du`: what the build cache in `--root` holds, printed as `docker buildx du` prints it (builder/usage-table.ts).
 * `--filter until=DURATION` lists the records not used for that long (what `prune --filter until=DURATION` would
 * consider); with a filter, as in buildx, no summary.
 */
export function registerDu(program: Command): void {
  program.command('du').description('show the build cache disk usage')
    .option('--filter <filter>', 'only until=DURATION (e.g. until=24h): records not used for that long', collect, [])
    .option('--verbose', 'every record in detail')
    .action((flags: { verbose?: boolean; filter: string[] }, cmd: Command) => {
      const until = untilFilter(flags.filter);
      return withRoot(rootOf(cmd), {}, async (root) => {
        const now = Date.now();
        const entries = (await root.cache()).du().entries.filter((e) => until === undefined || e.lastUsed < now - until);
        process.stdout.write(flags.verbose ? usageVerbose(entries, now) : usageTable(entries, now));
        if (flags.filter.length === 0) process.stdout.write(usageSummary(entries));
      });
    });
}
