import { isatty } from 'node:tty';
import type { ExecOp } from '../../frontend/index.js';
import type { ImageConfig } from '../../registry/index.js';
import type { ExecResources, FailedExec, FsState, ProgressSink } from '../../solver/index.js';
import type { ProgressWriter } from '../progress/index.js';
import { invokeArgv, type InvokeConfig } from '../options/invoke.js';

// `tsbuild debug build` (buildx's `debug --on=… --invoke=…`): a process a person talks to, in the container of the
// RUN that failed (its filesystem as that step began, its mounts, secrets, network and environment) or in the
// finished image, as the build's steps run: the same sandbox, and its changes thrown away.

/** When a debug session starts, and what it runs. */
export interface DebugRequest {
  /** `--on`: 'error' (a RUN failed) or 'always' (also after a build that succeeded). */
  on: 'error' | 'always';
  invoke: InvokeConfig;
  /** `--invoke` was given: buildx then starts it after a successful build too. */
  isInvokeGiven: boolean;
}

/** The part of the worker a session runs in (worker/linux-worker.ts interact). */
export interface InteractiveWorker {
  interact(op: ExecOp, parent: FsState, resources: ExecResources, terminal: 'stdio' | 'tty', signal: AbortSignal, progress: ProgressSink): Promise<number>;
}

/** A shell (or the --invoke command) where a RUN failed, with that step's mounts, user, directory and environment. */
export async function debugFailedRun(worker: InteractiveWorker, failed: FailedExec, req: DebugRequest, progress: ProgressWriter, signal: AbortSignal): Promise<void> {
  const { invoke } = req;
  const op: ExecOp = {
    ...failed.op, argv: invokeArgv(invoke), env: [...failed.op.env, ...invoke.env],
    cwd: invoke.cwd ?? failed.op.cwd, user: invoke.user ?? failed.op.user,
  };
  progress.note(`debug: ${op.argv.join(' ')} in the container of the RUN that failed (its filesystem as the step began; nothing it changes is kept)`);
  await session(worker, op, failed.parent, failed.resources, invoke, progress, signal);
}

/** The --invoke command (or a shell) in the image the build made: its environment, WORKDIR and USER. */
export async function debugResult(worker: InteractiveWorker, fs: FsState, image: ImageConfig, req: DebugRequest, progress: ProgressWriter, signal: AbortSignal): Promise<void> {
  const { invoke } = req;
  const config = image.config ?? {};
  const op: ExecOp = {
    kind: 'exec', argv: invokeArgv(invoke), env: [...(config.Env ?? []), ...invoke.env],
    cwd: invoke.cwd ?? (config.WorkingDir || '/'), user: invoke.user ?? config.User ?? '',
    mounts: [], network: 'default', security: 'sandbox',
  };
  progress.note(`debug: ${op.argv.join(' ')} in the image the build made (nothing it changes is kept)`);
  await session(worker, op, fs, { sources: {}, secrets: {} }, invoke, progress, signal);
}

async function session(worker: InteractiveWorker, op: ExecOp, parent: FsState, resources: ExecResources, invoke: InvokeConfig, progress: ProgressWriter, signal: AbortSignal): Promise<void> {
  // A pseudo-terminal when a person is there (stdin a terminal, as buildx's tty=true default asks); pipes otherwise.
  // Asked of fd 0 itself: process.stdin would be a stream of this process's, and the helper reads stdin, not us.
  const terminal = invoke.tty && isatty(0) ? 'tty' : 'stdio';
  // Raw: each key goes to the step's terminal as typed, Ctrl-C included (its foreground process's, not tsbuild's).
  // Node puts the terminal back as it was when it exits, whatever way.
  if (terminal === 'tty') process.stdin.setRawMode(true);
  // The step's output is the person's, not the build's log.
  const quiet: ProgressSink = { log: () => undefined, status: () => undefined };
  let status: number;
  try {
    status = await worker.interact(op, parent, resources, terminal, signal, quiet);
  } finally {
    if (terminal === 'tty') {
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
  }
  progress.note(`debug: ${op.argv[0] ?? ''} exited with status ${status}`);
}
