import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import type { ProgressSink } from '../../solver/index.js';
import { encodeHelperSpec } from './helper-spec.js';
import { sameFiles, startHelper } from './helper-pool.js';
import type { HelperPool } from './helper-pool.js';
import type { HelperSpec } from './helper-spec.js';
import type { OutputTail } from './output-tail.js';
import { parseStatusLine } from './status.js';
import type { Stub } from './status.js';
import { nativePath } from '../native-path.js';

/** How a helper run ended, from its status lines (and the process's own exit when it died before reporting). */
export interface HelperResult {
  failure?: { op: string; arg: string; errno: number };
  exitCode?: number;
  signal?: number;
  stubs: Stub[];
  /** The rootfs root's mtime [s, ns] when the step's process started. */
  settled?: [number, number];
}

const KILL_AFTER_MS = 2000;

/** The helper binary: `TSBUILD_RUN` when set, else worker/native/tsbuild-run of this checkout (source, dist or bundle). */
export function helperPath(): string {
  return nativePath('worker/native/tsbuild-run', 'TSBUILD_RUN');
}

const filters = new Map<string, Promise<Buffer>>();

/**
 * Docker's default seccomp profile compiled by the helper (`--export-seccomp`) for this kernel and Docker's default
 * capabilities: libseccomp needs 5-10 ms for it, so it is done once per process and binary, not per step.
 */
export function seccompFilter(binary = helperPath()): Promise<Buffer> {
  let filter = filters.get(binary);
  if (filter === undefined) {
    filter = exportSeccomp(binary);
    filters.set(binary, filter);
    filter.catch(() => filters.delete(binary));
  }
  return filter;
}

function exportSeccomp(binary: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--export-seccomp'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => { err += c.toString('utf8'); });
    child.on('error', (e) => reject(new Error(`could not start ${binary} --export-seccomp`, { cause: e })));
    child.on('close', (code) => {
      const bpf = Buffer.concat(out);
      // struct sock_filter is 8 bytes; an empty or torn filter must never be passed on as "no filter".
      if (code !== 0 || bpf.length === 0 || bpf.length % 8 !== 0) reject(new Error(`${binary} --export-seccomp failed (exit ${code}): ${err.trim()}`));
      else resolve(bpf);
    });
  });
}

/**
 * Runs the native helper with `spec`, streaming the container's stdout/stderr to progress and tail. On abort the
 * helper gets SIGTERM (it kills the container's pid 1, which takes the whole pid namespace down) and SIGKILL
 * 2 s later if it is still there. Resolves once the helper and every pipe are closed.
 */
export function runHelper(spec: HelperSpec, signal: AbortSignal, progress: ProgressSink, tail: OutputTail,
  binary = helperPath(), pool?: HelperPool): Promise<HelperResult> {
  return new Promise((resolve, reject) => {
    // A helper started earlier (helper-pool.ts) waits for its spec; without a pool, one is started now. One already
    // in exactly the step's cgroups joins none: its container is born in them.
    // `tsbuild debug` (spec.terminal): a helper of its own, given this process's stdin, stdout and stderr.
    const taken = spec.terminal !== undefined ? { child: startHelper(binary, 'terminal'), cgroups: [] }
      : pool?.take(binary, spec.cgroups) ?? { child: startHelper(binary), cgroups: [] };
    const child = taken.child;
    const isInCgroups = taken.cgroups.length > 0 && sameFiles(taken.cgroups, spec.cgroups);   // take() checked
    const result: HelperResult = { stubs: [] };
    let parseError: unknown;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    for (const [stream, name] of [[child.stdout, 'stdout'], [child.stderr, 'stderr']] as const) {
      stream?.on('data', (chunk: Buffer) => {
        progress.log(name, chunk);
        tail.push(chunk);
      });
    }
    let pending = '';
    const status = child.stdio[3] as Readable;
    status.setEncoding('utf8');
    status.on('data', (text: string) => {
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const s = parseStatusLine(line);
          if (s.kind === 'stub') result.stubs.push(s.stub);
          else if (s.kind === 'failure') result.failure = { op: s.op, arg: s.arg, errno: s.errno };
          else if (s.kind === 'settled') result.settled = s.mtime;
          else if (s.kind === 'exit') result.exitCode = s.code;
          else result.signal = s.signal;
        } catch (err) {
          parseError ??= err;
        }
      }
    });
    child.stdin?.on('error', () => { /* the helper died before reading its spec: its exit status says why */ });
    child.stdin?.end(encodeHelperSpec(isInCgroups ? { ...spec, cgroupsJoined: true } : spec));
    child.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(new Error(`could not start ${binary}`, { cause: err }));
    });
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', onAbort);
      if (killTimer !== undefined) clearTimeout(killTimer);
      if (parseError !== undefined) return reject(parseError);
      // No final status line: the helper itself was killed (or crashed) before it could write one.
      if (result.exitCode === undefined && result.signal === undefined && result.failure === undefined) {
        if (sig !== null) result.signal = signalNumber(sig);
        else result.exitCode = code ?? 125;
      }
      resolve(result);
    });
  });
}

function signalNumber(name: NodeJS.Signals): number {
  return constants.signals[name];
}

