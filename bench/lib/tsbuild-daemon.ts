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
  /** What the daemon has logged so far (its stderr). */
  #log = '';
  /** How many warm processes the daemon keeps waiting (its 'listening on' line says). */
  #warm = 1;
  private constructor(child: ChildProcess, dir: string, socket: string) {
    this.#child = child;
    this.#dir = dir;
    this.env = { TSBUILD_DAEMON_SOCKET: socket };
  }

  /**
   * Resolves once the daemon has all its warm processes waiting again. Each command it serves ends its warm process
   * and the daemon starts the next one at once: that one's start and pre-warm builds (a few hundred ms of CPU) would
   * otherwise run during the next contender's measured run. Untimed: a daemon contender calls it after its run.
   */
  async settled(timeoutMs = 30_000): Promise<void> {
    const count = (what: RegExp): number => this.#log.match(what)?.length ?? 0;
    const end = Date.now() + timeoutMs;
    while (count(/warm process \d+ ready/g) - count(/connection → process/g) < this.#warm) {
      if (this.#child.exitCode !== null || Date.now() > end) throw new Error(`tsbuild daemon: its warm processes are not ready: ${this.#log}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Starts `bin/tsbuild daemon --socket DIR/tsbuild.sock` and resolves once it listens and its warm processes are ready. */
  static async start(bin: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<TsbuildDaemon> {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-bench-daemon-'));
    const socket = join(dir, 'tsbuild.sock');
    const child = spawn(bin, ['daemon', '--socket', socket], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...extraEnv } });
    const daemon = new TsbuildDaemon(child, dir, socket);
    child.stderr?.on('data', (c: Buffer) => { daemon.#log += c.toString(); });
    const end = Date.now() + 30_000;
    while (!daemon.#log.includes('listening on')) {
      if (child.exitCode !== null || Date.now() > end) {
        await daemon.stop();
        throw new Error(`tsbuild daemon did not start: ${daemon.#log}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    daemon.#warm = Number(/listening on .*, (\d+) warm process/.exec(daemon.#log)?.[1] ?? 1);
    try {
      await daemon.settled();   // its first warm processes pre-warm after it listens
    } catch (err) {
      await daemon.stop();
      throw err;
    }
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
