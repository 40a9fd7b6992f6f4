import { spawn } from 'node:child_process';

/** How one command ran: wall time from spawn to exit, and what it printed. */
export interface CommandRun {
  ms: number;
  /** Epoch ms at spawn, to line up with the epoch times in tsbuild's tsbuild-json events. */
  startedAt: number;
  stdout: string;
  stderr: string;
}

/** Options for `runCommand`: working directory, extra environment, and stdin text. */
export interface CommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Keep all of stdout and stderr instead of their last 256 KiB (a tsbuild-json log read from its first event). */
  keepAll?: boolean;
}

/** A benchmarked command that failed: the bench records it for the scenario and goes on with the next one. */
export class CommandError extends Error {
  constructor(readonly command: string, readonly code: number | null, readonly output: string) {
    // Stack frames push the message itself out of a short tail: keep the lines that say what happened.
    const shown = output.trim().split('\n').filter((l) => !/^\s+at /.test(l)).slice(-10);
    super(`${command} exited with ${code ?? 'a signal'}: ${shown.join('\n')}`);
  }
}

const KEEP = 256 * 1024;

/**
 * Runs `cmd args` to completion and times it with the monotonic clock. Output is kept (the last 256 KiB of each
 * stream, or all of it with `keepAll`) for error messages and for the `--progress tsbuild-json` breakdown. Rejects with CommandError on a non-zero exit.
 */
export function runCommand(cmd: string, args: string[], opts: CommandOptions = {}): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const startedAt = Date.now();
    const stdin = opts.input === undefined ? 'ignore' : 'pipe';
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: [stdin, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const all: { stdout: Buffer[]; stderr: Buffer[] } = { stdout: [], stderr: [] };
    child.stdout?.on('data', (b: Buffer) => { if (opts.keepAll === true) all.stdout.push(b); else stdout = (stdout + b.toString('utf8')).slice(-KEEP); });
    child.stderr?.on('data', (b: Buffer) => { if (opts.keepAll === true) all.stderr.push(b); else stderr = (stderr + b.toString('utf8')).slice(-KEEP); });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (opts.keepAll === true) {
        stdout = Buffer.concat(all.stdout).toString('utf8');
        stderr = Buffer.concat(all.stderr).toString('utf8');
      }
      if (code === 0) resolve({ ms, startedAt, stdout, stderr });
      else reject(new CommandError([cmd, ...args].join(' '), code, `${stdout}\n${stderr}`));
    });
    // A child may exit without reading its input: EPIPE then is its business, its exit status tells the outcome.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input);
  });
}

/** Runs a shell pipeline (`bash -o pipefail -c script`) and times it. */
export function runShell(script: string, opts: CommandOptions = {}): Promise<CommandRun> {
  return runCommand('bash', ['-o', 'pipefail', '-c', script], opts);
}
