import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { constants, crc32, deflateRaw, deflateRawSync } from 'node:zlib';
import type { Digest } from '../../registry/oci/index.js';

/**
 * How layers are compressed. Part of what makes a layer's bytes: a change here changes every layer digest, so it
 * is recorded with each exported layer (see diff.ts) and bumps when the recipe changes.
 */
export const LAYER_COMPRESSOR = 'tsbuild-pgzip/1:level=1,block=1MiB,dict=32KiB';

const BLOCK = 1 << 20;
const DICT = 32 << 10;
const CHUNK = BLOCK + (64 << 10);
// gzip member header: magic, CM=deflate, no flags, MTIME 0, XFL 4 (fastest), OS 3 (Unix). Fixed, as pigz -n writes.
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 3]);

interface Job { done: Promise<Buffer> }

/**
 * One gzip member (RFC 1952) of the input, compressed on several cores the way pigz does it: the input is cut into
 * 1 MiB blocks, each block is deflated at level 1 on libuv's thread pool with the previous block's last 32 KiB as
 * its dictionary and ends in a sync flush (so the pieces concatenate into one deflate stream); the last block
 * finishes the stream and the CRC-32 and length follow. The output depends only on the input and on zlib (built into
 * Node), never on timing or the number of cores. The sha256 of the uncompressed input (the layer's diffId) is taken
 * in the same pass: `diffId()` after the stream ended.
 */
export class ParallelGzip extends Transform {
  readonly #hash: Hash = createHash('sha256');
  readonly #jobs: Job[] = [];
  readonly #maxJobs: number;
  // Input blocks come back here once their deflate is done: a layer of any size uses at most maxJobs + 1 of them,
  // instead of a fresh 1 MiB buffer per MiB that only a later GC would give back.
  readonly #free: Buffer[] = [];
  #block: Buffer = Buffer.allocUnsafe(BLOCK);
  #fill = 0;
  #dict: Buffer | undefined;
  #crc = 0;
  #length = 0;
  #diffId: Digest | undefined;

  constructor(options: { parallel?: number } = {}) {
    super();
    // One block more than cores keeps every core busy while the main thread hashes and writes; libuv's pool has 4
    // threads by default and streamed file reads share it, so at most 3 blocks run at once.
    this.#maxJobs = options.parallel ?? Math.min(availableParallelism() + 1, 3);
    this.push(HEADER);
  }

  /** sha256 of the uncompressed input, known once the stream has ended. */
  diffId(): Digest {
    if (this.#diffId === undefined) throw new Error('diffId asked for before the stream ended');
    return this.#diffId;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#hash.update(chunk);
    this.#crc = crc32(chunk, this.#crc);
    this.#length += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, BLOCK - this.#fill);
      chunk.copy(this.#block, this.#fill, offset, offset + n);
      this.#fill += n;
      offset += n;
      if (this.#fill === BLOCK) this.#startBlock(false);
    }
    this.#drain(this.#maxJobs - 1).then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    this.#startBlock(true);
    this.#drain(0).then(() => {
      const trailer = Buffer.allocUnsafe(8);
      trailer.writeUInt32LE(this.#crc >>> 0, 0);
      trailer.writeUInt32LE(this.#length % 2 ** 32, 4);
      this.#diffId = `sha256:${this.#hash.digest('hex')}`;
      cb(null, trailer);
    }, cb);
  }

  #startBlock(last: boolean): void {
    const input = this.#block.subarray(0, this.#fill);
    const options = {
      level: 1,
      // Room for the whole block's output in one zlib call (stored blocks of incompressible input add 5 bytes per
      // 16 KiB). With Node's default 16 KiB chunks an async deflate came back to the main thread once per 16 KiB
      // of output (processCallback: 8% of the main thread in the big-copy profile), queueing each block's next
      // piece behind the main thread's own work. The deflate stream is the same whatever the output buffer size.
      chunkSize: CHUNK,
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      ...(this.#dict ? { dictionary: this.#dict } : {}),
    };
    // A whole input under one block (a small RUN step's layer) is deflated right here: the same zlib call with the
    // same options gives the same bytes, without a thread-pool round trip.
    const isWhole = last && this.#dict === undefined && this.#jobs.length === 0;
    const done = isWhole ? deflateNow(input, options) : new Promise<Buffer>((resolve, reject) => deflateRaw(input, options, (err, out) => (err ? reject(err) : resolve(out))));
    const block = this.#block;
    // The block is free again once zlib is done with it (awaited in order by #drain; this also keeps an early
    // failure from being unhandled).
    done.then(() => this.#free.push(block), () => undefined);
    this.#jobs.push({ done });
    if (!last) {
      this.#dict = Buffer.from(input.subarray(input.length - DICT));
      this.#block = this.#free.pop() ?? Buffer.allocUnsafe(BLOCK);
      this.#fill = 0;
    }
  }

  /** Pushes finished blocks in order until at most `keep` are still running. */
  async #drain(keep: number): Promise<void> {
    while (this.#jobs.length > keep) {
      const job = this.#jobs.shift();
      if (job) this.push(await job.done);
    }
  }
}

function deflateNow(input: Buffer, options: { level: number; chunkSize: number; finishFlush: number }): Promise<Buffer> {
  try {
    return Promise.resolve(deflateRawSync(input, options));
  } catch (err) {
    return Promise.reject(err);
  }
}
