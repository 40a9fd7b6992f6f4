import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../../common/index.js';

// `tsbuild daemon`: keeps warm tsbuild processes (builder/daemon/warm-child.ts) and hands each connection of
// tsbuild-client to one of them, over Node's IPC (the socket travels as a handle); the daemon is then out of the data
// path and the process is the command's own until it exits. The daemon holds no build state: it never opens a root.

/** How the daemon runs. */
export interface DaemonOptions {
  /** The unix socket to listen on (its directory is made 0700 if missing). */
  socket: string;
  /** How many warm processes to keep ready. */
  warm: number;
  /** bin/tsbuild, which starts each warm process exactly as it starts a command. */
  bin: string;
  /** Ends the daemon (Ctrl-C, SIGTERM): the socket is removed, idle warm processes end, running commands finish. */
  signal: AbortSignal;
  log: (line: string) => void;
}

/** The socket path when none is given: $TSBUILD_DAEMON_SOCKET, /run/tsbuild for root, else $XDG_RUNTIME_DIR/tsbuild. */
export function defaultSocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['TSBUILD_DAEMON_SOCKET']) return env['TSBUILD_DAEMON_SOCKET'];
  if (process.geteuid?.() === 0) return '/run/tsbuild/tsbuild.sock';
  return env['XDG_RUNTIME_DIR'] ? join(env['XDG_RUNTIME_DIR'], 'tsbuild', 'tsbuild.sock') : undefined;
}

/** bin/tsbuild of the checkout this process runs from (argv[1] is dist/bundle/cli/launch.js on both entries). */
export function binTsbuild(): string {
  return resolve(dirname(process.argv[1] ?? ''), '../../../bin/tsbuild');
}

/** Runs the daemon until `signal` aborts. */
export async function runDaemon(opts: DaemonOptions): Promise<void> {
  await prepareSocketPath(opts.socket);
  const pool = new WarmPool(opts);
  const server = createServer({ pauseOnConnect: true }, (socket) => pool.serve(socket));
  const oldMask = process.umask(0o177);   // the socket is 0600 from its creation, not after a chmod
  try {
    await new Promise<void>((res, rej) => { server.once('error', rej); server.listen(opts.socket, () => res()); });
  } finally {
    process.umask(oldMask);
  }
  chmodSync(opts.socket, 0o600);
  opts.log(`listening on ${opts.socket}, ${opts.warm} warm process${opts.warm === 1 ? '' : 'es'}`);
  pool.fill();
  await new Promise<void>((res) => {
    if (opts.signal.aborted) res();
    else opts.signal.addEventListener('abort', () => res(), { once: true });
  });
  close(server, opts.socket);
  pool.stop();
  opts.log('stopped');
}

// Not waiting for close's callback: Node counts every connection passed to a child until that child says it closed
// it, and a warm process leaves the IPC channel as soon as it has its connection, so it never says.
function close(server: Server, socket: string): void {
  server.close();
  try { unlinkSync(socket); } catch { /* already gone */ }
}

/**
 * The socket's directory exists, is ours and private; no live daemon answers on the socket (a stale one is removed).
 */
async function prepareSocketPath(socket: string): Promise<void> {
  const dir = dirname(socket);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new UserError('INVALID_ARGUMENT', `cannot create the daemon's directory ${dir}: ${(err as Error).message}`, 'create it, owned by you, mode 0700');
    }
  }
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.geteuid?.() || (st.mode & 0o022) !== 0) {
    throw new UserError('INVALID_ARGUMENT', `the daemon's directory ${dir} is not a directory owned by you and writable by you alone`,
      'clients would refuse its socket: use a directory of your own (mode 0700) with --socket or TSBUILD_DAEMON_SOCKET');
  }
  let existing;
  try { existing = lstatSync(socket); } catch { return; }
  if (!existing.isSocket()) throw new UserError('INVALID_ARGUMENT', `${socket} exists and is not a socket`, 'remove it or choose another --socket');
  if (await answers(socket)) {
    throw new UserError('INVALID_ARGUMENT', `a tsbuild daemon already listens on ${socket}`, 'stop it first, or use another --socket');
  }
  unlinkSync(socket);
}

/** Whether something accepts connections on `socket`. */
function answers(socket: string): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(socket);
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
  });
}

/**
 * The warm processes. One is handed each connection; its replacement starts when it exits, so that it does not
 * compete with the running command for the cores (bench/RESULTS.md). A connection that finds none waits for one.
 */
class WarmPool {
  readonly #opts: DaemonOptions;
  readonly #ready: ChildProcess[] = [];
  readonly #starting = new Set<ChildProcess>();
  readonly #waiting: Socket[] = [];
  #busy = 0;
  #stopped = false;
  #failures = 0;
  constructor(opts: DaemonOptions) { this.#opts = opts; }

  /** Starts warm processes until `warm` are ready or starting (plus one per waiting connection). */
  fill(): void {
    while (!this.#stopped && this.#ready.length + this.#starting.size < Math.max(this.#opts.warm - this.#busy, 0) + this.#waiting.length) {
      this.#start();
    }
  }

  serve(socket: Socket): void {
    socket.on('error', () => undefined);
    this.#waiting.push(socket);
    this.#dispatch();
    this.fill();
  }

  stop(): void {
    this.#stopped = true;
    for (const child of [...this.#ready, ...this.#starting]) child.kill('SIGTERM');
    for (const socket of this.#waiting) socket.destroy();
  }

  #dispatch(): void {
    while (this.#waiting.length > 0 && this.#ready.length > 0) {
      const socket = this.#waiting.shift();
      const child = this.#ready.shift();
      if (socket === undefined || child === undefined) return;
      if (socket.destroyed) { this.#ready.unshift(child); continue; }
      this.#busy++;
      child.once('exit', () => { this.#busy--; this.fill(); });
      child.send('req', socket, (err) => {
        if (err) this.#opts.log(`handing a connection to ${child.pid}: ${err.message}`);
        socket.destroy();   // the child has its own copy; ours only kept the connection until it was passed
      });
      this.#opts.log(`connection → process ${child.pid}`);
    }
  }

  #start(): void {
    // As bin/tsbuild starts a command (the same node, flags and startup snapshot); TSBUILD_DAEMON=0 keeps bin/tsbuild
    // from turning into the client itself. Its own process group: a Ctrl-C at the daemon's terminal is not the command's.
    // TSBUILD_DAEMON_DIR: the socket's directory (private: prepareSocketPath), where it warms up (prewarm.ts).
    const child = spawn(this.#opts.bin, ['daemon-warm-process'], {
      env: { ...process.env, TSBUILD_DAEMON: '0', TSBUILD_DAEMON_WARM: '1', TSBUILD_DAEMON_DIR: dirname(this.#opts.socket) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      detached: true,
    });
    this.#starting.add(child);
    child.on('error', (err) => this.#opts.log(`cannot start a warm process: ${err.message}`));
    child.on('message', (message: unknown) => {
      if (message !== 'ready' || !this.#starting.delete(child)) return;
      this.#opts.log(`warm process ${child.pid} ready`);
      this.#failures = 0;
      if (this.#stopped) { child.kill('SIGTERM'); return; }
      this.#ready.push(child);
      this.#dispatch();
    });
    child.once('exit', (code, sig) => {
      const wasIdle = this.#starting.delete(child) || removeFrom(this.#ready, child);
      if (!wasIdle || this.#stopped) return;
      // Died before serving anything: start another, slower each time it happens again (a broken build of dist/).
      this.#opts.log(`warm process ${child.pid} ended before serving (${sig ?? `exit ${code}`})`);
      const delay = Math.min(100 * 2 ** this.#failures++, 10_000);
      setTimeout(() => this.fill(), delay).unref();
    });
  }
}

function removeFrom<T>(list: T[], item: T): boolean {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
  return i >= 0;
}
