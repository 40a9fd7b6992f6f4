import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { readFully, UserError } from '../../common/index.js';
import type { Descriptor } from '../../registry/index.js';
import { storeBlobDamaged } from '../content/index.js';

// A big blob goes to S3 and to Azure Blob Storage in parts (S3's multipart upload, Azure's Put Block + Put Block
// List): one request is refused above 5 GiB (S3) or 5000 MiB (Azure), parts go up side by side, and a failed part is
// sent again on its own. Memory stays flat whatever the blob's size. A content store file is read twice: once in
// order, to hash the whole blob and each part before its request (S3 signs a part's sha256), then by each part's
// request through a few reused buffers. A stream can be read only once: its parts are held
// in memory, one per request in flight. Either way the whole blob is checked against its digest before its last part
// is handed out, so an upload is completed only with the blob's own bytes: a damaged local copy is never made a
// cache object that every later export would find there and skip.

/** One part of a blob: its number (from 1, as S3 and Azure count them), where it starts, its length. */
export interface BlobPart { number: number; start: number; size: number }

/**
 * `size` bytes cut into parts of `partSize`, the last one shorter; the part size grows (as the AWS transfer manager
 * grows it) when more than `maxParts` would be needed (S3 takes 10,000 parts, Azure 50,000 blocks).
 */
export function splitBlob(size: number, partSize: number, maxParts: number): BlobPart[] {
  const each = Math.max(partSize, Math.ceil(size / maxParts));
  const parts: BlobPart[] = [];
  for (let start = 0; start < size; start += each) parts.push({ number: parts.length + 1, start, size: Math.min(each, size - start) });
  return parts;
}

/** A part as its request sends it. */
export interface PartBody {
  readonly part: BlobPart;
  /** The part's sha256 when sendParts was asked for it (`partSha256`), known before a byte of the part is sent. */
  readonly sha256: Buffer | undefined;
  /** A fresh stream of the part's bytes for one request; a retry calls it again. The sender destroys it when done. */
  open(): Readable;
}

/** Where an upload reads a blob: the content store's file (read twice), or a stream (read once, in order). */
export type PartSource = { file: FileHandle } | { stream: Readable };

export interface SendPartsOptions {
  desc: Descriptor;
  parts: readonly BlobPart[];
  /** Whether each part's sha256 is wanted (S3 signs it as x-amz-content-sha256; Azure's blocks need none). */
  partSha256: boolean;
  concurrency: number;
  signal?: AbortSignal | undefined;
}

/**
 * Sends every part of `source` with `send`, `concurrency` requests at a time, and returns what each returned, in part
 * order. Parts are read in order, each when a request is free to take it. The first failure (a part out of retries,
 * a damaged blob) aborts the other requests and is thrown.
 */
export async function sendParts<T>(source: PartSource, opts: SendPartsOptions, send: (body: PartBody, signal: AbortSignal) => Promise<T>): Promise<T[]> {
  const scanner = 'file' in source ? scanFile(source.file, opts) : scanStream(source.stream, opts);
  const results: T[] = [];
  // One reader at a time: the scan is sequential (a stream, a whole-blob hash).
  let turn: Promise<unknown> = Promise.resolve();
  const take = (): Promise<IteratorResult<ScannedPart>> => {
    const next = turn.then(() => scanner.next());
    turn = next.catch(() => undefined);
    return next;
  };
  // After a failure a stream is read no further: a worker waiting on a stalled source would hold the failure up.
  const stopReading = (): void => { if ('stream' in source) source.stream.destroy(); };
  try {
    await runWorkers(opts.concurrency, opts.signal, async (signal) => {
      for (;;) {
        signal.throwIfAborted();
        const next = await take();
        if (next.done === true) return;
        try {
          results[next.value.part.number - 1] = await send(next.value, signal);
        } finally {
          next.value.release();
        }
      }
    }, stopReading);
  } finally {
    await scanner.return(undefined);
  }
  return results;
}

/** `fn` for every part, `concurrency` at a time (S3's UploadPartCopy: no bytes of ours); results in part order. */
export async function mapParts<T>(parts: readonly BlobPart[], concurrency: number, signal: AbortSignal | undefined, fn: (part: BlobPart, signal: AbortSignal) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await runWorkers(concurrency, signal, async (inner) => {
    for (let part = parts[next++]; part !== undefined; part = parts[next++]) {
      inner.throwIfAborted();
      results[part.number - 1] = await fn(part, inner);
    }
  });
  return results;
}

/**
 * Runs `count` copies of `worker` to their end; the first failure aborts the others (through their signal, and
 * `onFailure`) and is thrown.
 */
async function runWorkers(count: number, signal: AbortSignal | undefined, worker: (signal: AbortSignal) => Promise<void>, onFailure?: () => void): Promise<void> {
  const failed = new AbortController();
  const inner = signal === undefined ? failed.signal : AbortSignal.any([signal, failed.signal]);
  let first: { err: unknown } | undefined;
  await Promise.all(Array.from({ length: Math.max(1, count) }, async () => {
    try {
      await worker(inner);
    } catch (err) {
      if (first === undefined) {
        first = { err };
        failed.abort(err);
        onFailure?.();
      }
    }
  }));
  if (first !== undefined) throw first.err;
}

/** A part handed to a request, and how its memory goes back once the request is done with it. */
interface ScannedPart extends PartBody { release(): void }

/** The read size of a file part, and how many buffers each of its streams turns through (see common fileChunks). */
const FILE_CHUNK = 512 * 1024;
const STREAM_BUFFERS = 4;

/**
 * The parts of a content store file, hashed in order through two buffers (the next chunk is read while this one is
 * hashed); each request streams its part anew.
 */
async function* scanFile(file: FileHandle, opts: SendPartsOptions): AsyncGenerator<ScannedPart, void, undefined> {
  const { desc } = opts;
  const whole = createHash('sha256');
  const buffers = [0, 1].map(() => Buffer.allocUnsafeSlow(Math.min(FILE_CHUNK, Math.max(1, desc.size))));
  const pool: Buffer[][] = [];
  const short = (at: number): Error => storeBlobDamaged(desc, at);
  const chunks = chunksOf(opts.parts, FILE_CHUNK);
  let turn = 0;
  const readNext = (): { part: BlobPart; last: boolean; bytes: Promise<Buffer> } | undefined => {
    const next = chunks.next();
    if (next.done === true) return undefined;
    const { part, at, length } = next.value;
    const bytes = readFully(file, buffers[turn++ % 2] ?? Buffer.alloc(0), length, at, short);
    // Awaited below; unawaited when the upload stops early, when a failure here must not be an unhandled rejection.
    bytes.catch(() => undefined);
    return { part, last: at + length === part.start + part.size, bytes };
  };
  let hash = opts.partSha256 ? createHash('sha256') : undefined;
  for (let chunk = readNext(); chunk !== undefined;) {
    const bytes = await chunk.bytes;
    const { part, last } = chunk;
    chunk = readNext();
    hash?.update(bytes);
    whole.update(bytes);
    if (!last) continue;
    if (part.number === opts.parts.length) checkDigest(desc, whole.digest('hex'));
    const sha256 = hash?.digest();
    hash = opts.partSha256 ? createHash('sha256') : undefined;
    yield { part, sha256, open: () => new FileRangeStream(file, part, pool, short), release: () => undefined };
  }
}

/** The reads of `parts` in order, each at most `size` bytes and within one part. */
function* chunksOf(parts: readonly BlobPart[], size: number): Generator<{ part: BlobPart; at: number; length: number }> {
  for (const part of parts) {
    for (let at = part.start, end = part.start + part.size; at < end; at += size) yield { part, at, length: Math.min(size, end - at) };
  }
}

/** The parts of a stream, each read into a buffer that a request holds until it is done (at most one per request). */
async function* scanStream(stream: Readable, opts: SendPartsOptions): AsyncGenerator<ScannedPart, void, undefined> {
  const { desc } = opts;
  const whole = createHash('sha256');
  const free: Buffer[] = [];
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  // The first part is the longest.
  const bufferSize = opts.parts[0]?.size ?? 0;
  let left: Buffer = Buffer.alloc(0);
  try {
    for (const part of opts.parts) {
      const buffer = free.pop() ?? Buffer.allocUnsafeSlow(bufferSize);
      for (let filled = 0; filled < part.size;) {
        if (left.length === 0) {
          const read = await chunks.next();
          if (read.done === true) throw damaged(desc, `the stream ended at byte ${part.start + filled} of ${desc.size}`);
          left = read.value;
        }
        const n = left.copy(buffer, filled, 0, Math.min(left.length, part.size - filled));
        left = left.subarray(n);
        filled += n;
      }
      const bytes = buffer.subarray(0, part.size);
      whole.update(bytes);
      if (part.number === opts.parts.length) {
        // Read to the stream's end: no byte more, and a verifying stream (store-io verifiedBlob) has had its say.
        if (left.length > 0 || (await chunks.next()).done !== true) throw damaged(desc, `the stream holds more than ${desc.size} bytes`);
        checkDigest(desc, whole.digest('hex'));
      }
      const sha256 = opts.partSha256 ? createHash('sha256').update(bytes).digest() : undefined;
      yield { part, sha256, open: () => Readable.from([bytes]), release: () => { free.push(buffer); } };
    }
  } finally {
    stream.destroy();
  }
}

function checkDigest(desc: Descriptor, hex: string): void {
  if (`sha256:${hex}` !== desc.digest) throw damaged(desc, `its bytes hash to sha256:${hex}`);
}

function damaged(desc: Descriptor, what: string): UserError {
  return new UserError('DIGEST_MISMATCH', `blob ${desc.digest} read for an upload is not the blob of its digest: ${what}`, 'the local copy of the blob is damaged: build the image again (or prune, then build)');
}

/**
 * One part of a file as a stream, read through STREAM_BUFFERS buffers taken from `pool` and given back when the
 * stream is closed, after its last read has landed: a part's request, or its retry, reuses the buffers of one that
 * is over instead of leaving garbage for every part (common fileChunks says what that costs). A buffer is filled
 * again STREAM_BUFFERS chunks after it was handed out, which undici has sent by then (it waits for 'drain').
 */
class FileRangeStream extends Readable {
  readonly #file: FileHandle;
  readonly #pool: Buffer[][];
  readonly #buffers: Buffer[];
  readonly #short: (position: number) => Error;
  #at: number;
  readonly #end: number;
  #turn = 0;
  #reading: Promise<void> = Promise.resolve();

  constructor(file: FileHandle, part: BlobPart, pool: Buffer[][], short: (position: number) => Error) {
    super();
    this.#file = file;
    this.#pool = pool;
    this.#buffers = pool.pop() ?? Array.from({ length: STREAM_BUFFERS }, () => Buffer.allocUnsafeSlow(FILE_CHUNK));
    this.#short = short;
    this.#at = part.start;
    this.#end = part.start + part.size;
  }

  override _read(): void {
    if (this.#at >= this.#end) {
      this.push(null);
      return;
    }
    const buffer = this.#buffers[this.#turn++ % this.#buffers.length];
    if (buffer === undefined) throw new Error('unreachable: a buffer per turn');
    const at = this.#at;
    const length = Math.min(buffer.length, this.#end - at);
    this.#at += length;
    this.#reading = readFully(this.#file, buffer, length, at, this.#short).then(
      (chunk) => { if (!this.destroyed) this.push(chunk); },
      (err: unknown) => { this.destroy(err as Error); },
    );
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    void this.#reading.then(() => {
      this.#pool.push(this.#buffers);
      done(err);
    });
  }
}
