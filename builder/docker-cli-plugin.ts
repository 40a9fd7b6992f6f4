import { BUILDX_VERSION_FIELD } from './version.js';

// tsbuild installed as docker's buildx plugin (`~/.docker/cli-plugins/docker-buildx`, a link to bin/tsbuild), so that
// `docker buildx …` reaches it: docker/actions-toolkit runs `docker buildx ARGS` whenever a `docker` is on PATH
// (Buildx.getCommand), and scripts write it that way. The protocol is docker/cli's cli-plugins: docker first runs
// `docker-buildx docker-cli-plugin-metadata` and lists the plugin only if that prints its metadata; then
// `docker [GLOBAL OPTIONS] buildx ARGS` runs `docker-buildx [GLOBAL OPTIONS] buildx ARGS` with
// DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND set (cli-plugins/plugin/plugin.go: RunningStandalone, RunPlugin).

/** The argument docker probes a plugin candidate with (cli-plugins/metadata: MetadataSubcommandName). */
export const METADATA_SUBCOMMAND = 'docker-cli-plugin-metadata';

/**
 * What `docker-buildx docker-cli-plugin-metadata` prints: cli-plugins/metadata.Metadata as plugin.go's
 * newMetadataSubcommand encodes it (five-space indent, a final newline). Docker refuses a plugin without a vendor.
 */
export function pluginMetadata(): string {
  const meta = { SchemaVersion: '0.1.0', Vendor: 'tsbuild', Version: BUILDX_VERSION_FIELD, ShortDescription: 'Docker Buildx (tsbuild)' };
  return `${JSON.stringify(meta, null, 5)}\n`;
}

/** docker's global options that take a value (cli/flags/options.go InstallFlags), which come before the plugin's name. */
const DOCKER_WITH_VALUE = ['--config', '-c', '--context', '-H', '--host', '-l', '--log-level', '--tlscacert', '--tlscert', '--tlskey'];

/** A command line as docker hands it to its plugin, read as tsbuild's own. */
export interface PluginCommandLine {
  /**
   * tsbuild's arguments: the plugin's. Docker's own `-D` is not passed on: it is docker's debug mode, and most of
   * tsbuild's commands take no `--debug`.
   */
  argv: string[];
  /** docker's `--config DIR`, where docker keeps its config.json (registry credentials); the plugin must read it there. */
  dockerConfig?: string;
}

/**
 * The command line when docker runs tsbuild as its plugin (`env` has DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND): docker's
 * global options and the plugin's name are taken off, as plugin.go's HandleGlobalFlags does. Run directly (as
 * `tsbuild` or a `buildx` link), the command line is tsbuild's as it is.
 */
export function pluginCommandLine(argv: string[], env: NodeJS.ProcessEnv): PluginCommandLine {
  if (!env['DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND']) return { argv };
  let dockerConfig: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--config' || a.startsWith('--config=')) {
      dockerConfig = a === '--config' ? argv[++i] : a.slice('--config='.length);
    } else if (DOCKER_WITH_VALUE.includes(a)) i++;
    else if (!a.startsWith('-')) {
      // The plugin's name (`buildx`, or whatever the link is called after `docker-`): the plugin's own arguments follow.
      const rest = argv.slice(i + 1);
      return { argv: rest, ...(dockerConfig !== undefined ? { dockerConfig } : {}) };
    }
    // anything else is a boolean of docker's (-D, --tls, --tlsverify) or an option=value: docker's, not the plugin's
  }
  return { argv: [], ...(dockerConfig !== undefined ? { dockerConfig } : {}) };
}
