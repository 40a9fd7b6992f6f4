import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { nameOf, showName, UserError } from '../../common/index.js';
import type { FsName } from '../../common/index.js';
import { parseFsattrReport } from './fsattr-path.js';
import { giveBackWriter, takeWriter } from './writer-pool.js';
import { isInUserNamespace, overlayOpaqueXattr } from '../rootless/index.js';

// Every write into a root goes through one tsbuild-fsattr session per operation (a layer apply, a COPY, a WORKDIR,
// a stub clean-up). The session's writer opens the root once and resolves every path with openat2 relative to it,
// so no host path string that crosses a component the build controls ever reaches the kernel. See
// worker/native/fsattr/root.c for the protocol. Writes are streamed without waiting; queries wait for their answer
// (which also means every write before them is done); the first failing call ends the process and surfaces as a
// ConfinedFsError. A session that ends cleanly gives its writer back for the next one (writer-pool.ts).

/** A failing system call inside the confined writer, as the C side reported it; `arg` is its path as showName shows it. */
export class ConfinedFsError extends Error {
  constructor(readonly op: string, readonly arg: string, readonly errno: number) {
    super(`${op} ${JSON.stringify(arg)}: ${errnoName(errno)}`);
  }

  /** True when the path led out of the root or base (EXDEV from RESOLVE_BENEATH, ELOOP from NO_SYMLINKS). */
  get isEscape(): boolean { return this.errno === 18 || this.errno === 40; }
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM (operation not permitted)', 2: 'ENOENT (no such file or directory)', 13: 'EACCES (permission denied)',
  17: 'EEXIST (file exists)', 18: 'EXDEV (the path leads out of the root)', 20: 'ENOTDIR (not a directory)',
  21: 'EISDIR (is a directory)', 22: 'EINVAL (invalid argument)', 28: 'ENOSPC (no space left on device)',
  36: 'ENAMETOOLONG (file name too long)', 39: 'ENOTEMPTY (directory not empty)', 40: 'ELOOP (too many symbolic links)',
  95: 'EOPNOTSUPP (operation not supported)',
};

function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** Metadata of an entry: numeric owner, permission bits (undefined keeps), times in ns (undefined keeps). */
export interface EntryMeta { uid: number; gid: number; mode?: number | undefined; atimeNs?: bigint | undefined; mtimeNs?: bigint | undefined }

/** How a session resolves paths and what it does with something in the way. */
export interface SessionOptions {
  /** A directory whose files `copy` reads (resolved inside it, never following the last component). */
  sourceRoot?: string | undefined;
  /** Extra read-only roots for `lstat(index, …)`, index 1 onwards; `inherit` also checks them. */
  lowerRoots?: string[] | undefined;
  /**
   * For `inherit`: the upper dir of the overlay mounted at the root, and the upper dir of the previous result of the
   * same COPY (a committed snapshot: never written again). Without both, `inherit` copies.
   */
  inherit?: { upperDir: string; previousDir: string } | undefined;
}

/** What `lstat` found: undefined when absent or reached only through a symlink. */
export interface EntryStat { type: 'd' | 'f' | 'l' | 'c' | 'o'; mode: number; uid: number; gid: number; size: number; mtimeNs: bigint; isEmptyDir: boolean; isOpaqueDir: boolean }

const FLUSH_AT = 256 * 1024;
const OPS_BUFFER = 64 * 1024;
const ZERO = Buffer.alloc(4);

interface Waiter { resolve: (v: Buffer | number) => void; reject: (e: unknown) => void; withBody: boolean }

/** One confined writer process on a root. */
export class RootSession {
  readonly #child: ChildProcessWithoutNullStreams;
  /** Settles when the session is over: the writer exited, or was given back after E. */
  readonly #exited: Promise<void>;
  #end: () => void = () => undefined;
  readonly #listeners: { out: (c: Buffer) => void; err: (c: Buffer) => void; error: (e: Error) => void; close: (code: number | null) => void };
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /**
   * Ops are encoded straight into this buffer (no Buffer or string per op); `#opStart` is where the bytes not yet in
   * `#pending` begin. Bytes handed to `#pending` are never overwritten: the pipe may still hold them after a flush.
   */
  #ops = Buffer.allocUnsafe(OPS_BUFFER);
  #opStart = 0;
  #opEnd = 0;
  #waiters: Waiter[] = [];
  #out: Buffer = Buffer.alloc(0);
  /** The writer's stderr, one char per byte (latin1): the failing path in its JSON line is the name's bytes. */
  #stderr = '';
  #failure: unknown;
  #closed = false;
  #aborting = false;
  #isGivenBack = false;
  #closing: Promise<void> | undefined;

  private constructor(root: string, options: SessionOptions) {
    // The writer may have been started for an earlier session, in another working directory's time: absolute paths.
    const args = [resolve(root)];
    if (options.sourceRoot !== undefined) args.push('--src', resolve(options.sourceRoot));
    for (const lower of options.lowerRoots ?? []) args.push('--lower', resolve(lower));
    if (options.inherit !== undefined) args.push('--upper', resolve(options.inherit.upperDir), '--prev', resolve(options.inherit.previousDir));
    // Rootless, overlay reads user.overlay.opaque (worker/rootless/overlay-flavour.ts); trusted.* would be EPERM.
    if (isInUserNamespace()) args.push('--opaque-xattr', overlayOpaqueXattr());
    // Checked before a writer is taken: a throw after would leave it taken, and Node waiting for it.
    for (const a of args) if (a.includes('\0')) throw new UserError('INVALID_ARGUMENT', `a writer's root or option holds a NUL byte: ${JSON.stringify(a)}`, 'report this: tsbuild names its roots itself');
    this.#child = takeWriter();
    this.#listeners = {
      out: (c: Buffer) => { this.#out = this.#out.length === 0 ? c : Buffer.concat([this.#out, c]); this.#drainReplies(); },
      err: (c: Buffer) => { this.#stderr += c.toString('latin1'); },
      error: (e: Error) => {
        this.#failure ??= new Error('cannot run tsbuild-fsattr; run make native', { cause: e });
        for (const w of this.#waiters.splice(0)) w.reject(this.#failure);
        this.#end();
      },
      close: (code: number | null) => {
        // A writer that reported a failure before an abort reached it failed by itself (ENOSPC while the caller, seeing
        // only EPIPE on its input, aborted): that report is the failure, not the abort.
        if (code !== 0 && (!this.#aborting || parseFsattrReport(this.#stderr) !== undefined)) this.#failure ??= this.#parseFailure(code);
        const err = this.#failure ?? new Error('tsbuild-fsattr exited before answering');
        for (const w of this.#waiters.splice(0)) w.reject(err);
        this.#end();
      },
    };
    this.#child.stdout.on('data', this.#listeners.out);
    this.#child.stderr.on('data', this.#listeners.err);
    this.#child.on('error', this.#listeners.error);
    this.#child.on('close', this.#listeners.close);
    this.#exited = new Promise((done) => { this.#end = done; });
    // `serve` reads the arguments of `root` first, each NUL-ended, then an empty field (root.c).
    this.#push(Buffer.from(`${args.join('\0')}\0\0`));
  }

  /** Starts a session on `root`, a directory the caller trusts (a snapshot dir or a mount point it made). */
  static open(root: string, options: SessionOptions = {}): RootSession {
    return new RootSession(root, options);
  }

  /** Runs `fn` with a session and always ends it; the session's failure, if any, is what is thrown. */
  static async with<T>(root: string, options: SessionOptions, fn: (s: RootSession) => Promise<T>): Promise<T> {
    const session = RootSession.open(root, options);
    let result: T;
    try {
      result = await fn(session);
    } catch (err) {
      await session.abort();
      throw session.failure ?? err;
    }
    await session.close();
    return result;
  }

  /** The writer process serving this session (diagnostics; a writer serves one session after another). */
  get writerPid(): number | undefined { return this.#child.pid; }

  /** The failure that ended the process, once known. */
  get failure(): unknown { return this.#failure; }

  /**
   * Base directory (created in the root) and resolution mode: 'in-root' follows symlinks inside (chroot semantics),
   * 'beneath' refuses any way out, 'union' (base '' only) is in-root over the merged view of the root and its
   * lowerRoots, for a layer applied into an overlay upper dir.
   */
  base(path: string, mode: 'in-root' | 'beneath' | 'union'): void { this.#op('B', path, mode === 'beneath' ? 'b' : mode === 'union' ? 'u' : 'r'); }
  /** Owner and mode of the parent directories later entries create. */
  parents(owner: { uid: number; gid: number }, mode = 0o755): void { this.#op('P', String(owner.uid), String(owner.gid), mode.toString(8)); }
  /** 'layer': whatever is in the way goes; 'copy': a directory and a non-directory never replace each other. */
  policy(p: 'layer' | 'copy'): void { this.#op('K', p === 'layer' ? 'l' : 'c'); }

  dir(path: FsName, followLast: boolean): void { this.#op('D', path, followLast ? '1' : '0'); }
  copy(path: FsName, sourcePath: FsName): void { this.#op('C', path, sourcePath); }
  /**
   * As `copy`, but hard-links the file the previous result holds at the same path when the C side finds that safe
   * (worker/native/fsattr/root.c, op_inherit: `size` and `mtimeNs` must match); the caller vouches that it has the
   * source's content, owner and mode. The `meta` that follows applies only when it copied.
   */
  inherit(path: string, sourcePath: string, size: bigint, mtimeNs: bigint): void { this.#op('I', path, sourcePath, size.toString(), mtimeNs.toString()); }
  symlink(path: FsName, target: FsName): void { this.#op('L', path, target); }
  hardlink(path: FsName, target: FsName): void { this.#op('H', path, target); }
  node(path: FsName, kind: 'char' | 'block' | 'fifo', major = 0, minor = 0): void { this.#op('N', path, kind[0] ?? 'p', String(major), String(minor)); }
  whiteout(path: FsName): void { this.#op('W', path); }
  opaque(path: FsName): void { this.#op('O', path); }

  /** A regular file with this content (streamed, never whole in memory unless it is a Buffer). */
  async file(path: FsName, content: Buffer | AsyncIterable<unknown>): Promise<void> {
    this.#op('F', path);
    if (Buffer.isBuffer(content)) {
      if (content.length > 0) this.#chunk(content);
    } else {
      for await (const c of content) {
        const b = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
        if (b.length > 0) this.#chunk(b);
        if (this.#pendingBytes >= FLUSH_AT) await this.#flush();
      }
    }
    this.#push(ZERO);
    if (this.#pendingBytes >= FLUSH_AT) await this.#flush();
  }

  /** Owner, mode and times of the entry the previous call made (always, or only when it created it). */
  meta(m: EntryMeta, onlyIfCreated = false): void {
    this.#op(onlyIfCreated ? 'm' : 'M', String(m.uid), String(m.gid), m.mode === undefined ? '-' : (m.mode & 0o7777).toString(8),
      m.atimeNs === undefined ? '-' : m.atimeNs.toString(), m.mtimeNs === undefined ? '-' : m.mtimeNs.toString());
  }

  /**
   * The mode of the entry the previous call found already there; one it created is left alone, and owner and times
   * are always kept (root.c `e`: what fsutil does to an existing directory COPY --parents keeps).
   */
  modeIfExisting(mode: number): void { this.#op('e', (mode & 0o7777).toString(8)); }

  xattr(name: string, value: Buffer): void { this.#op('x', name, value.toString('hex')); }
  /**
   * The xattrs of `sourcePath` in the source root (its last component not followed), overlay's own left out, for the
   * `meta` that follows: set after owner and mode, a directory's at the end with its times (root.c `A`). `copy` and
   * `inherit` take their source's without it.
   */
  xattrsFrom(sourcePath: FsName): void { this.#op('A', sourcePath); }

  /** What is at `path` following symlinks inside the base: 'dir', 'file', 'other' or undefined. */
  async stat(path: string): Promise<'dir' | 'file' | 'other' | undefined> {
    const line = (await this.#query(false, 'Q', path)).toString();
    return line === 'd' ? 'dir' : line.startsWith('f') ? 'file' : line === 'o' ? 'other' : undefined;
  }

  /** The content of a regular file at `path` (symlinks followed inside the base), undefined when there is none. */
  async readFile(path: string, maxBytes: number): Promise<Buffer | undefined> {
    const body = await this.#query(true, 'G', path, String(maxBytes));
    return typeof body === 'number' ? undefined : body;
  }

  /**
   * Resolves `path` in the source root (the root when there is none), following symlinks inside it: the resolved
   * path relative to that root ('' = the root), or the errno (ENOENT also for a missing parent; ELOOP for a loop).
   */
  async resolveSource(path: string): Promise<{ rel: string } | { errno: number }> {
    const body = await this.#query(true, 'R', path);
    return typeof body === 'number' ? { errno: body } : { rel: body.toString('utf8') };
  }

  /**
   * Where a file written at `path` lands: an existing symlink there is written through to its target inside the root,
   * as BuildKit's COPY resolves its destination (every link followed, the last one too). `path` itself when nothing is
   * in the way; the errno when a link's target has no parent directory (ENOENT) or the links loop (ELOOP).
   */
  async resolveDest(path: string): Promise<{ rel: string } | { errno: number }> {
    const body = await this.#query(true, 'V', path);
    return typeof body === 'number' ? { errno: body } : { rel: body.toString('utf8') };
  }

  /** lstat of `path` in root `index` (0 = the session's root), refusing symlinks on the way. */
  async lstat(index: number, path: string): Promise<EntryStat | undefined> {
    const line = (await this.#query(false, 'S', String(index), path)).toString();
    if (line === 'n') return undefined;
    const [t, mode, uid, gid, size, mtime, empty, opaque] = line.split(' ');
    return { type: t as EntryStat['type'], mode: parseInt(mode ?? '0', 8), uid: Number(uid), gid: Number(gid), size: Number(size), mtimeNs: BigInt(mtime ?? '0'), isEmptyDir: empty === '1', isOpaqueDir: opaque === '1' };
  }

  /** Removes a mount stub (empty file or directory); the parent's mtime before, or undefined when it stayed. */
  async removeStub(path: string, isDir: boolean): Promise<bigint | undefined> {
    const line = (await this.#query(false, 'U', path, isDir ? '1' : '0')).toString();
    return line.startsWith('r ') ? BigInt(line.slice(2)) : undefined;
  }

  /** Sets the mtime of a directory ('' = the root) reached without symlinks; false when it is not there. */
  async setMtime(path: string, ns: bigint): Promise<boolean> {
    return (await this.#query(false, 'T', path, ns.toString())).toString() === 'ok';
  }

  /** rmdir reached without symlinks; false when it failed (absent, not empty). */
  async rmdir(path: string): Promise<boolean> {
    return (await this.#query(false, 'X', path)).toString() === 'ok';
  }

  /**
   * Removes entry `path` and, for a directory, everything below it, never following a symlink: one is unlinked as a
   * link. Its parent must be reached with no symlink (root.c `r`); the base itself is never removed.
   */
  remove(path: FsName): void { this.#op('r', path); }

  /** The entries of directory `path`, reached with no symlink (root.c `J`): each name, and whether it is a directory. */
  async list(path: FsName): Promise<{ name: FsName; isDir: boolean }[]> {
    const body = await this.#query(true, 'J', path);
    if (typeof body === 'number') throw new Error(`tsbuild-fsattr answered J with -${body}`);   // J reports failures as writes do
    const out: { name: FsName; isDir: boolean }[] = [];
    for (let at = 0; at < body.length;) {
      const end = body.indexOf(0, at);
      out.push({ isDir: body[at] === 0x64, name: nameOf(body.subarray(at + 1, end)) });
      at = end + 1;
    }
    return out;
  }

  /** Once everything sent so far is done: how many entries were written through a symlink, and how many inherited. */
  async writeCounts(): Promise<{ crossed: number; linked: number }> {
    const [crossed, linked] = (await this.#query(false, 'Z')).toString().split(' ').map(Number);
    return { crossed: crossed ?? 0, linked: linked ?? 0 };
  }

  /** Waits until everything sent so far is done. */
  async sync(): Promise<void> { await this.#query(false, 'Y'); }

  /** Ends the input (the C side then sets the held directory times) and waits; throws the session's failure. */
  async close(): Promise<void> {
    this.#closing ??= this.#endSession();
    await this.#closing;
    if (this.#failure !== undefined) throw this.#failure;
  }

  // E ends the session as end of input would (directory times set, every fd closed), and the writer serves the next
  // one. Nothing may follow E on the pipe: the session is closed for ops as soon as E is encoded.
  async #endSession(): Promise<void> {
    if (this.#closed) {
      await this.#exited;
      return;
    }
    const answer = this.#query(false, 'E');
    this.#closed = true;
    let isDone = false;
    try {
      isDone = (await answer).toString() === 'ok';
    } catch {
      // the writer failed: close() throws its failure
    }
    if (isDone) {
      this.#isGivenBack = true;
      this.#detach();
      giveBackWriter(this.#child);
      this.#end();
    } else {
      this.#child.stdin.end();
    }
    await this.#exited;
  }

  /** Kills the process (after a failure on the TypeScript side) and waits for it. */
  async abort(): Promise<void> {
    this.#closed = true;
    if (this.#isGivenBack) return;   // closed cleanly before: the writer serves another session now
    this.#aborting = true;
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#exited;
  }

  // The writer goes on to another session: nothing of this one may still listen to it.
  #detach(): void {
    this.#child.stdout.removeListener('data', this.#listeners.out);
    this.#child.stderr.removeListener('data', this.#listeners.err);
    this.#child.removeListener('error', this.#listeners.error);
    this.#child.removeListener('close', this.#listeners.close);
  }

  // A field given as bytes (a name that is not UTF-8: common/byte-names.ts) goes to the writer as those bytes.
  #op(op: string, ...fields: FsName[]): void {
    if (this.#closed) throw this.#failure ?? new Error('confined writer already closed');
    let most = op.length * 3 + 1;   // UTF-8 takes at most 3 bytes per UTF-16 code unit
    for (const f of fields) {
      if (typeof f === 'string' ? f.includes('\0') : f.includes(0)) {
        const shown = showName(f);
        throw new UserError('INVALID_ARGUMENT', `a path or name holds a NUL byte: ${JSON.stringify(shown.length > 200 ? `${shown.slice(0, 200)}...` : shown)}`, 'file names, owners and link targets cannot hold NUL bytes: remove it from the Dockerfile, build arg, context or image');
      }
      most += typeof f === 'string' ? f.length * 3 + 1 : f.length + 1;
    }
    if (this.#opEnd + most > this.#ops.length) {
      this.#sealOps();
      this.#ops = Buffer.allocUnsafe(Math.max(OPS_BUFFER, most));
      this.#opStart = 0;
      this.#opEnd = 0;
    }
    const start = this.#opEnd;
    let at = start + this.#ops.write(op, start);
    this.#ops[at++] = 0;
    for (const f of fields) {
      at += typeof f === 'string' ? this.#ops.write(f, at) : f.copy(this.#ops, at);
      this.#ops[at++] = 0;
    }
    this.#opEnd = at;
    this.#pendingBytes += at - start;
  }

  /** Hands the encoded ops not yet in `#pending` to it, in order. */
  #sealOps(): void {
    if (this.#opEnd === this.#opStart) return;
    this.#pending.push(this.#ops.subarray(this.#opStart, this.#opEnd));
    this.#opStart = this.#opEnd;
    if (this.#pending.length >= 4096) this.#compact();
  }

  #chunk(b: Buffer): void {
    for (let at = 0; at < b.length; at += 1 << 24) {
      const part = b.subarray(at, Math.min(b.length, at + (1 << 24)));
      const len = Buffer.alloc(4);
      len.writeUInt32LE(part.length);
      this.#push(len);
      this.#push(part);
    }
  }

  #push(b: Buffer): void {
    if (this.#closed) throw this.#failure ?? new Error('confined writer already closed');
    this.#sealOps();
    this.#pending.push(b);
    this.#pendingBytes += b.length;
    if (this.#pending.length >= 4096) this.#compact();
  }

  #compact(): void {
    this.#pending = [Buffer.concat(this.#pending)];
  }

  /** Writes what is pending, waiting for the pipe to drain; a dead process turns into its failure. */
  async #flush(): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#pendingBytes === 0) return;
    this.#sealOps();
    // File content goes to the pipe as it is (one writev, no copy). The pipe holds on to the op bytes handed over with
    // it until written, so later ops are encoded after them (#op starts a fresh buffer when this one is full).
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    const stdin = this.#child.stdin;
    stdin.cork();
    let ok = true;
    for (const b of pending) ok = stdin.write(b);
    stdin.uncork();
    if (!ok) {
      const drained = once(this.#child.stdin, 'drain').then(() => true);
      if (!(await Promise.race([drained, this.#exited.then(() => false)]))) throw this.#failure ?? new Error('tsbuild-fsattr exited');
    }
  }

  /** True when enough is pending that a long loop should `await flushIfFull()` now. */
  get isFull(): boolean { return this.#pendingBytes >= FLUSH_AT; }

  /** Sends a write op now and then and applies back-pressure; callers in long loops await it. */
  async flushIfFull(): Promise<void> {
    if (this.#pendingBytes >= FLUSH_AT) await this.#flush();
  }

  async #query(withBody: true, op: string, ...fields: FsName[]): Promise<Buffer | number>;
  async #query(withBody: false, op: string, ...fields: FsName[]): Promise<Buffer>;
  async #query(withBody: boolean, op: string, ...fields: FsName[]): Promise<Buffer | number> {
    this.#op(op, ...fields);
    const answer = new Promise<Buffer | number>((resolve, reject) => { this.#waiters.push({ resolve, reject, withBody }); });
    await this.#flush();
    return answer;
  }

  #drainReplies(): void {
    for (;;) {
      const w = this.#waiters[0];
      const nl = this.#out.indexOf(0x0a);
      if (w === undefined || nl < 0) return;
      const line = this.#out.subarray(0, nl).toString();
      if (!w.withBody || line.startsWith('-')) {
        this.#out = this.#out.subarray(nl + 1);
        this.#waiters.shift();
        w.resolve(w.withBody ? Number(line.slice(1)) : Buffer.from(line));
        continue;
      }
      const len = Number(line);
      if (this.#out.length < nl + 1 + len) return;
      const body = Buffer.from(this.#out.subarray(nl + 1, nl + 1 + len));
      this.#out = this.#out.subarray(nl + 1 + len);
      this.#waiters.shift();
      w.resolve(body);
    }
  }

  #parseFailure(code: number | null): Error {
    const report = parseFsattrReport(this.#stderr);
    // root.c writes the path's bytes as they are (escaping only quotes, backslashes and control bytes).
    if (report) return new ConfinedFsError(report.op, showName(nameOf(Buffer.from(report.arg, 'latin1'))), report.errno);
    const last = this.#stderr.trim().split('\n').pop() ?? '';
    return new Error(`tsbuild-fsattr root failed (exit ${String(code)}): ${Buffer.from(last, 'latin1').toString('utf8')}`);
  }
}
