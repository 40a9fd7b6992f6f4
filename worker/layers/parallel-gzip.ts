import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
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

/** A byte stream read by filling the caller's buffers (layer-tar.ts `layerTarSource`). */
export interface BlockSource {
  /** Fills `buf` from the start; fewer bytes than `buf.length` (down to 0) only at the end of the stream. */
  fill(buf: Buffer): Promise<number>;
  /** Releases what is open; the source cannot be filled from afterwards. */
  close(): void;
}

/**
 * Reads `source` to its end through the one buffer `block`, handing each filled part to `sink` (awaited before the
 * buffer is filled again, so the sink may keep the chunk until then): memory stays at one buffer however long the
 * stream. Closes the source. `signal` is checked between blocks.
 */
export async function drainBlocks(source: BlockSource, block: Buffer, sink: (chunk: Buffer) => void | Promise<void>, signal?: AbortSignal): Promise<void> {
  try {
    for (;;) {
      signal?.throwIfAborted();
      const n = await source.fill(block);
      if (n > 0) await sink(block.subarray(0, n));
      if (n < block.length) return;
    }
  } finally {
    source.close();
  }
}

/**
 * The blocks of one gzip member, compressed the way pigz does it: the input is cut into 1 MiB blocks, each block is
 * deflated at level 1 on libuv's thread pool with the previous block's last 32 KiB as its dictionary and ends in a
 * sync flush (so the pieces concatenate into one deflate stream); the last block finishes the stream and the CRC-32
 * and length follow. The output depends only on the input and on zlib (built into Node), never on timing or the
 * number of cores. The sha256 of the uncompressed input (the layer's diffId) is taken in the same pass.
 */
class GzipBlocks {
  readonly #hash: Hash = createHash('sha256');
  readonly jobs: Job[] = [];
  // Input blocks come back here once their deflate is done: a layer of any size uses at most maxJobs + 1 of them,
  // instead of a fresh 1 MiB buffer per MiB that only a later GC would give back.
  readonly #free: Buffer[] = [];
  #dict: Buffer | undefined;
  #crc = 0;
  #length = 0;

  /** An empty 1 MiB block to fill. */
  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafe(BLOCK);
  }

  /** Starts deflating the first `fill` bytes of `block` (taken from `take`); `last` finishes the stream. */
  start(block: Buffer, fill: number, last: boolean): void {
    const input = block.subarray(0, fill);
    this.#hash.update(input);
    this.#crc = crc32(input, this.#crc);
    this.#length += fill;
    const options = {
      level: 1,
      // Room for the whole block's output in one zlib call (stored blocks of incompressible input add 5 bytes per
      // 16 KiB). With Node's default 16 KiB chunks an async deflate came back to the main thread once per 16 KiB
      // of output (processCallback: 8% of the main thread in the big-copy profile), queueing each block's next
      // piece behind the main thread's own work. The deflate stream is the same whatever the output buffer size.
      chunkSize: CHUNK,
      // The block goes to zlib in one call that also flushes (a sync flush, or the end of the stream for the last
      // block), so its whole output lands in one chunk: a view of one ArrayBuffer that `release` can free. Left to
      // the default (no flush, then the flush on an empty input at the end), incompressible input came back in two
      // chunks, concatenated into a third buffer. Same bytes: deflateRawSync below makes exactly this one call.
      flush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      ...(this.#dict ? { dictionary: this.#dict } : {}),
    };
    // A whole input under one block (a small RUN step's layer) is deflated right here: the same zlib call with the
    // same options gives the same bytes, without a thread-pool round trip.
    const isWhole = last && this.#dict === undefined && this.jobs.length === 0;
    const done = isWhole ? deflateNow(input, options) : new Promise<Buffer>((resolve, reject) => deflateRaw(input, options, (err, out) => (err ? reject(err) : resolve(out))));
    // The block is free again once zlib is done with it (awaited in order by the caller; this also keeps an early
    // failure from being unhandled).
    done.then(() => this.#free.push(block), () => undefined);
    this.jobs.push({ done });
    if (!last) this.#dict = Buffer.from(input.subarray(input.length - DICT));
  }

  /** The oldest block's output, once it is done. */
  async next(): Promise<Buffer | undefined> {
    return this.jobs.shift()?.done;
  }

  /** The gzip trailer (CRC-32, length mod 2^32) and the diffId, after the last block. */
  finish(): { trailer: Buffer; diffId: Digest } {
    const trailer = Buffer.allocUnsafe(8);
    trailer.writeUInt32LE(this.#crc >>> 0, 0);
    trailer.writeUInt32LE(this.#length % 2 ** 32, 4);
    return { trailer, diffId: `sha256:${this.#hash.digest('hex')}` };
  }
}

// One block more than cores keeps every core busy while the main thread reads, hashes and writes; libuv's pool has
// 4 threads by default and file I/O shares it, so at most 3 blocks run at once.
function defaultParallelism(): number {
  return Math.min(availableParallelism() + 1, 3);
}

/**
 * One gzip member of `source` (GzipBlocks above), its input read straight into its own blocks, handed to `sink`
 * piece by piece in order: the header, each block's deflate output, the trailer. Up to `parallel` blocks deflate at
 * once while the next one is read. A piece is the sink's only until the sink's promise settles: a block's output is
 * freed right then (`release`), so the sink must have written or copied it. Memory stays at a few blocks whatever
 * the input's size. Returns the diffId; closes the source; `signal` is checked between blocks.
 */
export async function gzipInto(source: BlockSource, sink: (chunk: Buffer) => Promise<void>, options: { parallel?: number; signal?: AbortSignal | undefined } = {}): Promise<Digest> {
  const blocks = new GzipBlocks();
  const maxJobs = options.parallel ?? defaultParallelism();
  const fill = async (): Promise<{ block: Buffer; n: number }> => {
    const block = blocks.take();
    return { block, n: await source.fill(block) };
  };
  try {
    await sink(HEADER);
    let isEnded = false;
    let ready: { block: Buffer; n: number } | undefined;
    for (;;) {
      while (!isEnded && blocks.jobs.length < maxJobs) {
        options.signal?.throwIfAborted();
        const { block, n } = ready ?? await fill();
        ready = undefined;
        isEnded = n < block.length;
        blocks.start(block, n, isEnded);
      }
      // Read the next block while the pool deflates: the main thread's reads overlap the oldest block's deflate.
      if (!isEnded && ready === undefined) ready = await fill();
      const out = await blocks.next();
      if (out === undefined) break;
      await sink(out);
      release(out);
    }
    const { trailer, diffId } = blocks.finish();
    await sink(trailer);
    return diffId;
  } finally {
    source.close();
  }
}

/**
 * Frees a block's deflate output now. Each one is a view of the one ArrayBuffer that zlib allocated for that call
 * (chunkSize bytes, far above Buffer's shared pool), so nothing else can see it. Left to the garbage collector, a
 * MiB per block piled up until V8's external-memory trigger (~64 MiB) started a mark-compact: a cold build that
 * exports a 270 MB layer peaked at 169 MiB, 136 with this (bench/RESULTS.md, tenth round). Detaching it
 * (ArrayBuffer.prototype.transfer, ES2024: this project's lib is ES2023) drops the only reference to its memory.
 */
function release(out: Buffer): void {
  const buffer = out.buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer };
  if (buffer.byteLength === CHUNK) buffer.transfer(0);
}

function deflateNow(input: Buffer, options: { level: number; chunkSize: number; finishFlush: number }): Promise<Buffer> {
  try {
    return Promise.resolve(deflateRawSync(input, options));
  } catch (err) {
    return Promise.reject(err);
  }
}
