import { Option, type Command } from 'commander';
import { keyValues } from '../options/key-values.js';
import { addBuildFlags, platformOption, type BuildFlags } from './build-flags.js';
import { rootOf } from './global-options.js';
import { withRoot } from './root.js';

/** `tsbuild plan`: the build graph and its cache predictions, without building. */
export function registerPlan(program: Command, signal: AbortSignal): void {
  addBuildFlags(program.command('plan').argument('[context]', 'build context directory', '.').description('print the build graph without building'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'dot']).default('text'))
    .action(async (context: string, flags: BuildFlags & { format: 'text' | 'json' | 'dot' }, cmd: Command) => {
      const { planBuild, planWithCache } = await import('../plan.js');
      const { planDot } = await import('../../frontend/index.js');
      const plan = await withRoot(rootOf(cmd), {}, (root) => planBuild({
        contextDir: context, buildArgs: keyValues('--build-arg', flags.buildArg), platform: platformOption(flags.platform), signal,
        ...(flags.file ? { dockerfile: flags.file } : {}), ...(flags.target ? { target: flags.target } : {}),
      }, root));
      // JSON keeps the graph's own shape and adds the predictions beside it.
      if (flags.format === 'json') process.stdout.write(`${JSON.stringify({ ...plan.graph, predictions: plan.predictions }, null, 2)}\n`);
      else process.stdout.write(flags.format === 'dot' ? planDot(plan.graph) : planWithCache(plan));
    });
}
