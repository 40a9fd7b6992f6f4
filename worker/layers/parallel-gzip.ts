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
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      ...(this.#dict ? { dictionary: this.#dict } : {}),
    };
    // A whole input under one block (a small RUN step's layer) is deflated right here: the same zlib call with the
    // same options gives the same bytes, without a thread-pool round trip.
    const isWhole = last && this.#dict === undefined && this.#jobs.length === 0;
    const done = isWhole ? deflateNow(input, options) : new Promise<Buffer>((resolve, reject) => deflateRaw(input, options, (err, out) => (err ? reject(err) : resolve(out))));
    done.catch(() => undefined);   // awaited in order by #drain; this only keeps an early failure from being unhandled
    this.#jobs.push({ done });
    if (!last) {
      this.#dict = Buffer.from(input.subarray(input.length - DICT));
      this.#block = Buffer.allocUnsafe(BLOCK);
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

function deflateNow(input: Buffer, options: { level: number; finishFlush: number }): Promise<Buffer> {
  try {
    return Promise.resolve(deflateRawSync(input, options));
  } catch (err) {
    return Promise.reject(err);
  }
}
