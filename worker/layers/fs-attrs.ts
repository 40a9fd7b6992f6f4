import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fsattrPath } from '../confined/index.js';
import { nameBytes, nameKey, nameOf } from '../../common/index.js';
import type { FsName } from '../../common/index.js';

// Node has no xattr API. Reading them for a layer export goes through worker/native/fsattr (plain C, built by the
// Makefile): one long-lived `tsbuild-fsattr read --batches` process answers every layer's batch in turn, so a small
// RUN step's export costs no process start (a spawn was 3-4 ms of each step on these hosts). It only lists and
// reads attributes of the paths it is given, never following a symlink; writes of any kind go through the confined
// writer (worker/confined). (It replaced a python3 script whose start-up alone cost 30–350 ms per RUN step on these
// hosts, then a process per layer; see bench/RESULTS.md.)

const NUL = Buffer.from([0]);

/** NUL-separated fields, the only framing that carries any path byte for byte. */
function nulFields(fields: FsName[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    const bytes = nameBytes(f);
    if (bytes.length === 0 || bytes.includes(0)) throw new Error(`fsattr field is empty or contains NUL: ${JSON.stringify(bytes.toString('utf8'))}`);
    parts.push(bytes, NUL);
  }
  return Buffer.concat(parts);
}

/**
 * The extended attributes of each path (not following symlinks), by nameKey (a string path is its own key); paths
 * without any are absent from the map. A path given as bytes (not UTF-8) is read by those bytes. With `only`, just
 * those attributes: the value of any other is never read (an SELinux host labels every file, an ACL'd tree has one
 * on each entry; a layer export needs neither).
 */
export async function readXattrs(paths: FsName[], only?: readonly string[]): Promise<Map<string, Record<string, Buffer>>> {
  const result = new Map<string, Record<string, Buffer>>();
  if (paths.length === 0) return result;
  const out = await XattrReader.shared(only ?? []).read(nulFields(paths));
  let current: Record<string, Buffer> | undefined;
  let name: string | undefined;
  // Field by field in the bytes: a path is given back as it was sent, whatever its bytes.
  for (let start = 0, end = out.indexOf(0); end !== -1; start = end + 1, end = out.indexOf(0, start)) {
    if (end === start) continue;
    const tag = out[start];
    const rest = out.subarray(start + 1, end);
    if (tag === 0x50) { current = {}; result.set(nameKey(nameOf(rest)), current); }   // P
    else if (tag === 0x4e) name = rest.toString('utf8');   // N
    else if (tag === 0x56 && current && name !== undefined) { current[name] = Buffer.from(rest.toString('latin1'), 'hex'); name = undefined; }   // V
    else throw new Error(`tsbuild-fsattr: malformed output field ${JSON.stringify(rest.subarray(0, 40).toString('utf8'))}`);
  }
  return result;
}

const END = Buffer.from('E\0');

/**
 * The one reader process of each set of wanted names (all of them, or a layer export's few), started on first use and
 * kept (unreferenced while idle, so it never keeps Node alive; it exits when its stdin closes with this process).
 * Batches run one at a time; a failure ends the process, fails the batch it was on, and the next batch starts a new one.
 */
class XattrReader {
  static readonly #shared = new Map<string, XattrReader>();
  readonly #child: ChildProcessWithoutNullStreams;
  #queue: Promise<unknown> = Promise.resolve();
  #out: Buffer[] = [];
  #stderr = '';
  #pending: { resolve: (b: Buffer) => void; reject: (e: unknown) => void } | undefined;
  #failure: Error | undefined;

  static shared(only: readonly string[]): XattrReader {
    const key = only.join('\0');
    let reader = XattrReader.#shared.get(key);
    if (reader === undefined || reader.#failure !== undefined) XattrReader.#shared.set(key, (reader = new XattrReader(only)));
    return reader;
  }

  private constructor(only: readonly string[]) {
    this.#child = spawn(fsattrPath(), ['read', '--batches', ...only.flatMap((name) => ['--only', name])], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stdout.on('data', (c: Buffer) => this.#onData(c));
    this.#child.stderr.on('data', (c: Buffer) => { this.#stderr += c.toString('utf8'); });
    this.#child.stdin.on('error', () => undefined);   // EPIPE after a failure: the exit status tells why
    this.#child.on('error', (e) => this.#fail(new Error('cannot run tsbuild-fsattr; run make native', { cause: e })));
    this.#child.on('close', (code) => {
      const last = this.#stderr.trim().split('\n').slice(-1)[0] ?? '';
      this.#fail(new Error(`tsbuild-fsattr read failed (exit ${String(code)}): ${last}`));
    });
    this.#idle();
  }

  /** The raw answer to one batch (without its end marker). */
  read(input: Buffer): Promise<Buffer> {
    const run = this.#queue.then(() => this.#send(input));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #send(input: Buffer): Promise<Buffer> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#busy();
      this.#child.stdin.write(Buffer.concat([input, Buffer.from([0])]));
    });
  }

  #onData(chunk: Buffer): void {
    this.#out.push(chunk);
    const all = this.#out.length === 1 ? chunk : Buffer.concat(this.#out);
    // The answer ends with the field "E": the last two bytes, at the start or right after another field's NUL.
    const isComplete = all.length >= 2 && all.subarray(all.length - 2).equals(END) && (all.length === 2 || all[all.length - 3] === 0);
    if (!isComplete) {
      this.#out = [all];
      return;
    }
    this.#out = [];
    const pending = this.#pending;
    this.#pending = undefined;
    this.#idle();
    pending?.resolve(all.subarray(0, all.length - 2));
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(this.#failure);
  }

  // While a batch is out, the process and its output keep Node running; idle, they do not. (The pipes are
  // net.Socket objects, typed as plain streams.)
  #busy(): void {
    this.#child.ref();
    handle(this.#child.stdout).ref?.();
  }

  #idle(): void {
    this.#child.unref();
    for (const s of [this.#child.stdin, this.#child.stdout, this.#child.stderr]) handle(s).unref?.();
  }
}

function handle(stream: object): { ref?: () => void; unref?: () => void } {
  return stream as { ref?: () => void; unref?: () => void };
}
