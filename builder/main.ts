import type { Command } from 'commander';
import { leaveDatabasesToExit, removeUnplaced } from '../common/exit-policy.js';
import { CLOSED_OUTPUT_STATUS, outputClosed, stopWhenOutputCloses } from './closed-output.js';
import { mapStack } from './stack-source-maps.js';
import { VERSION } from './version.js';

/** The `build` command's program, made ahead of its process by prepareBuildProgram; taken (once) by main. */
let prepared: { controller: AbortController; program: Command } | undefined;

/**
 * Makes the program of `tsbuild build …` ahead of time, for the V8 startup snapshot: registering the build command's
 * ~80 options (commander checks each against all before it, ~2 ms) then happens once, when the blob is built. main
 * gives it this process's environment-dependent defaults (refreshEnvDefaults) before it parses anything.
 */
export async function prepareBuildProgram(): Promise<void> {
  const { buildProgram } = await import('./cli.js');
  const controller = new AbortController();
  prepared = { controller, program: await buildProgram(controller.signal, ['build']) };
}

/** The prepared program when `args` is a build command line (the program buildProgram would make for them), once. */
async function takePrepared(args: string[]): Promise<{ controller: AbortController; program: Command } | undefined> {
  const taken = prepared;
  prepared = undefined;
  if (taken === undefined || args[0] !== 'build') return undefined;
  const { refreshEnvDefaults } = await import('./options/env-default.js');
  refreshEnvDefaults(taken.program);
  return taken;
}

/**
 * What each entry of the CLI calls once main() has returned: when the process then ends by itself (its event loop
 * empty, 'exit' emitted, every other 'exit' listener run), it ends through process.exit, which skips node's teardown
 * of the V8 heap: unmapping its pages one by one, which the kernel does at once for an exiting process. ~3.5 % of a
 * no-op build's CPU (perf, bench/RESULTS.md 2026-12-01). Only an entry may: main also runs inside the daemon's warm
 * process, whose pre-warm builds must not end it.
 */
export function exitWithoutTeardown(): void {
  process.once('exit', () => process.exit());
}

/**
 * What each entry of the CLI calls before main(): the process ends with its command, so the databases it closes are
 * left to the exit (common/sqlite-open.ts). Not in the daemon's warm process (TSBUILD_DAEMON_WARM, read before main
 * removes it), whose pre-warm builds close roots before its command runs.
 */
export function leaveDatabasesToExitUnlessWarm(): void {
  if (process.env['TSBUILD_DAEMON_WARM'] !== '1') leaveDatabasesToExit();
}

/** A command ended by `sig` exits 128 + its number, as a shell reports it (docker and buildx do the same). */
function signalStatus(sig: 'SIGINT' | 'SIGTERM'): number {
  return sig === 'SIGINT' ? 130 : 143;
}

/** The CLI: runs the command line `argv` (without node and the script) and sets process.exitCode. */
export async function main(argv: string[]): Promise<void> {
  // A warm process of `tsbuild daemon` (started by it with an IPC channel): waits for one client's command line and
  // runs it through this very function, as that client's process (builder/daemon/warm-child.ts).
  if (process.env['TSBUILD_DAEMON_WARM'] === '1' && process.channel !== undefined) {
    const daemonDir = process.env['TSBUILD_DAEMON_DIR'];
    delete process.env['TSBUILD_DAEMON_WARM'];
    delete process.env['TSBUILD_DAEMON_DIR'];
    const { serveOneRequest } = await import('./daemon/warm-child.js');
    await serveOneRequest(main, daemonDir);
    return;
  }
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    // What commander prints for it, without loading commander and the command table (~10 ms of a 40 ms start).
    // bin/tsbuild runs builder/version-cli.ts for it instead; this is the daemon's and `node launch.js`'s.
    stopWhenOutputCloses(() => undefined);
    process.stdout.write(`${VERSION}\n`);
  } else {
    const { CommanderError } = await import('commander');
    const { buildProgram, normalizeArgv } = await import('./cli.js');
    const { exitStatus, formatError } = await import('./format-error.js');
    const { isTsbuildError } = await import('../common/index.js');
    // A failure of its own, which a signal during it does not make a cancellation: every tsbuild error but CANCELLED.
    const isFailure = (err: unknown): boolean => isTsbuildError(err) && err.code !== 'CANCELLED';
    const { ECHO_MS, isRootlessChild, runRootless } = await import('./rootless.js');
    const { METADATA_SUBCOMMAND, pluginCommandLine, pluginMetadata } = await import('./docker-cli-plugin.js');
    if (argv.length === 1 && argv[0] === METADATA_SUBCOMMAND) {
      process.stdout.write(pluginMetadata());
      return;
    }
    const plugin = pluginCommandLine(argv, process.env);
    if (plugin.dockerConfig !== undefined) process.env['DOCKER_CONFIG'] = plugin.dockerConfig;
    const args = normalizeArgv(plugin.argv);
    // An unprivileged user's build re-executes this CLI in a user namespace (builder/rootless.ts) and exits with its
    // status; everything below then runs in the child, as uid 0 of that namespace.
    try {
      const status = await runRootless(args);
      if (status !== undefined) process.exit(status);
    } catch (err) {
      process.stderr.write(`${mapStack(formatError(err, args.includes('--debug')))}\n`);
      process.exit(exitStatus(err));
    }
    // Ctrl-C aborts the running build through its AbortSignal, so every step cleans up (mounts, processes,
    // half-written blobs) before the process exits; a second Ctrl-C exits at once.
    const ready = await takePrepared(args);
    const controller = ready?.controller ?? new AbortController();
    stopWhenOutputCloses(() => controller.abort(new Error('the output was closed (EPIPE): its reader went away')));
    // The first signal that arrived: the command's status is 128 + its number (130, 143), whatever the abort made fail.
    let signalled: 'SIGINT' | 'SIGTERM' | undefined;
    let signalledAt = 0;
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.on(sig, () => {
        // A rootless build's Ctrl-C arrives twice: from the terminal, and passed on by the process outside the
        // namespace (which passes on a SIGINT sent to it alone: builder/rootless.ts). The echo is not a second Ctrl-C.
        if (signalled === sig && isRootlessChild() && Date.now() - signalledAt < ECHO_MS) return;
        if (signalled !== undefined) {
          // The second one: no clean-up of the work in progress, but no half-written file beside a destination.
          const removed = removeUnplaced();
          process.stderr.write(`ERROR: interrupted again by ${sig}: exiting without cleaning up${removed.length > 0 ? ` (removed ${removed.join(', ')})` : ''}\n`);
          process.exit(signalStatus(signalled));
        }
        signalled = sig;
        signalledAt = Date.now();
        controller.abort(new Error(`interrupted by ${sig}`));
      });
    }
    const program = (ready?.program ?? await buildProgram(controller.signal, args)).exitOverride();
    if (args.length === 0) {
      // buildx's root command with no arguments prints its help on stdout and succeeds (commands/root.go, RunE):
      // docker/actions-toolkit's Buildx.isAvailable runs exactly that, and a failure there made setup-buildx-action
      // download a real buildx and build-push-action stop with "Docker buildx is required".
      program.outputHelp();
      return;
    }
    try {
      const { explicitBooleans } = await import('./cli.js');
      await program.parseAsync(explicitBooleans(program, args), { from: 'user' });
    } catch (err) {
      if (err instanceof CommanderError) {
        process.exitCode = err.exitCode === 0 ? 0 : 2;
      } else if (outputClosed()) {
        // The command failed because its reader went away (an output writing into stdout ends with EPIPE): that is
        // the status below, silently, as a program killed by SIGPIPE.
      } else if (signalled !== undefined && !isFailure(err)) {
        // Whatever the abort broke (a base image's lookup, a gzip child, an output's stream) is the interrupt, not a bug.
        process.stderr.write(`${isTsbuildError(err) ? formatError(err) : `ERROR: cancelled: interrupted by ${signalled}`}\n`);
        process.exitCode = signalStatus(signalled);
      } else {
        process.stderr.write(`${mapStack(formatError(err, args.includes('--debug')))}\n`);
        process.exitCode = exitStatus(err);
      }
    }
    if (outputClosed()) process.exitCode = CLOSED_OUTPUT_STATUS;
  }
}
