import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';
import { nameOf, UserError } from '../../common/index.js';
import type { FsName } from '../../common/index.js';
import { writerFailure } from './confined-fs-error.js';
import { parseFsattrReport } from './fsattr-path.js';
import { SessionWire } from './session-wire.js';
import { giveBackWriter, takeWriter } from './writer-pool.js';
import { isInUserNamespace, overlayOpaqueXattr } from '../rootless/index.js';

// Every write into a root goes through one tsbuild-fsattr session per operation (a layer apply, a COPY, a WORKDIR,
// a stub clean-up). The session's writer opens the root once and resolves every path with openat2 relative to it,
// so no host path string that crosses a component the build controls ever reaches the kernel. See
// worker/native/fsattr/root.c for the protocol. Writes are streamed without waiting; queries wait for their answer
// (which also means every write before them is done); the first failing call ends the process and surfaces as a
// ConfinedFsError. A session that ends cleanly gives its writer back for the next one (writer-pool.ts).

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

/** One confined writer process on a root. */
export class RootSession {
  readonly #child: ChildProcessWithoutNullStreams;
  /** Settles when the session is over: the writer exited, or was given back after E. */
  readonly #exited: Promise<void>;
  #end: () => void = () => undefined;
  readonly #listeners: { out: (c: Buffer) => void; err: (c: Buffer) => void; error: (e: Error) => void; close: (code: number | null) => void };
  readonly #wire: SessionWire;
  /** The writer's stderr, one char per byte (latin1): the failing path in its JSON line is the name's bytes. */
  #stderr = '';
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
    this.#exited = new Promise((done) => { this.#end = done; });
    this.#wire = new SessionWire(this.#child.stdin, this.#exited);
    this.#listeners = {
      out: (c: Buffer) => { this.#wire.received(c); },
      err: (c: Buffer) => { this.#stderr += c.toString('latin1'); },
      error: (e: Error) => {
        this.#wire.fail(new Error('cannot run tsbuild-fsattr; run make native', { cause: e }));
        this.#end();
      },
      close: (code: number | null) => {
        // A writer that reported a failure before an abort reached it failed by itself (ENOSPC while the caller, seeing
        // only EPIPE on its input, aborted): that report is the failure, not the abort.
        const isFailed = code !== 0 && (!this.#aborting || parseFsattrReport(this.#stderr) !== undefined);
        this.#wire.fail(isFailed ? writerFailure(this.#stderr, code) : undefined);
        this.#end();
      },
    };
    this.#child.stdout.on('data', this.#listeners.out);
    this.#child.stderr.on('data', this.#listeners.err);
    this.#child.on('error', this.#listeners.error);
    this.#child.on('close', this.#listeners.close);
    // `serve` reads the arguments of `root` first, each NUL-ended, then an empty field (root.c).
    this.#wire.push(Buffer.from(`${args.join('\0')}\0\0`));
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
  get failure(): unknown { return this.#wire.failure; }

  /**
   * Base directory (created in the root) and resolution mode: 'in-root' follows symlinks inside (chroot semantics),
   * 'beneath' refuses any way out, 'union' (base '' only) is in-root over the merged view of the root and its
   * lowerRoots, for a layer applied into an overlay upper dir.
   */
  base(path: string, mode: 'in-root' | 'beneath' | 'union'): void { this.#wire.op('B', path, mode === 'beneath' ? 'b' : mode === 'union' ? 'u' : 'r'); }
  /** Owner and mode of the parent directories later entries create. */
  parents(owner: { uid: number; gid: number }, mode = 0o755): void { this.#wire.op('P', String(owner.uid), String(owner.gid), mode.toString(8)); }
  /** 'layer': whatever is in the way goes; 'copy': a directory and a non-directory never replace each other. */
  policy(p: 'layer' | 'copy'): void { this.#wire.op('K', p === 'layer' ? 'l' : 'c'); }

  dir(path: FsName, followLast: boolean): void { this.#wire.op('D', path, followLast ? '1' : '0'); }
  copy(path: FsName, sourcePath: FsName): void { this.#wire.op('C', path, sourcePath); }
  /**
   * As `copy`, but hard-links the file the previous result holds at the same path when the C side finds that safe
   * (worker/native/fsattr/root.c, op_inherit: `size` and `mtimeNs` must match); the caller vouches that it has the
   * source's content, owner and mode. The `meta` that follows applies only when it copied.
   */
  inherit(path: string, sourcePath: string, size: bigint, mtimeNs: bigint): void { this.#wire.op('I', path, sourcePath, size.toString(), mtimeNs.toString()); }
  symlink(path: FsName, target: FsName): void { this.#wire.op('L', path, target); }
  hardlink(path: FsName, target: FsName): void { this.#wire.op('H', path, target); }
  node(path: FsName, kind: 'char' | 'block' | 'fifo', major = 0, minor = 0): void { this.#wire.op('N', path, kind[0] ?? 'p', String(major), String(minor)); }
  whiteout(path: FsName): void { this.#wire.op('W', path); }
  opaque(path: FsName): void { this.#wire.op('O', path); }

  /** A regular file with this content (streamed, never whole in memory unless it is a Buffer). */
  async file(path: FsName, content: Buffer | AsyncIterable<unknown>): Promise<void> {
    this.#wire.op('F', path);
    await this.#wire.fileContent(content);
  }

  /** Owner, mode and times of the entry the previous call made (always, or only when it created it). */
  meta(m: EntryMeta, onlyIfCreated = false): void {
    this.#wire.op(onlyIfCreated ? 'm' : 'M', String(m.uid), String(m.gid), m.mode === undefined ? '-' : (m.mode & 0o7777).toString(8),
      m.atimeNs === undefined ? '-' : m.atimeNs.toString(), m.mtimeNs === undefined ? '-' : m.mtimeNs.toString());
  }

  /**
   * The mode of the entry the previous call found already there; one it created is left alone, and owner and times
   * are always kept (root.c `e`: what fsutil does to an existing directory COPY --parents keeps).
   */
  modeIfExisting(mode: number): void { this.#wire.op('e', (mode & 0o7777).toString(8)); }

  xattr(name: string, value: Buffer): void { this.#wire.op('x', name, value.toString('hex')); }
  /**
   * The xattrs of `sourcePath` in the source root (its last component not followed), overlay's own left out, for the
   * `meta` that follows: set after owner and mode, a directory's at the end with its times (root.c `A`). `copy` and
   * `inherit` take their source's without it.
   */
  xattrsFrom(sourcePath: FsName): void { this.#wire.op('A', sourcePath); }

  /** What is at `path` following symlinks inside the base: 'dir', 'file', 'other' or undefined. */
  async stat(path: string): Promise<'dir' | 'file' | 'other' | undefined> {
    const line = (await this.#wire.query(false, 'Q', path)).toString();
    return line === 'd' ? 'dir' : line.startsWith('f') ? 'file' : line === 'o' ? 'other' : undefined;
  }

  /** The content of a regular file at `path` (symlinks followed inside the base), undefined when there is none. */
  async readFile(path: string, maxBytes: number): Promise<Buffer | undefined> {
    const body = await this.#wire.query(true, 'G', path, String(maxBytes));
    return typeof body === 'number' ? undefined : body;
  }

  /**
   * Resolves `path` in the source root (the root when there is none), following symlinks inside it: the resolved
   * path relative to that root ('' = the root), or the errno (ENOENT also for a missing parent; ELOOP for a loop).
   */
  async resolveSource(path: string): Promise<{ rel: string } | { errno: number }> {
    const body = await this.#wire.query(true, 'R', path);
    return typeof body === 'number' ? { errno: body } : { rel: body.toString('utf8') };
  }

  /**
   * Where a file written at `path` lands: an existing symlink there is written through to its target inside the root,
   * as BuildKit's COPY resolves its destination (every link followed, the last one too). `path` itself when nothing is
   * in the way; the errno when a link's target has no parent directory (ENOENT) or the links loop (ELOOP).
   */
  async resolveDest(path: string): Promise<{ rel: string } | { errno: number }> {
    const body = await this.#wire.query(true, 'V', path);
    return typeof body === 'number' ? { errno: body } : { rel: body.toString('utf8') };
  }

  /** lstat of `path` in root `index` (0 = the session's root), refusing symlinks on the way. */
  async lstat(index: number, path: string): Promise<EntryStat | undefined> {
    const line = (await this.#wire.query(false, 'S', String(index), path)).toString();
    if (line === 'n') return undefined;
    const [t, mode, uid, gid, size, mtime, empty, opaque] = line.split(' ');
    return { type: t as EntryStat['type'], mode: parseInt(mode ?? '0', 8), uid: Number(uid), gid: Number(gid), size: Number(size), mtimeNs: BigInt(mtime ?? '0'), isEmptyDir: empty === '1', isOpaqueDir: opaque === '1' };
  }

  /** Removes a mount stub (empty file or directory); the parent's mtime before, or undefined when it stayed. */
  async removeStub(path: string, isDir: boolean): Promise<bigint | undefined> {
    const line = (await this.#wire.query(false, 'U', path, isDir ? '1' : '0')).toString();
    return line.startsWith('r ') ? BigInt(line.slice(2)) : undefined;
  }

  /** Sets the mtime of a directory ('' = the root) reached without symlinks; false when it is not there. */
  async setMtime(path: string, ns: bigint): Promise<boolean> {
    return (await this.#wire.query(false, 'T', path, ns.toString())).toString() === 'ok';
  }

  /** rmdir reached without symlinks; false when it failed (absent, not empty). */
  async rmdir(path: string): Promise<boolean> {
    return (await this.#wire.query(false, 'X', path)).toString() === 'ok';
  }

  /**
   * Removes entry `path` and, for a directory, everything below it, never following a symlink: one is unlinked as a
   * link. Its parent must be reached with no symlink (root.c `r`); the base itself is never removed.
   */
  remove(path: FsName): void { this.#wire.op('r', path); }

  /** The entries of directory `path`, reached with no symlink (root.c `J`): each name, and whether it is a directory. */
  async list(path: FsName): Promise<{ name: FsName; isDir: boolean }[]> {
    const body = await this.#wire.query(true, 'J', path);
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
    const [crossed, linked] = (await this.#wire.query(false, 'Z')).toString().split(' ').map(Number);
    return { crossed: crossed ?? 0, linked: linked ?? 0 };
  }

  /** Waits until everything sent so far is done. */
  async sync(): Promise<void> { await this.#wire.query(false, 'Y'); }

  /** Ends the input (the C side then sets the held directory times) and waits; throws the session's failure. */
  async close(): Promise<void> {
    this.#closing ??= this.#endSession();
    await this.#closing;
    if (this.#wire.failure !== undefined) throw this.#wire.failure;
  }

  // E ends the session as end of input would (directory times set, every fd closed), and the writer serves the next
  // one. Nothing may follow E on the pipe: the session is closed for ops as soon as E is encoded.
  async #endSession(): Promise<void> {
    if (this.#wire.isClosed) {
      await this.#exited;
      return;
    }
    const answer = this.#wire.query(false, 'E');
    this.#wire.close();
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
    this.#wire.close();
    if (this.#isGivenBack) return;   // closed cleanly before: the writer serves another session now
    this.#aborting = true;
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#exited;
  }

  /** True when enough is pending that a long loop should `await flushIfFull()` now. */
  get isFull(): boolean { return this.#wire.isFull; }

  /** Sends a write op now and then and applies back-pressure; callers in long loops await it. */
  async flushIfFull(): Promise<void> { await this.#wire.flushIfFull(); }

  // The writer goes on to another session: nothing of this one may still listen to it.
  #detach(): void {
    this.#child.stdout.removeListener('data', this.#listeners.out);
    this.#child.stderr.removeListener('data', this.#listeners.err);
    this.#child.removeListener('error', this.#listeners.error);
    this.#child.removeListener('close', this.#listeners.close);
  }
}
