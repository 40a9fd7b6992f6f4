import { Command, Option } from 'commander';
import { envDefault } from './options/env-default.js';
import { checkRootOption, defaultRoot } from './options/root.js';
import { builderOption, checkBuilderOption } from './options/builder.js';
import { VERSION } from './version.js';
import { parseGoBool } from '../common/index.js';
import { COMMANDS, COMMAND_NAMES, type Register } from './commands/index.js';

// The program: global options, then the commands of builder/commands/, each loaded only when the command line names
// it (commands/index.ts). `tsbuild --version` never gets here (main.ts prints it).

export { VERSION } from './version.js';

/**
 * The command line. `signal` aborts a running build (Ctrl-C). With `args` (normalizeArgv's output) only the commands
 * they can reach are defined; without, every command is.
 */
export async function buildProgram(signal: AbortSignal, args?: string[]): Promise<Command> {
  const program = new Command('tsbuild')
    .description('Build container images from Dockerfiles, push them to registries, and explain every cache miss.')
    .version(VERSION, '-v, --version')
    // --root is the program's, declared once: written before or after the command's name, shown in every command's help.
    .addOption(envDefault(new Option('--root <dir>', 'state directory (cache, snapshots, blobs)'), defaultRoot))
    .addOption(builderOption())
    .hook('preAction', checkRootOption)
    .hook('preAction', checkBuilderOption)
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', `
Global options (before or after the command): --root DIR, --builder NAME, -D/--debug.

Examples:
  tsbuild build -t localhost:5000/app:1 --push .
  tsbuild --push localhost:5000/app:1 .          shorthand for the line above
  tsbuild build -o type=oci,dest=app.tar .       OCI layout tarball, no registry
  tsbuild plan --format dot . | dot -Tsvg         the build graph, without building`);
  for (const register of await registrations(args)) register(program, signal);
  for (const cmd of program.commands) debugEverywhere(cmd);
  oneLineUsageErrors(program);
  return program;
}

/**
 * Which commands a command line needs (`args` as normalizeArgv returns them): the one it names; every command for
 * help, completion, an unknown name (commander's "did you mean") and when `args` is not given.
 */
async function registrations(args: string[] | undefined): Promise<Register[]> {
  const first = args?.[0];
  if (first === '-v' || first === '--version') return [];
  const named = first === 'completion' ? [] : COMMANDS.filter((c) => first !== undefined && c.names.includes(first));
  return Promise.all((named.length > 0 ? named : COMMANDS).map((c) => c.load()));
}

/**
 * buildx's `-D, --debug` is a persistent flag of its root command: every command takes it (`buildx -D ls`, `docker
 * buildx inspect --debug`). The commands whose errors have a cause chain to show declare it themselves; every other
 * one is given it here, so that it is accepted (main.ts reads it from the command line for any error's report).
 * The program itself does not declare it: its own --debug would take the flag from the command that does.
 */
function debugEverywhere(cmd: Command): void {
  if (!cmd.options.some((o) => o.long === '--debug')) cmd.option('--debug', 'print the cause chain of errors');
  for (const sub of cmd.commands) debugEverywhere(sub);
}

/**
 * A mistyped option prints one error line and the command's usage line, not the whole help (which hid the error in
 * CI logs). The line starts `ERROR: ` as every other failure's does (format-error.ts), and as buildx prints a flag
 * error (cmd/buildx/main.go), where commander writes `error: `. Applied to every command once all are registered.
 */
function oneLineUsageErrors(cmd: Command, path: string[] = []): void {
  const names = [...path, cmd.name()];
  const full = names.join(' ');
  cmd.configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'ERROR: ')) });
  cmd.showHelpAfterError(`usage: ${full} ${cmd.usage()}\n(run '${full} --help' for every option)`);
  // Usage errors of subcommands reach main.ts as CommanderErrors too, so they exit 2 like the program's own.
  if (path.length > 0) cmd.exitOverride();
  for (const sub of cmd.commands) oneLineUsageErrors(sub, names);
}

/**
 * The mission's shorthand `tsbuild --push REF [CONTEXT]` is `tsbuild build -t REF --push [CONTEXT]`; any other
 * invocation that starts with a flag (other than help/version) is a build too.
 */
export function normalizeArgv(argv: string[]): string[] {
  const args = moveGlobalOptions(longDebug(argv));
  const first = args[0];
  // `buildx b` is buildx's alias of build (commands/build.go, buildCmd's Aliases). Spelled out here, before anything
  // reads the command's name (the rootless re-exec, the prepared build program), so every reader sees `build`.
  if (first === 'b') return ['build', ...args.slice(1)];
  if (first === undefined || !first.startsWith('-') || ['-h', '--help', '-v', '--version'].includes(first)) return args;
  const out = ['build'];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    const next = args[i + 1];
    if (a === '--push' && next !== undefined && /^[^-./][^\s]*[:/]/.test(next)) { out.push('-t', next, '--push'); i++; }
    else out.push(a);
  }
  return out;
}

/**
 * `--push=true`, `--no-cache=false`: buildx's flags are pflag booleans, which take an explicit value. A boolean option
 * of the command being run (one taking no value) written with a true value becomes the bare flag, with a false one
 * it goes; anything else is left to commander (which names it unknown). Strconv.ParseBool's spellings.
 * A boolean that defaults to true (`imagetools create --prefer-index`) is an optional-value option with a preset:
 * pflag gives a bare flag its NoOptDefVal and never takes the next word as its value (`--prefer-index SRC` names a
 * source), where commander's `[value]` takes it; the bare flag is written `--flag=PRESET` so commander cannot.
 */
export function explicitBooleans(program: Command, args: string[]): string[] {
  const options = commandPath(program, args).flatMap((c) => c.options);
  const flags = new Set(options.filter((o) => !o.required && !o.optional && o.long !== undefined).map((o) => o.long as string));
  const presets = new Map(options.filter((o) => o.optional && o.long !== undefined && o.presetArg !== undefined).map((o) => [o.long as string, String(o.presetArg)]));
  const end = args.indexOf('--');
  return args.flatMap((a, i) => {
    if (end >= 0 && i > end) return [a];
    const preset = presets.get(a);
    if (preset !== undefined) return [`${a}=${preset}`];
    const m = /^(--[a-z][a-z0-9-]*)=(.*)$/.exec(a);
    if (m === null || !flags.has(m[1] ?? '')) return [a];
    const b = parseGoBool(m[2]);
    return b === undefined ? [a] : b ? [m[1] ?? a] : [];
  });
}

/**
 * The commands `args` runs, outermost first (`imagetools create …`: imagetools, then create): each next one is the
 * first word naming a subcommand of the last, as commander dispatches.
 */
function commandPath(program: Command, args: string[]): Command[] {
  const path: Command[] = [];
  let current = program;
  const end = args.indexOf('--');
  for (const [i, a] of args.entries()) {
    if (end >= 0 && i >= end) break;
    const sub = current.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (sub === undefined) {
      if (path.length === 0) break;   // the first word names the command, or there is none
      continue;
    }
    path.push(sub);
    current = sub;
  }
  return path;
}

/** Options every command takes, which docker and buildx users write before the subcommand. */
const GLOBAL_WITH_VALUE = ['--root', '--builder'];
const GLOBAL_FLAGS = ['--debug'];
const SUBCOMMANDS = [...COMMAND_NAMES, 'help'];

/**
 * buildx's global `-D` is `--debug`, before or after the command's name. Every `-D` token up to a `--` is rewritten:
 * no tsbuild option takes `-D` as a value or defines another `-D`.
 */
function longDebug(args: string[]): string[] {
  const end = args.indexOf('--');
  return args.map((a, i) => (a === '-D' && (end < 0 || i < end) ? '--debug' : a));
}

/** `tsbuild --root DIR build .` → `tsbuild build --root DIR .`: leading global options move after the subcommand. */
function moveGlobalOptions(args: string[]): string[] {
  const moved: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] ?? '';
    if (GLOBAL_FLAGS.includes(a)) moved.push(a);
    else if (GLOBAL_WITH_VALUE.includes(a) && args[i + 1] !== undefined) { moved.push(a, args[i + 1] ?? ''); i++; }
    else if (GLOBAL_WITH_VALUE.some((g) => a.startsWith(`${g}=`))) moved.push(a);
    else break;
  }
  if (moved.length === 0) return args;
  const rest = args.slice(i);
  const cmd = rest[0];
  if (cmd === undefined) return [];   // `buildx --builder X` alone: buildx's bare help, which uses neither
  if (!SUBCOMMANDS.includes(cmd)) return [...rest, ...moved];   // `--root X --push ref .`: a build, options anywhere
  // `history inspect`, `debug parse`: a parent's own options come right after its name (commander reads them there).
  return [cmd, ...moved, ...rest.slice(1)];
}

