import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A `tsbuild daemon` the bench starts on a private socket and stops: a contender runs bin/tsbuild with `env` to go
 * through it (bin/tsbuild hands the command to a warm process when the socket exists).
 */
export class TsbuildDaemon {
  readonly #child: ChildProcess;
  readonly #dir: string;
  /** The environment that makes bin/tsbuild use this daemon. */
  readonly env: NodeJS.ProcessEnv;
  private constructor(child: ChildProcess, dir: string, socket: string) {
    this.#child = child;
    this.#dir = dir;
    this.env = { TSBUILD_DAEMON_SOCKET: socket };
  }

  /** Starts `bin/tsbuild daemon --socket DIR/tsbuild.sock` and resolves once it listens and a warm process is ready. */
  static async start(bin: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<TsbuildDaemon> {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-bench-daemon-'));
    const socket = join(dir, 'tsbuild.sock');
    const child = spawn(bin, ['daemon', '--socket', socket], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...extraEnv } });
    let log = '';
    child.stderr?.on('data', (c: Buffer) => { log += c.toString(); });
    const daemon = new TsbuildDaemon(child, dir, socket);
    const end = Date.now() + 30_000;
    while (!log.includes('listening on')) {
      if (child.exitCode !== null || Date.now() > end) {
        await daemon.stop();
        throw new Error(`tsbuild daemon did not start: ${log}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    // Its first warm process pre-warms after the daemon listens: give it the time it has between two builds.
    await new Promise((r) => setTimeout(r, 1000));
    return daemon;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null) {
      const exited = new Promise((r) => this.#child.once('exit', r));
      this.#child.kill('SIGTERM');
      await exited;
    }
    await rm(this.#dir, { recursive: true, force: true });
  }
}
