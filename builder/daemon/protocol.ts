// The wire between tsbuild-client (builder/daemon/client.c) and a warm tsbuild process of `tsbuild daemon`, over the
// daemon's unix socket after the daemon has handed the connection to that process. Documented here, once.
//
// Every frame: 1 byte type, 4 bytes payload length (uint32, little-endian), the payload.
//
// warm process → client
//   'H' hello, first and once: "ok MNTNS_INODE EUID PID" (or "fallback …" when this process cannot run the user's
//       commands). The client runs the command directly (bin/tsbuild with TSBUILD_DAEMON=0) unless the mode is ok and
//       the mount namespace (inode of /proc/self/ns/mnt) and euid are its own: paths in argv must mean the same files.
//   '1' bytes for stdout   '2' bytes for stderr
//   'i' the command reads stdin: from now on the client sends it (before this it never reads its stdin)
//   'X' the exit status, last: "exit N"
// client → warm process
//   'R' the request, once, after the hello: NUL-terminated strings: "1" (version), client pid, umask (decimal), cwd,
//       "T0 T1 T2" (isatty of fds 0, 1, 2), "C0 R0 C1 R1 C2 R2" (window size of each, 0 0 when not a terminal), argc,
//       argc arguments, envc, envc "NAME=value" strings
//   'I' stdin bytes; an empty 'I' is EOF
//   'S' a signal the client received (1 byte, its number: SIGINT, SIGTERM, SIGHUP); the process raises it on itself
//   'W' new window sizes, "C0 R0 C1 R1 C2 R2"
// The client's socket closing while the command runs is a SIGTERM. A process gone without 'X' after a forwarded
// signal N makes the client exit 128+N, as a shell would; else 1.

/** A frame's type byte, as a character. */
export type FrameType = 'H' | '1' | '2' | 'i' | 'X' | 'R' | 'I' | 'S' | 'W';

/** One decoded frame. */
export interface Frame { type: string; payload: Buffer }

/** The frame of `type` around `payload`. */
export function encodeFrame(type: FrameType, payload: Uint8Array | string = ''): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32LE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Splits a byte stream into frames; `push` each chunk as it arrives, in order. */
export class FrameReader {
  #pending: Buffer = Buffer.alloc(0);

  /** The whole frames completed by `chunk`. */
  push(chunk: Buffer): Frame[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: Frame[] = [];
    while (this.#pending.length >= 5) {
      const len = this.#pending.readUInt32LE(1);
      if (this.#pending.length < 5 + len) break;
      frames.push({ type: String.fromCharCode(this.#pending[0] ?? 0), payload: this.#pending.subarray(5, 5 + len) });
      this.#pending = this.#pending.subarray(5 + len);
    }
    return frames;
  }
}

/** A terminal's size; 0 0 for an fd that is not one. */
export interface WindowSize { columns: number; rows: number }

/** What the client sent in its 'R' frame. */
export interface DaemonRequest {
  clientPid: number;
  umask: number;
  cwd: string;
  isTTY: [boolean, boolean, boolean];
  sizes: [WindowSize, WindowSize, WindowSize];
  argv: string[];
  env: Record<string, string>;
}

/** The three window sizes of a "C0 R0 C1 R1 C2 R2" string. */
export function parseSizes(text: string): [WindowSize, WindowSize, WindowSize] {
  const n = text.split(' ').map(Number);
  const size = (i: number): WindowSize => ({ columns: n[2 * i] || 0, rows: n[2 * i + 1] || 0 });
  return [size(0), size(1), size(2)];
}

/** Parses an 'R' payload; throws on anything malformed (the client and this file disagree). */
export function parseRequest(payload: Buffer): DaemonRequest {
  const fields = payload.toString('utf8').split('\0');
  let at = 0;
  const next = (): string => {
    const value = fields[at++];
    if (value === undefined) throw new Error('daemon request: truncated');
    return value;
  };
  const count = (): number => {
    const n = Number(next());
    if (!Number.isInteger(n) || n < 0) throw new Error('daemon request: bad count');
    return n;
  };
  if (next() !== '1') throw new Error('daemon request: unknown version');
  const clientPid = count();
  const umask = count();
  const cwd = next();
  const ttys = next().split(' ').map((t) => t === '1');
  const sizes = parseSizes(next());
  const argv = Array.from({ length: count() }, next);
  const env: Record<string, string> = {};
  for (const entry of Array.from({ length: count() }, next)) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { clientPid, umask, cwd, isTTY: [ttys[0] ?? false, ttys[1] ?? false, ttys[2] ?? false], sizes, argv, env };
}
