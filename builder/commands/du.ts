import type { Command } from 'commander';
import { formatSize } from '../options/units.js';
import { rootOf } from './global-options.js';
import { withRoot } from './root.js';

/** `tsbuild du`: what the build cache in `--root` holds. */
export function registerDu(program: Command): void {
  program.command('du').description('show the build cache disk usage')
    .option('--verbose', 'list every record')
    .action((flags: { verbose?: boolean }, cmd: Command) => withRoot(rootOf(cmd), {}, async (root) => {
      const du = (await root.cache()).du();
      if (flags.verbose) for (const e of du.entries) process.stdout.write(`${e.key.slice(7, 19)}  ${formatSize(e.size).padStart(9)}  ${e.leased ? 'in use ' : '       '} ${e.opText}\n`);
      process.stdout.write(`Records: ${du.count}\nTotal:   ${formatSize(du.size)}\n`);
    }));
}
