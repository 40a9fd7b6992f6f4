import { Option, type Command } from 'commander';
import { parseGoBool, redactUrl, UserError } from '../../common/index.js';
import { formatPlatform, hostPlatform } from '../../registry/oci/index.js';
import { envDefault } from '../options/env-default.js';
import { collect, defaultProgress, progressOf } from './build-flags.js';
import { builderOf, rootOf } from './global-options.js';
import { parseCallFunc } from '../options/call.js';

// `tsbuild bake`: docker buildx bake's command line. The bake modules (the HCL parser among them) load only here.

interface BakeFlags {
  file: string[]; set: string[]; var: string[]; print?: boolean; list?: string;
  push?: boolean; load?: boolean; cache: boolean; pull?: boolean; progress: string; metadataFile?: string;
  call?: string; check?: boolean; allow: string[]; sbom?: string; provenance?: string; insecureRegistry: string[]; debug?: boolean;
}

/** `tsbuild bake`. */
export function registerBake(program: Command, signal: AbortSignal): void {
  program.command('bake').argument('[targets...]', 'targets or groups to build (default: the "default" group or target)')
    .description('build targets from a bake file (docker-bake.hcl, docker-bake.json, compose.yaml), as docker buildx bake')
    .option('-f, --file <path>', 'build definition file: HCL, JSON or compose (default: compose.yaml, docker-bake.json, docker-bake.hcl, their .override files…); - is stdin; repeatable, later files override earlier ones', collect, [])
    .option('--set <targetpattern.key=value>', 'override a target attribute, e.g. app.tags=reg/app:1, *.platform=linux/arm64, app.args.FOO=bar (key+=value appends); repeatable', collect, [])
    .option('--var <name=value>', 'set a variable (instead of the environment); repeatable', collect, [])
    .option('--print', 'print the resolved definition as JSON, without building')
    .option('--list <type>', 'list targets or variables without building: targets, variables, or type=targets|variables,format=table|json')
    .option('--push', 'shorthand for --set=*.push=true: push every image output')
    .option('--load', 'shorthand for --set=*.load=true: load every image into docker or podman')
    .option('--no-cache', 'do not use the cache when building (--set=*.no-cache=true)')
    .option('--pull', 'always resolve base images (--set=*.pull=true; tsbuild always does)')
    .addOption(envDefault(new Option('--progress <mode>', 'progress output: auto, plain, tty, quiet, rawjson or tsbuild-json; default $BUILDKIT_PROGRESS, else auto'), () => defaultProgress()))
    .option('--metadata-file <file>', 'write every target\'s build metadata to a file, one object keyed by target name')
    .option('--call <method>', 'build (default), check or targets, for every target')
    .option('--check', 'shorthand for --call=check')
    .option('--allow <entitlement>', 'grant what the bake file asks for: network.host, security.insecure, ssh, buildx.local.delete (local outputs with mode=delete), fs.read=PATH, fs.write=PATH, fs=PATH (paths outside the working directory; * for any); repeatable', collect, [])
    .option('--sbom <value>', 'shorthand for --set=*.attest=type=sbom')
    .option('--provenance <value>', 'shorthand for --set=*.attest=type=provenance')
    .option('--insecure-registry <host>', 'a registry host[:port] reached with unverified TLS or plain HTTP; repeatable', collect, [])
    .option('--debug', 'print the cause chain of errors')
    .action((targets: string[], flags: BakeFlags, cmd: Command) => bakeAction(targets, flags, cmd, signal));
}

/** buildx's CanonicalizeAttest: a Go ParseBool value (`true`, `0`, `F` …, not `tRuE`) is `disabled=!v`, anything else attributes. */
const canonicalAttest = (type: string, v: string): string => {
  const b = parseGoBool(v);
  return b !== undefined ? `type=${type},disabled=${!b}` : `type=${type},${v}`;
};

async function bakeAction(args: string[], flags: BakeFlags, cmd: Command, signal: AbortSignal): Promise<void> {
  if (flags.print && flags.list) throw new UserError('INVALID_ARGUMENT', '--print and --list are mutually exclusive');
  // First, as buildx bake makes its progress printer before it reads a file: a bad $BUILDKIT_PROGRESS stops even --print.
  const progressGiven = cmd.getOptionValueSource('progress') === 'cli';
  // bake hands its --progress to NewPrinter as it is (commands/bake.go): build's `none` (toDisplayMode) is no mode here.
  if (progressGiven && flags.progress === 'none') throw new UserError('INVALID_ARGUMENT', 'invalid progress mode none', 'use --progress quiet for no progress output');
  const { progress, quiet } = progressOf({ progress: flags.progress }, progressGiven);
  const {
    addSourceDateEpoch, bakeArgs, listDefinitions, parseBakeFiles, printDefinition, readBakeFiles, readDotEnv, readRemoteFiles, remoteTargets, resolveTargets,
    showDefinitionsRead, withGitAuth, withGitSsh,
  } = await import('../bake/index.js');
  // A git or http(s) URL as the first argument is a remote definition, a second one the command context (buildx's bakeArgs).
  const { url, cmdContext, targets: names } = bakeArgs(args);
  const vars = new Map<string, string>();
  for (const v of flags.var) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UserError('INVALID_ARGUMENT', `invalid variable ${JSON.stringify(v)}, expected key=value`);
    vars.set(v.slice(0, eq), v.slice(eq + 1));
  }
  // BUILDX_BAKE_FILE names the files when -f does not (BUILDX_BAKE_PATH_SEPARATOR between them, default ":").
  const fromEnv = process.env.BUILDX_BAKE_FILE?.split(process.env.BUILDX_BAKE_PATH_SEPARATOR || ':').map((f) => f.trim()).filter(Boolean) ?? [];
  const given = flags.file.length ? flags.file : fromEnv;
  const readStdin = async (): Promise<string> => (await import('node:stream/consumers')).text(process.stdin);
  // One log for the whole bake, numbered as buildx numbers its one session: the definitions step is #1, the targets'
  // steps follow it (each display of this process continues the count).
  (await import('../progress/index.js')).shareStepNumbers();
  let files;
  let remote;
  if (url === undefined) {
    files = await readBakeFiles(given, process.cwd(), readStdin);
    showDefinitionsRead(progress, files, flags.file.length === 0 && fromEnv.length > 0);
  } else {
    // buildx's readBakeFiles: the `cwd://` files are local, read after the remote's (and override them); the others are the remote's.
    const local = given.filter((f) => f.startsWith('cwd://'));
    remote = await readRemoteFiles(url, given.filter((f) => !f.startsWith('cwd://')), signal, rootOf(cmd));
    files = remote.files;
    if (local.length > 0) {
      const localFiles = await readBakeFiles(local, process.cwd(), readStdin);
      showDefinitionsRead(progress, localFiles, flags.file.length === 0 && fromEnv.length > 0);
      files = [...files, ...localFiles];
    }
    if (files.length === 0) throw new UserError('INVALID_ARGUMENT', "couldn't find a bake definition", `${redactUrl(url)} has none of the default bake files; name one with -f`);
  }
  // BUILDX_BAKE_DISABLE_VARS_ENV_LOOKUP=1: variables, compose interpolation and `--set T.args.NAME` read only --var,
  // not the environment (buildx's envLookupAllowed).
  const envLookup = parseGoBool(process.env.BUILDX_BAKE_DISABLE_VARS_ENV_LOOKUP) !== true;
  const config = parseBakeFiles(files, {
    lookupVar: (name) => vars.get(name) ?? (envLookup ? process.env[name] : undefined),
    builtins: { BAKE_CMD_CONTEXT: cmdContext, BAKE_LOCAL_PLATFORM: formatPlatform(hostPlatform()) },
    dotEnv: await readDotEnv(process.cwd()),
  });
  if (flags.list) { process.stdout.write(listDefinitions(config, flags.list)); return; }
  const call = flags.check ? 'check' : flags.call;
  const sets = [...flags.set];
  if (flags.push) sets.push('*.push=true');
  if (flags.load) sets.push('*.load=true');
  if (call !== undefined) sets.push(`*.call=${call}`);
  if (cmd.getOptionValueSource('cache') === 'cli') sets.push(`*.no-cache=${!flags.cache}`);
  if (flags.pull) sets.push('*.pull=true');
  if (flags.sbom) sets.push(`*.attest=${canonicalAttest('sbom', flags.sbom)}`);
  if (flags.provenance) sets.push(`*.attest=${canonicalAttest('provenance', flags.provenance)}`);
  let resolved = resolveTargets(config, names.length ? names : ['default'], sets, envLookup);
  addSourceDateEpoch(resolved, process.env.SOURCE_DATE_EPOCH);
  // A remote definition's relative contexts are the remote's (buildx's updateContext; its --print shows the context so).
  if (flags.print) { process.stdout.write(printDefinition(remote ? remoteTargets(resolved, remote.input, true) : resolved)); return; }
  if (remote && url !== undefined) resolved = withGitSsh(withGitAuth(remoteTargets(resolved, remote.input, false), url), url);
  const { runBake } = await import('../bake/run.js');
  const { runBuildFlags } = await import('./build.js');
  await runBake(resolved, {
    root: rootOf(cmd), progress, quiet, allow: flags.allow, sets, isRemote: url !== undefined, isCallJson: parseCallFunc(call)?.format === 'json', insecureRegistry: flags.insecureRegistry,
    ...(flags.debug ? { debug: true } : {}), ...(flags.metadataFile ? { metadataFile: flags.metadataFile } : {}),
    ...(builderOf(cmd) !== undefined ? { builder: builderOf(cmd) } : {}),
  }, runBuildFlags, signal);
}
