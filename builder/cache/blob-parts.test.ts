import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Descriptor } from '../../registry/index.js';
import { sendParts, splitBlob, type PartBody, type PartSource } from './blob-parts.js';

const MiB = 1024 ** 2;

function descOf(bytes: Buffer): Descriptor {
  return { mediaType: 'application/octet-stream', digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length };
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

describe('blob parts (multipart and block uploads)', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-parts-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('cuts a blob in parts of the part size, the last one short, and grows the part size past the most parts allowed', () => {
    expect(splitBlob(17 * MiB + 3, 5 * MiB, 10_000).map((p) => [p.number, p.start, p.size])).to.deep.equal([
      [1, 0, 5 * MiB], [2, 5 * MiB, 5 * MiB], [3, 10 * MiB, 5 * MiB], [4, 15 * MiB, 2 * MiB + 3],
    ]);
    expect(splitBlob(10 * MiB, 5 * MiB, 10_000)).to.have.length(2);
    // 100 GiB in 8 MiB parts would be 12,800 parts: S3 takes 10,000, so each part is ceil(100 GiB / 10,000) bytes.
    const big = splitBlob(100 * 1024 ** 3, 8 * MiB, 10_000);
    expect(big).to.have.length(10_000);
    expect(big[0]?.size).to.equal(Math.ceil(100 * 1024 ** 3 / 10_000));
    expect(big.reduce((n, p) => n + p.size, 0)).to.equal(100 * 1024 ** 3);
  });

  for (const kind of ['file', 'stream'] as const) {
    it(`sends every part of a ${kind} with its sha256, the bytes of each open() the part's, results in part order`, async () => {
      const bytes = randomBytes(5 * MiB + 1234);
      const desc = descOf(bytes);
      const path = join(dir, `blob-${kind}`);
      await writeFile(path, bytes);
      const file = await open(path);
      try {
        const source: PartSource = kind === 'file' ? { file } : { stream: Readable.from([bytes.subarray(0, 777), bytes.subarray(777)]) };
        const parts = splitBlob(desc.size, 1 * MiB, 10_000);
        let inFlight = 0;
        let most = 0;
        // The first three parts wait for one another: three requests are in flight at once (fewer would never end).
        let firstThree: () => void = () => undefined;
        const allThree = new Promise<void>((resolve) => { firstThree = resolve; });
        const results = await sendParts(source, { desc, parts, partSha256: true, concurrency: 3 }, async (body: PartBody) => {
          inFlight++;
          most = Math.max(most, inFlight);
          if (most === 3) firstThree();
          if (body.part.number <= 3) await allThree;
          const { start, size } = body.part;
          const expected = bytes.subarray(start, start + size);
          expect(body.sha256).to.deep.equal(createHash('sha256').update(expected).digest());
          // A retry opens the part again: the same bytes, whatever the first stream left behind.
          const first = body.open();
          first.destroy();
          await sleep(1);
          expect((await bytesOf(body.open())).equals(expected), `part ${body.part.number}`).to.equal(true);
          inFlight--;
          return body.part.number * 10;
        });
        expect(results).to.deep.equal(parts.map((p) => p.number * 10));
        expect(most).to.equal(3);
      } finally {
        await file.close();
      }
    });

    it(`checks a ${kind}'s whole digest before it hands out the last part, and stops there`, async () => {
      const bytes = randomBytes(3 * MiB);
      const desc = { ...descOf(bytes), digest: descOf(Buffer.from('other')).digest };
      const path = join(dir, `bad-${kind}`);
      await writeFile(path, bytes);
      const file = await open(path);
      try {
        const sent: number[] = [];
        const source: PartSource = kind === 'file' ? { file } : { stream: Readable.from([bytes]) };
        const failure = await sendParts(source, { desc, parts: splitBlob(desc.size, 1 * MiB, 10_000), partSha256: true, concurrency: 1 }, async (body) => { sent.push(body.part.number); })
          .then(() => undefined, (err: unknown) => err);
        expect(failure).to.have.property('code', 'DIGEST_MISMATCH');
        expect(sent).to.deep.equal([1, 2]);
      } finally {
        await file.close();
      }
    });
  }

  it('refuses a stream shorter or longer than its descriptor, and a file shorter than it', async () => {
    const bytes = randomBytes(2 * MiB);
    const desc = descOf(bytes);
    const parts = splitBlob(desc.size, 1 * MiB, 10_000);
    const fail = (source: PartSource): Promise<unknown> => sendParts(source, { desc, parts, partSha256: false, concurrency: 2 }, async () => undefined).then(() => undefined, (err: unknown) => err);
    expect(await fail({ stream: Readable.from([bytes.subarray(1)]) })).to.have.property('message').that.contains('ended at byte');
    expect(await fail({ stream: Readable.from([bytes, Buffer.from('x')]) })).to.have.property('message').that.contains('more than');
    await writeFile(join(dir, 'short'), bytes.subarray(0, MiB + 5));
    const file = await open(join(dir, 'short'));
    try {
      expect(await fail({ file })).to.have.property('code', 'DIGEST_MISMATCH');
    } finally {
      await file.close();
    }
  });

  it('stops the other parts at the first failure and throws it', async () => {
    const bytes = randomBytes(4 * MiB);
    const desc = descOf(bytes);
    const started: number[] = [];
    const failure = await sendParts({ stream: Readable.from([bytes]) }, { desc, parts: splitBlob(desc.size, 512 * 1024, 10_000), partSha256: false, concurrency: 2 }, async (body, signal) => {
      started.push(body.part.number);
      if (body.part.number === 2) throw new Error('part 2 failed');
      await sleep(50, undefined, { signal });
    }).then(() => undefined, (err: unknown) => err);
    expect(failure).to.have.property('message', 'part 2 failed');
    expect(started).to.deep.equal([1, 2]);
  });
});
