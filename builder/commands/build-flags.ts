import type { DebugRequest } from '../debug/debug-session.js';
import { Option, type Command } from 'commander';
import { formatPlatformAll, hostPlatform, normalizePlatform, parsePlatform, type Platform } from '../../registry/oci/index.js';
import type { ProgressMode } from '../progress/index.js';
import { UserError } from '../../common/index.js';

// What `build` and `plan` share: their flags, named as in `docker buildx build`. `--root` is the program's (global).

export const collect = (value: string, previous: string[] = []) => [...previous, value];
const joinCommas = (value: string, previous?: string): string => (previous === undefined ? value : `${previous},${value}`);

/**
 * `docker buildx build` flags tsbuild has no use for, registered (hidden) so that each one says what happens to it
 * instead of commander's bare "unknown option", and none is dropped silently:
 * - `ignored`: buildx itself accepts and ignores them (legacy `docker build` flags); tsbuild says it ignores them.
 * - `warn`: buildx warns and ignores them; tsbuild does the same, with the reason.
 * - `refuse`: they change what a RUN may use or what the build is checked against; tsbuild cannot honour them, so the
 *   build stops before it starts (a CI script must not believe a limit or policy applied).
 * The boolean ones are pflag booleans in buildx: they never take the next word (`--rm .` is the flag and the context);
 * `--rm=false` is read by cli.ts explicitBooleans like every boolean flag.
 */
const BUILDX_ONLY: { flags: string; attr: string; kind: 'ignored' | 'warn' | 'refuse'; why: string; hint?: string }[] = [
  { flags: '--rm', attr: 'rm', kind: 'ignored', why: 'intermediate containers are never kept (buildx ignores it too)' },
  { flags: '--force-rm', attr: 'forceRm', kind: 'ignored', why: 'intermediate containers are never kept (buildx ignores it too)' },
  { flags: '--compress', attr: 'compress', kind: 'ignored', why: 'the context is read in place, never sent (buildx ignores it too)' },
  { flags: '--isolation <value>', attr: 'isolation', kind: 'warn', why: 'the isolation flag is deprecated with BuildKit' },
  { flags: '--security-opt <opt>', attr: 'securityOpt', kind: 'warn', why: 'use RUN --security=insecure with --allow security.insecure' },
  { flags: '--squash', attr: 'squash', kind: 'warn', why: 'squash is removed with BuildKit; squash inside the build with a multi-stage Dockerfile' },
  { flags: '--policy <spec>', attr: 'policy', kind: 'refuse', why: 'build policies (source policy files) are not implemented', hint: 'drop --policy; nothing would check the sources the build uses' },
];

/** Registers the buildx-only flags (hidden from help; see BUILDX_ONLY). */
export function addBuildxOnlyFlags(cmd: Command): Command {
  for (const f of BUILDX_ONLY) cmd.addOption(new Option(f.flags).hideHelp());
  return cmd;
}

/**
 * What the buildx-only flags given on this command line mean: warnings to print (ignored ones included), or a
 * UserError naming the first flag tsbuild must refuse.
 */
export function buildxOnlyWarnings(cmd: Command): string[] {
  const given = BUILDX_ONLY.filter((f) => cmd.getOptionValue(f.attr) !== undefined);
  const refused = given.find((f) => f.kind === 'refuse');
  const name = (f: { flags: string }): string => /--[\w-]+/.exec(f.flags)?.[0] ?? f.flags;
  if (refused) throw new UserError('INVALID_ARGUMENT', `${name(refused)} is not supported: ${refused.why}`, refused.hint);
  return given.map((f) => `warning: ${name(f)} has no effect: ${f.why}`);
}

/**
 * The display modes BuildKit's progressui.NewDisplay takes (auto, tty, plain, rawjson, quiet; `""` is auto), and
 * tsbuild's own JSON events: what `$BUILDKIT_PROGRESS` may name. buildx's NewPrinter passes that variable through
 * untranslated, so `none` is no mode there ("invalid progress mode none").
 */
const DISPLAY_MODES = ['auto', 'plain', 'tty', 'rawjson', 'tsbuild-json', 'quiet'] as const;

/** The `--progress` values: the display modes and `none`, which buildx's toDisplayMode turns into quiet. */
const PROGRESS_MODES = [...DISPLAY_MODES, 'none'] as const;

const isDisplayMode = (v: string): v is (typeof DISPLAY_MODES)[number] => (DISPLAY_MODES as readonly string[]).includes(v);

/**
 * `--progress`, `-q` and `$BUILDKIT_PROGRESS` as buildx combines them (commands/build.go toDisplayMode, then
 * util/progress/printer.go NewPrinter, then progressui.NewDisplay):
 * - `--progress quiet` is `-q` (no progress, the image ID printed); `none` is the quiet display without the image ID;
 *   `-q` with an explicit other mode is an error; `--progress ""` is auto without the variable;
 * - `$BUILDKIT_PROGRESS` replaces `auto` (the default, or given) unless `-q`: one of DISPLAY_MODES, its `quiet` the
 *   display only (the image ID is printed for `-q` alone); anything else is refused before anything runs;
 * - any other `--progress` is refused as NewDisplay refuses it: `invalid progress mode bogus`, a usage error;
 * - `tty` (given or from the variable) when stderr is not a terminal is refused as NewDisplay refuses it ("failed to
 *   get console"), before anything runs: a CI log gets no cursor movements it cannot show.
 * `isExplicit`: --progress was given (otherwise its value is only the default help shows). `isTerminal`: stderr is a
 * terminal (in a daemon's warm process, the client's: builder/daemon/warm-child.ts).
 */
export function progressOf(flags: { progress: string; quiet?: boolean }, isExplicit: boolean, env: NodeJS.ProcessEnv = process.env,
  isTerminal: boolean = process.stderr.isTTY === true): { progress: ProgressMode; quiet: boolean } {
  const chosen = chooseProgress(flags, isExplicit, env);
  if (chosen.progress === 'tty' && !isTerminal) {
    throw new UserError('INVALID_ARGUMENT', 'failed to get console: provided file is not a console',
      `--progress tty${env.BUILDKIT_PROGRESS === 'tty' && !isExplicit ? ' (from $BUILDKIT_PROGRESS)' : ''} needs stderr to be a terminal; use --progress plain or auto`);
  }
  return chosen;
}

function chooseProgress(flags: { progress: string; quiet?: boolean }, isExplicit: boolean, env: NodeJS.ProcessEnv): { progress: ProgressMode; quiet: boolean } {
  const given = isExplicit ? flags.progress : 'auto';
  if (given !== '' && given !== 'none' && !isDisplayMode(given)) {
    throw new UserError('INVALID_ARGUMENT', `invalid progress mode ${given}`, `use --progress ${PROGRESS_MODES.join(', ')}`);
  }
  if (flags.quiet) {
    if (!['auto', 'quiet', 'none'].includes(given)) {
      throw new UserError('INVALID_ARGUMENT', `--progress=${given} and --quiet cannot be used together`, 'drop one of them (--progress=quiet is --quiet)');
    }
    return { progress: 'quiet', quiet: true };
  }
  const fromEnv = env.BUILDKIT_PROGRESS;
  if (given === 'auto' && fromEnv) {
    if (!isDisplayMode(fromEnv)) {
      throw new UserError('INVALID_ARGUMENT', `invalid progress mode ${JSON.stringify(fromEnv)} in $BUILDKIT_PROGRESS`,
        `set BUILDKIT_PROGRESS to one of ${DISPLAY_MODES.join(', ')}, or unset it`);
    }
    return { progress: fromEnv, quiet: false };
  }
  if (given === 'none') return { progress: 'quiet', quiet: false };
  return { progress: given === '' ? 'auto' : given, quiet: given === 'quiet' };
}

/** Flags shared by `build` and `plan`, named as in `docker buildx build`. */
export function addBuildFlags(cmd: Command): Command {
  return cmd
    .option('-f, --file <path>', 'name of the Dockerfile (default: CONTEXT/Dockerfile)')
    .option('-t, --tag <name>', 'name and optionally a tag (name:tag); repeatable', collect, [])
    .option('--target <stage>', 'set the target build stage to build')
    .option('--build-arg <key=value>', 'set a build-time variable; repeatable', collect, [])
    // Repeatable as in buildx (a stringArray): `--platform a --platform b` is `--platform a,b`, never just the last.
    .option('--platform <os/arch,...>', 'set the target platform(s) for the build, e.g. linux/amd64,linux/arm64; repeatable', joinCommas)
    .option('--debug', 'print the cause chain of errors');
}

/**
 * `--platform a,b`: the target platforms as buildx's platformutil.Parse reads them (containerd's Parse, then Normalize:
 * `arm64` is linux/arm64, `linux` the host's architecture, arm64/v8 → arm64, arm → arm/v7), deduplicated.
 */
export function platformsOption(text: string | undefined): Platform[] | undefined {
  if (text === undefined) return undefined;
  const out = new Map<string, Platform>();
  for (const item of text.split(',').map((t) => t.trim()).filter(Boolean)) {
    // `local` is the host's platform, as buildx reads it (platformutil.Parse).
    const p = item.toLowerCase() === 'local' ? hostPlatform() : parsePlatform(item);
    if (!p) throw new UserError('INVALID_ARGUMENT', `invalid --platform ${JSON.stringify(item)}`, 'write os/arch[/variant] (or an architecture alone), e.g. linux/amd64, arm64 or linux/amd64,linux/arm64');
    const normal = normalizePlatform(p);
    // By the OS version too, as BuildKit builds `windows(1.2.3)/x,windows(1.1.0)/x` as two platforms (buildx's Dedupe
    // keys by platforms.Format, which drops it, and then sends the list without versions: tsbuild keeps them).
    const key = formatPlatformAll(normal);
    if (!out.has(key)) out.set(key, normal);
  }
  if (out.size === 0) throw new UserError('INVALID_ARGUMENT', '--platform is empty', 'write os/arch[/variant], e.g. linux/amd64');
  return [...out.values()];
}

export function platformOption(text: string | undefined): Platform | undefined {
  return platformsOption(text)?.[0];
}

export interface BuildFlags {
  file?: string; tag: string[]; target?: string; buildArg: string[]; platform?: string; root: string; debug?: boolean;
  /** Under `tsbuild debug`: the session to start (debug/debug-session.ts). */
  debugSession?: DebugRequest;
  /** `--builder` (or $BUILDX_BUILDER): the builder named in build refs; undefined for the current one. */
  builder?: string;
  /** The flags are a bake target's: its git contexts get only an SSH agent `--ssh` forwards (gitAgentOf). */
  isBakeTarget?: boolean;
  push?: boolean; output: string[]; progress: ProgressMode;
  /** commander reads `--no-cache` as the negation of `cache` and `--no-cache-filter X` as `cacheFilter`. */
  cache: boolean; cacheFilter: string[];
  metadataFile?: string; iidfile?: string; cacheTo: string[]; cacheFrom: string[]; label: string[]; secret: string[]; quiet?: boolean; allow: string[]; report?: string; attachReport?: boolean;
  pull?: boolean; load?: boolean; buildContext: string[]; annotation: string[]; provenance?: string; sbom?: string; attest: string[];
  network?: string; addHost: string[]; shmSize?: string; cgroupParent?: string; ulimit: string[]; ssh: string[]; check?: boolean; call?: string; print?: string;
  /** `--resource key=value` (repeatable) and docker build's hidden per-limit flags, which buildx turns into entries of it. */
  resource?: string[]; memory?: string; memorySwap?: string; cpuShares?: string; cpuPeriod?: string; cpuQuota?: string; cpusetCpus?: string; cpusetMems?: string;
  explainAgainst?: string; dryRun?: boolean;
  insecureRegistry: string[];
}

/** `--progress` when the flag is absent, as its help shows it: `$BUILDKIT_PROGRESS` when it names a mode, else auto. */
export function defaultProgress(env: NodeJS.ProcessEnv = process.env): ProgressMode {
  const v = env.BUILDKIT_PROGRESS;
  return v !== undefined && isDisplayMode(v) ? v : 'auto';
}

export function isJsonProgress(mode: ProgressMode): boolean {
  return mode === 'rawjson' || mode === 'tsbuild-json';
}

