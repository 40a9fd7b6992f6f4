import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { constants, deflateRaw, gunzipSync, inflateRawSync } from 'node:zlib';
import { referenceLayerGzip } from '../../test/fixtures/pgzip-reference.js';
import { gzipInto } from './parallel-gzip.js';
import type { BlockSource } from './parallel-gzip.js';

// Half random, half repetitive: blocks that compress and blocks that do not, across several 1 MiB boundaries.
function sample(size: number): Buffer {
  const b = Buffer.alloc(size);
  randomBytes(Math.floor(size / 2)).copy(b);
  for (let i = Math.floor(size / 2); i < size; i++) b[i] = (i * 7) % 61;
  return b;
}

/** A BlockSource over a buffer. */
function bufferSource(input: Buffer): BlockSource & { closed: boolean } {
  let at = 0;
  return {
    closed: false,
    fill(buf: Buffer): Promise<number> {
      const n = input.copy(buf, 0, at, Math.min(input.length, at + buf.length));
      at += n;
      return Promise.resolve(n);
    },
    close() { this.closed = true; },
  };
}

async function compressSource(input: Buffer, parallel?: number): Promise<{ out: Buffer; diffId: string }> {
  const out: Buffer[] = [];
  // A piece is the sink's until its promise settles (a block's output is freed then): keep copies.
  const diffId = await gzipInto(bufferSource(input), (b) => { out.push(Buffer.from(b)); return Promise.resolve(); }, parallel === undefined ? {} : { parallel });
  return { out: Buffer.concat(out), diffId };
}

describe('gzipInto', () => {
  for (const size of [0, 1, 1000, 1 << 20, (1 << 20) + 1, 2 * (1 << 20), 3.5 * (1 << 20)]) {
    it(`writes one gzip member of the layer recipe's exact bytes, which decompresses to the input (${size} bytes), and hashes the input`, async () => {
      const input = sample(size);
      const { out, diffId } = await compressSource(input);
      // The recipe written out one block after another (test/fixtures/pgzip-reference.ts): layer digests stay.
      expect(out.equals(referenceLayerGzip(input))).to.equal(true);
      expect(gunzipSync(out).equals(input)).to.equal(true);
      expect(diffId).to.equal(`sha256:${createHash('sha256').update(input).digest('hex')}`);
      // One member: the header, one deflate stream to the end, then CRC-32 and length.
      expect(inflateRawSync(out.subarray(10, out.length - 8)).equals(input)).to.equal(true);
      expect(out.readUInt32LE(out.length - 4)).to.equal(size);
    });
  }

  it('deflates an input under one block inline to exactly the bytes the thread pool gives (layer digests stay)', async () => {
    for (const size of [0, 37, 1000, (1 << 20) - 1]) {
      const input = sample(size);
      const pooled = await promisify(deflateRaw)(input, { level: 1, finishFlush: constants.Z_FINISH });
      const { out } = await compressSource(input);
      expect(out.subarray(10, out.length - 8).equals(pooled), `${size} bytes`).to.equal(true);
    }
  });

  it('gives the same bytes whatever the parallelism', async () => {
    const input = sample(5 * (1 << 20) + 12345);
    const reference = referenceLayerGzip(input);
    for (const parallel of [1, 2, 3]) expect((await compressSource(input, parallel)).out.equals(reference), `parallel ${parallel}`).to.equal(true);
  });

  it('gives the same bytes to a sink slower than the compression, and frees each block\'s output once the sink is done', async () => {
    const input = sample(6 * (1 << 20) + 99);
    const out: Buffer[] = [];
    const seen: Buffer[] = [];
    await gzipInto(bufferSource(input), async (b) => {
      out.push(Buffer.from(b));
      seen.push(b);
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
    expect(Buffer.concat(out).equals(referenceLayerGzip(input))).to.equal(true);
    // header, 7 blocks, trailer: the blocks' outputs are detached (length 0) after their write; header and trailer stay.
    expect(seen.map((b) => b.length === 0)).to.deep.equal([false, true, true, true, true, true, true, true, false]);
  });

  it('closes its source and stops when the sink fails', async () => {
    const source = bufferSource(sample(4 << 20));
    let calls = 0;
    const err = await gzipInto(source, () => (++calls === 2 ? Promise.reject(new Error('disk full')) : Promise.resolve())).catch((e: unknown) => e);
    expect((err as Error).message).to.equal('disk full');
    expect(source.closed).to.equal(true);
    expect(calls).to.equal(2);
  });

  it('closes its source when aborted', async () => {
    const source = bufferSource(sample(4 << 20));
    const controller = new AbortController();
    controller.abort();
    const err = await gzipInto(source, () => Promise.resolve(), { signal: controller.signal }).catch((e: unknown) => e);
    expect((err as Error).name).to.equal('AbortError');
    expect(source.closed).to.equal(true);
  });
});
