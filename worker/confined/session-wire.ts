import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { showName, UserError } from '../../common/index.js';
import type { FsName } from '../../common/index.js';

// The byte stream of one session (worker/native/fsattr/root.c): ops encoded into the writer's stdin, each field
// NUL-ended; file content as length-prefixed chunks ended by a zero length; replies read back from its stdout, a line
// each, or a length line and that many bytes. Writes are not answered; a query's reply comes once everything sent
// before it is done. RootSession owns one of these and the process behind it.

const FLUSH_AT = 256 * 1024;
const OPS_BUFFER = 64 * 1024;
const ZERO = Buffer.alloc(4);

interface Waiter { resolve: (v: Buffer | number) => void; reject: (e: unknown) => void; withBody: boolean }

/** The encoder of a session's ops and the reader of its replies, with back-pressure on the writer's stdin. */
export class SessionWire {
  readonly #stdin: Writable;
  /** Settles when the session is over (RootSession's): a flush waiting for the pipe to drain gives up then. */
  readonly #exited: Promise<void>;
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
  #failure: unknown;
  #isClosed = false;

  constructor(stdin: Writable, exited: Promise<void>) {
    this.#stdin = stdin;
    this.#exited = exited;
  }

  /** The failure that ended the writer, once known. */
  get failure(): unknown { return this.#failure; }

  /** True once no op may be sent any more (E was encoded, or the session was aborted). */
  get isClosed(): boolean { return this.#isClosed; }

  /** Refuses every op from now on. */
  close(): void { this.#isClosed = true; }

  /**
   * The writer is gone (it exited, or could not be started): `failure`, when given and none is known yet, is what ended
   * it; every query still waiting is rejected with the known failure.
   */
  fail(failure: Error | undefined): void {
    if (failure !== undefined) this.#failure ??= failure;
    const err = this.#failure ?? new Error('tsbuild-fsattr exited before answering');
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }

  /**
   * Encodes one op; it goes to the writer with the next flush. A field given as bytes (a name that is not UTF-8:
   * common/byte-names.ts) goes to the writer as those bytes.
   */
  op(op: string, ...fields: FsName[]): void {
    if (this.#isClosed) throw this.#failure ?? new Error('confined writer already closed');
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

  /** The content of the file the `F` op just sent: as length-prefixed chunks, then the zero length that ends it. */
  async fileContent(content: Buffer | AsyncIterable<unknown>): Promise<void> {
    if (Buffer.isBuffer(content)) {
      if (content.length > 0) this.#chunk(content);
    } else {
      for await (const c of content) {
        const b = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
        if (b.length > 0) this.#chunk(b);
        if (this.#pendingBytes >= FLUSH_AT) await this.#flush();
      }
    }
    this.push(ZERO);
    if (this.#pendingBytes >= FLUSH_AT) await this.#flush();
  }

  /** Queues bytes to send as they are, after the ops encoded so far. */
  push(b: Buffer): void {
    if (this.#isClosed) throw this.#failure ?? new Error('confined writer already closed');
    this.#sealOps();
    this.#pending.push(b);
    this.#pendingBytes += b.length;
    if (this.#pending.length >= 4096) this.#compact();
  }

  /** True when enough is pending that a long loop should `await flushIfFull()` now. */
  get isFull(): boolean { return this.#pendingBytes >= FLUSH_AT; }

  /** Sends what is pending once there is enough of it, and applies back-pressure. */
  async flushIfFull(): Promise<void> {
    if (this.#pendingBytes >= FLUSH_AT) await this.#flush();
  }

  /**
   * Sends op `op` and everything before it, and waits for its reply: the line, or with `withBody` the body that follows
   * a length line (a number when the writer answered `-errno` instead).
   */
  async query(withBody: true, op: string, ...fields: FsName[]): Promise<Buffer | number>;
  async query(withBody: false, op: string, ...fields: FsName[]): Promise<Buffer>;
  async query(withBody: boolean, op: string, ...fields: FsName[]): Promise<Buffer | number> {
    this.op(op, ...fields);
    const answer = new Promise<Buffer | number>((resolve, reject) => { this.#waiters.push({ resolve, reject, withBody }); });
    await this.#flush();
    return answer;
  }

  /** Takes bytes the writer sent on its stdout and answers the queries whose replies are now whole. */
  received(c: Buffer): void {
    this.#out = this.#out.length === 0 ? c : Buffer.concat([this.#out, c]);
    this.#drainReplies();
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
      this.push(len);
      this.push(part);
    }
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
    // it until written, so later ops are encoded after them (`op` starts a fresh buffer when this one is full).
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    const stdin = this.#stdin;
    stdin.cork();
    let ok = true;
    for (const b of pending) ok = stdin.write(b);
    stdin.uncork();
    if (!ok) {
      const drained = once(this.#stdin, 'drain').then(() => true);
      if (!(await Promise.race([drained, this.#exited.then(() => false)]))) throw this.#failure ?? new Error('tsbuild-fsattr exited');
    }
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
}
