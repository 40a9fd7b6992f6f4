import { expect } from 'chai';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sha256 } from './oci/digest.js';
import { RegistryError } from './registry-error.js';
import { verifyStream } from './verify-stream.js';

const data = Buffer.from('hello, blob');
const desc = { mediaType: 'application/octet-stream', digest: sha256(data), size: data.length };

async function run(chunks: Buffer[], d = desc): Promise<{ out: Buffer; err?: unknown }> {
  const got: Buffer[] = [];
  try {
    await pipeline(Readable.from(chunks), verifyStream(d, 'r'), async function (source) {
      for await (const c of source) got.push(c as Buffer);
    });
    return { out: Buffer.concat(got) };
  } catch (err) {
    return { out: Buffer.concat(got), err };
  }
}

describe('verifyStream', () => {
  it('passes the exact bytes of a matching blob through', async () => {
    const { out, err } = await run([data.subarray(0, 3), data.subarray(3)]);
    expect(err).to.equal(undefined);
    expect(out.equals(data)).to.equal(true);
  });

  for (const [what, chunks] of [
    ['a short body', [data.subarray(0, 5)]],
    ['a long body', [data, Buffer.from('!')]],
    ['a body with a changed byte', [Buffer.from('hello, blub')]],
  ] as const) {
    it(`fails ${what} with DIGEST_MISMATCH`, async () => {
      const { err } = await run([...chunks]);
      expect(err).to.be.instanceOf(RegistryError);
      expect((err as RegistryError).code).to.equal('DIGEST_MISMATCH');
    });
  }
});
