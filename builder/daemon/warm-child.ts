import { writeSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { WriteStream } from 'node:tty';
import { encodeFrame, FrameReader, parseRequest, parseSizes, type DaemonRequest, type FrameType, type WindowSize } from './protocol.js';
import { prewarm } from './prewarm.js';

// A warm process of `tsbuild daemon` (builder/daemon/server.ts starts it as bin/tsbuild does, with
// TSBUILD_DAEMON_WARM=1 and an IPC channel). It pre-warms what every command pays for on first use, tells the daemon
// it is ready, and waits for ONE connection the daemon passes over IPC. Then it becomes the client's command: the
// client's environ, cwd, umask, argv and terminal, its stdout/stderr/stdin carried as frames (protocol.ts), and exits
// as that command would. Nothing the request will need is read before it arrives; no root of the user's is opened
// ahead of time (prewarm.ts builds once in a scratch root of its own).

/**
 * Serves one request with `run` (the CLI's main), then lets the process end as a direct run would. `daemonDir`: the
 * daemon's private directory, where the pre-warm build makes its scratch root (prewarm.ts).
 */
export async function serveOneRequest(run: (argv: string[]) => Promise<void>, daemonDir: string | undefined): Promise<void> {
  // An idle warm process ends with its daemon (the IPC channel closes when the daemon does).
  const orphaned = (): void => process.exit(0);
  process.on('disconnect', orphaned);
  await prewarm(run, daemonDir);
  const socket = await new Promise<Socket>((resolve) => {
    process.on('message', (message: unknown, handle: unknown) => {
      if (message === 'req' && handle !== undefined) resolve(handle as Socket);
    });
    process.send?.('ready');
  });
  // Out of the daemon's hands: this process no longer answers it, and the channel must not keep it alive.
  process.removeAllListeners('message');
  process.off('disconnect', orphaned);
  process.disconnect?.();
  await serve(socket, run);
}

/** The socket's fd, written synchronously so that every byte is out before a `process.exit` ends the process. */
function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('daemon: the passed connection has no fd');
  return fd;
}

// 1 ms waits while the client's socket buffer is full (the client writes to a slow terminal): writes stay synchronous,
// as Node's own stdout is for files and pipes. Made on first use: `node --build-snapshot` has no SharedArrayBuffer.
let pause: Int32Array | undefined;

async function serve(socket: Socket, run: (argv: string[]) => Promise<void>): Promise<void> {
  const fd = socketFd(socket);
  let gone = false;
  const send = (type: FrameType, payload?: Uint8Array | string): void => {
    if (gone) return;
    const frame = encodeFrame(type, payload);
    let off = 0;
    while (off < frame.length) {
      try {
        off += writeSync(fd, frame, off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') { Atomics.wait(pause ??= new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); continue; }
        gone = true;   // EPIPE and the like: the client went away; its 'close' aborts the command
        return;
      }
    }
  };
  const uid = process.getuid?.();
  // Rootless builds re-execute the CLI through unshare with inherited fds (builder/rootless.ts), which this process
  // does not have: an unprivileged user's commands run directly.
  const mode = uid === 0 ? 'ok' : 'fallback';
  send('H', `${mode} ${statSync('/proc/self/ns/mnt').ino} ${process.geteuid?.() ?? -1} ${process.pid}`);
  if (mode !== 'ok') { socket.destroy(); return; }

  const reader = new FrameReader();
  let stdin: FrameStdin | undefined;
  let outputs: FrameOutput[] = [];
  let running = false;
  const request = await new Promise<DaemonRequest | undefined>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        if (frame.type === 'R' && !running) { running = true; resolve(parseRequest(frame.payload)); }
        else if (frame.type === 'I') stdin?.deliver(frame.payload);
        else if (frame.type === 'S') raise(frame.payload[0] ?? 0);
        else if (frame.type === 'W') { const sizes = parseSizes(frame.payload.toString()); for (const o of outputs) o.resize(sizes); }
      }
    });
    socket.on('close', () => {
      gone = true;
      // The client went away: abort the command as on SIGTERM (main's handler), or end here before it started.
      if (running) process.kill(process.pid, 'SIGTERM');
      else resolve(undefined);
    });
    socket.on('error', () => undefined);
  });
  if (request === undefined) return;

  stdin = new FrameStdin(() => send('i'), request.isTTY[0]);
  outputs = [new FrameOutput('1', send, request, 1), new FrameOutput('2', send, request, 2)];
  process.on('exit', (code) => { send('X', `exit ${code}`); });
  adopt(request, stdin, outputs);
  // The socket must not keep the process alive once the command is done: it ends when the command's work does.
  try {
    await run(request.argv);
  } finally {
    socket.unref();
  }
}

/** Raises a forwarded signal on this process, so main's handlers (or the default action) run as on a direct run. */
function raise(signo: number): void {
  const name = Object.entries(osConstants.signals).find(([, n]) => n === signo)?.[0];
  if (name === 'SIGINT' || name === 'SIGTERM' || name === 'SIGHUP') process.kill(process.pid, name);
}

/** Takes on the client's process state: environ, cwd, umask, argv, and its stdio as frame streams. */
function adopt(request: DaemonRequest, stdin: FrameStdin, outputs: FrameOutput[]): void {
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, request.env);
  process.chdir(request.cwd);
  process.umask(request.umask);
  // [node, script, ...args] as the CLI expects (builder/rootless.ts re-executes with argv[1]).
  process.argv.splice(2, process.argv.length - 2, ...request.argv);
  const [stdout, stderr] = outputs;
  for (const [name, stream] of [['stdin', stdin], ['stdout', stdout], ['stderr', stderr]] as const) {
    Object.defineProperty(process, name, { value: stream, configurable: true, enumerable: true, writable: true });
  }
  // The global console is left alone: tsbuild writes to process.stdout/stderr only (no console.* outside tests).
}

/** stdin over frames: asks the client for it ('i') only when the command first reads it. */
class FrameStdin extends Readable {
  readonly isTTY: boolean;
  readonly fd = 0;
  #asked = false;
  readonly #ask: () => void;
  constructor(ask: () => void, isTTY: boolean) {
    super();
    this.#ask = ask;
    this.isTTY = isTTY;
  }

  override _read(): void {
    if (!this.#asked) { this.#asked = true; this.#ask(); }
  }

  /** An 'I' frame's payload; empty is EOF. */
  deliver(data: Buffer): void {
    this.push(data.length === 0 ? null : Buffer.from(data));
  }
}

/** stdout or stderr over frames, reporting the client's terminal as its own (builder/progress picks TTY output by it). */
class FrameOutput extends Writable {
  readonly isTTY: boolean;
  readonly fd: number;
  columns: number | undefined;
  rows: number | undefined;
  readonly #type: FrameType;
  readonly #send: (type: FrameType, payload: Uint8Array | string) => void;
  constructor(type: FrameType, send: (type: FrameType, payload: Uint8Array | string) => void, request: DaemonRequest, fd: 1 | 2) {
    super({ decodeStrings: true });
    this.#type = type;
    this.#send = send;
    this.fd = fd;
    this.isTTY = request.isTTY[fd];
    this.#setSize(request.sizes[fd]);
  }

  #setSize(size: WindowSize): void {
    this.columns = this.isTTY ? size.columns : undefined;
    this.rows = this.isTTY ? size.rows : undefined;
  }

  /** A 'W' frame: the client's terminal changed size. */
  resize(sizes: [WindowSize, WindowSize, WindowSize]): void {
    const size = sizes[this.fd === 1 ? 1 : 2];
    if (!this.isTTY || size === undefined) return;
    this.#setSize(size);
    this.emit('resize');
  }

  // Node's own answers, from the (now the client's) environment.
  getColorDepth(env: NodeJS.ProcessEnv = process.env): number {
    return WriteStream.prototype.getColorDepth.call(this, env);
  }

  hasColors(count: number | NodeJS.ProcessEnv = 16, env: NodeJS.ProcessEnv = process.env): boolean {
    // tty.WriteStream's rule: `count` colours fit in the depth.
    return typeof count === 'number' ? count <= 2 ** this.getColorDepth(env) : 16 <= 2 ** this.getColorDepth(count);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send(this.#type, chunk);
    callback();
  }
}
