import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UserError } from '../../common/index.js';
import {
  builderViews, createBuilder, currentBuilder, inspectText, lsJson, lsTable, lsTemplate, machineFacts, readBuilders, removeBuilders,
  requireBuilder, updateBuilders, useBuilder, type BuilderView,
} from '../builders/index.js';
import { BUILDX_VERSION_FIELD, VERSION } from '../version.js';
import { collect, platformsOption } from './build-flags.js';
import { builderOf, rootOf } from './global-options.js';
import { formatPlatform } from '../../registry/oci/index.js';

// buildx's builder commands (version, ls, inspect, create, use, rm, stop), so that CI scripts written for buildx
// (setup-buildx-action, build-push-action, shell scripts) run their setup and cleanup unchanged. tsbuild has one
// builder, this machine: `default`; names made with `create` are kept in the state root and all build here.

/** The builders of the command's root as `ls` and `inspect` show them. */
function views(cmd: Command, records = readBuilders(rootOf(cmd))): BuilderView[] {
  return builderViews(records, currentBuilder(records), machineFacts(rootOf(cmd), VERSION));
}

/** tsbuild's git revision, as buildx's Dockerfile makes its REVISION: the commit, `.m` when the tree has changes. */
function revision(): string {
  // Both dist/<folder>/<sub>/ modules and the bundle (dist/bundle/cli/) sit three folders below the project.
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const git = (args: string[]): string => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    // Only tsbuild's own checkout: installed inside another repository (a project's node_modules), that one's
    // commit would be printed as tsbuild's.
    if (resolve(git(['rev-parse', '--show-toplevel'])) !== dir) return 'unknown';
    const commit = git(['rev-parse', 'HEAD']);
    let dirty = '';
    try { execFileSync('git', ['-C', dir, 'diff', '--no-ext-diff', '--quiet', '--exit-code'], { stdio: 'ignore' }); } catch { dirty = '.m'; }
    return `${commit}${dirty}`;
  } catch {
    return 'unknown';   // not a git checkout (or no git): the field stays, as buildx's does
  }
}

/** `tsbuild version`, `ls`, `inspect`, `create`, `use`, `rm`, `stop`. */
export function registerBuilders(program: Command): void {
  program.command('version').description('show the buildx release tsbuild follows, with its own version, as `docker buildx version` does: NAME VERSION REVISION')
    .action(() => { process.stdout.write(`tsbuild ${BUILDX_VERSION_FIELD} ${revision()}\n`); });

  program.command('ls').description('list builder instances (every one builds on this machine)')
    .option('--format <format>', 'table, json, or a Go template over .Name, .DriverEndpoint, .Status, .Buildkit, .Platforms (\'table …\' for columns)', 'table')
    .option('--no-trunc', "don't truncate output")
    .option('--timeout <duration>', 'accepted as buildx takes it (nothing to wait for)')
    .action(async (flags: { format: string; trunc: boolean }, cmd: Command) => {
      if (flags.format === 'json') process.stdout.write(lsJson(views(cmd)));
      else if (flags.format === 'table') process.stdout.write(lsTable(views(cmd), flags.trunc));
      else process.stdout.write(await lsTemplate(views(cmd), flags.format, flags.trunc));
    });

  program.command('inspect').argument('[name]', 'the builder (default: --builder, else the current one)')
    .description('inspect a builder instance')
    .option('--bootstrap', 'ensure the builder has booted (it always has: it is this machine)')
    .option('--timeout <duration>', 'accepted as buildx takes it (nothing to wait for)')
    .action((name: string | undefined, _flags: unknown, cmd: Command) => {
      const records = readBuilders(rootOf(cmd));
      const wanted = name ?? builderOf(cmd) ?? currentBuilder(records);
      const found = requireBuilder(records, wanted);
      const shown = typeof found === 'string' ? found : found.name;
      const view = views(cmd, records).find((b) => b.name === shown);
      if (view === undefined) throw new Error(`builder ${shown} has no view`);
      process.stdout.write(inspectText(view));
    });

  program.command('create').argument('[endpoint]', 'CONTEXT|ENDPOINT (recorded; tsbuild builds on this machine)')
    .description('create a builder instance: a name for this machine\'s builder, usable with --builder and use')
    .option('--name <name>', 'builder instance name')
    .option('--driver <driver>', 'driver to use (docker-container, kubernetes, remote): recorded, tsbuild builds on this machine')
    .option('--node <name>', 'create/modify node with given name')
    .option('--platform <platforms>', 'fixed platforms for the node; repeatable', collect, [])
    .option('--driver-opt <opt>', 'options for the driver (recorded); repeatable', collect, [])
    .option('--buildkitd-flags <flags>', 'BuildKit daemon flags (recorded)')
    .option('--buildkitd-config <file>', 'BuildKit daemon config file (recorded, not applied)')
    .option('--config <file>', 'same as --buildkitd-config')
    .option('--bootstrap', 'boot the builder after creation (it always runs)')
    .option('--append', 'append a node to the builder instead of changing it')
    .option('--leave', 'remove a node from the builder instead of changing it')
    .option('--use', 'set the current builder instance')
    .option('--timeout <duration>', 'accepted as buildx takes it (nothing to wait for)')
    .action(async (endpoint: string | undefined, flags: {
      name?: string; driver?: string; node?: string; platform: string[]; driverOpt: string[]; buildkitdFlags?: string;
      buildkitdConfig?: string; config?: string; append?: boolean; leave?: boolean; use?: boolean;
    }, cmd: Command) => {
      const root = rootOf(cmd);
      const platforms = flags.platform.length > 0 ? (platformsOption(flags.platform.join(',')) ?? []).map(formatPlatform) : [];
      const config = flags.buildkitdConfig ?? flags.config;
      const result = await updateBuilders(root, (records) => {
        const created = createBuilder(records, {
        platforms, driverOpts: flags.driverOpt, append: flags.append === true, leave: flags.leave === true, use: flags.use === true,
        ...(flags.name !== undefined ? { name: flags.name } : {}), ...(flags.driver !== undefined ? { driver: flags.driver } : {}),
        ...(flags.node !== undefined ? { node: flags.node } : {}), ...(flags.buildkitdFlags !== undefined ? { buildkitdFlags: flags.buildkitdFlags } : {}),
          ...(config !== undefined ? { config } : {}), ...(endpoint !== undefined ? { endpoint } : {}),
        });
        return { records: created.records, result: created };
      });
      for (const w of result.warnings) process.stderr.write(`${w}\n`);
      if (!flags.leave) process.stdout.write(`${result.name}\n`);
    });

  program.command('use').argument('[name]', 'the builder (default: --builder)')
    .description('set the current builder instance')
    .option('--default', 'set builder as default for current context (accepted: there is one context)')
    .option('--global', 'builder persists context changes (accepted: there is one context)')
    .action(async (name: string | undefined, _flags: unknown, cmd: Command) => {
      const wanted = name ?? builderOf(cmd);
      if (wanted === undefined) throw new UserError('INVALID_ARGUMENT', 'use needs a builder name', 'tsbuild use NAME (tsbuild ls lists them)');
      await updateBuilders(rootOf(cmd), (records) => ({ records: useBuilder(records, wanted), result: undefined }));
    });

  program.command('rm').argument('[names...]', 'the builders (default: --builder, else the current one)')
    .description('remove builder instances (their names; the build cache stays: tsbuild prune removes it)')
    .option('--keep-state', 'keep BuildKit state (always: every builder shares the root\'s cache)')
    .option('--keep-daemon', 'keep the BuildKit daemon running (there is none)')
    .option('--all-inactive', 'remove all inactive builders (none is ever inactive)')
    .option('-f, --force', 'do not prompt for confirmation')
    .option('--timeout <duration>', 'accepted as buildx takes it (nothing to wait for)')
    .action(async (names: string[], flags: { allInactive?: boolean }, cmd: Command) => {
      if (flags.allInactive) {
        if (names.length > 0) throw new UserError('INVALID_ARGUMENT', 'cannot specify builder name when --all-inactive is set');
        return;   // every builder is this machine, running: none is inactive
      }
      const outcomes = await updateBuilders(rootOf(cmd), (records) => {
        const removed = removeBuilders(records, names.length > 0 ? names : [builderOf(cmd) ?? '']);
        return { records: removed.records, result: removed.outcomes };
      });
      for (const o of outcomes) process.stderr.write(o.removed ? `${o.name} removed\n` : `failed to remove ${o.name}: ${o.error}\n`);
      const notFound = outcomes.some((o) => !o.removed && o.error.startsWith('no builder'));
      if (outcomes.some((o) => !o.removed)) throw new UserError(notFound ? 'BUILDER_NOT_FOUND' : 'BUILDER_INVALID', 'failed to remove one or more builders', 'list the builders with `tsbuild ls`');
    });

  program.command('stop').argument('[name]', 'the builder (default: --builder, else the current one)')
    .description('stop a builder instance (nothing to stop: it runs only while tsbuild builds)')
    .action((name: string | undefined, _flags: unknown, cmd: Command) => {
      const records = readBuilders(rootOf(cmd));
      requireBuilder(records, name ?? builderOf(cmd) ?? currentBuilder(records));
    });
}
