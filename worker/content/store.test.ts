import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../../registry/oci/index.js';
import { FileContentStore } from './store.js';

async function readStream(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

describe('FileContentStore', () => {
  let root: string;
  beforeEach(async () => { root = await mkdtemp(join(tmpdir(), 'tsbuild-store-')); });
  afterEach(async () => { await rm(root, { recursive: true, force: true }); });

  it('stores a blob under its sha256 and reads back the same bytes', async () => {
    const store = await FileContentStore.open(root);
    const data = Buffer.from('hello layers');
    const desc = await store.put(data, 'text/plain');
    expect(desc).to.deep.equal({ mediaType: 'text/plain', digest: sha256(data), size: data.length });
    expect(await readStream(await store.read(desc.digest))).to.deep.equal(data);
    expect((await store.info(desc.digest))?.size).to.equal(data.length);
    expect(await store.has(desc.digest)).to.equal(true);
    expect(await readdir(join(root, 'content', 'blobs', 'sha256'))).to.deep.equal([desc.digest.slice(7)]);
  });

  it('remembers a re-encoded variant of a blob, and forgets it when its blob is gone or its record is torn', async () => {
    const store = await FileContentStore.open(root);
    const source = await store.put(Buffer.from('layer tar'), 'application/octet-stream');
    const made = await store.put(Buffer.from('layer tar, recompressed'), 'application/octet-stream');
    expect(await store.variant(source.digest, 'recompress:zstd:level=3')).to.equal(undefined);
    await store.putVariant(source.digest, 'recompress:zstd:level=3', { digest: made.digest, size: made.size });
    expect(await store.variant(source.digest, 'recompress:zstd:level=3')).to.deep.equal({ digest: made.digest, size: made.size });
    // Another re-encoding of the same blob is another record.
    expect(await store.variant(source.digest, 'recompress:zstd:level=19')).to.equal(undefined);
    const dir = join(root, 'content', 'variants', source.digest.slice(7));
    const [record] = await readdir(dir);
    await writeFile(join(dir, record ?? ''), '{"digest": "sha256:');
    expect(await store.variant(source.digest, 'recompress:zstd:level=3')).to.equal(undefined);
    await store.putVariant(source.digest, 'recompress:zstd:level=3', { digest: made.digest, size: made.size, diffId: source.digest });
    expect((await store.variant(source.digest, 'recompress:zstd:level=3'))?.diffId).to.equal(source.digest);
    await store.delete(made.digest);
    expect(await store.variant(source.digest, 'recompress:zstd:level=3')).to.equal(undefined);
  });

  it('refuses to commit bytes that do not match the expected digest and stores nothing', async () => {
    const store = await FileContentStore.open(root);
    const ingest = await store.ingest('bad', { digest: sha256('expected'), size: 8 });
    ingest.end(Buffer.from('tampered'));
    const err = await ingest.commit().then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'DIGEST_MISMATCH');
    expect(await store.list()).to.deep.equal([]);
    expect(await readdir(join(root, 'content', 'ingest'))).to.deep.equal([]);
  });

  it('refuses bytes of the wrong size even when they are shorter than expected', async () => {
    const store = await FileContentStore.open(root);
    const ingest = await store.ingest('short', { digest: sha256('abc'), size: 4 });
    ingest.end(Buffer.from('abc'));
    const err = await ingest.commit().then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'DIGEST_MISMATCH');
    expect(await store.has(sha256('abc'))).to.equal(false);
  });

  it('does not show a blob while its ingest is still being written', async () => {
    const store = await FileContentStore.open(root);
    const data = Buffer.alloc(1 << 20, 7);
    const ingest = await store.ingest('partial', { digest: sha256(data), size: data.length });
    await new Promise<void>((resolve, reject) => ingest.write(data.subarray(0, 1000), (e) => (e ? reject(e) : resolve())));
    expect(await store.has(sha256(data))).to.equal(false);
    ingest.end(data.subarray(1000));
    await ingest.commit();
    expect(await store.has(sha256(data))).to.equal(true);
  });

  it('lets two concurrent ingests of the same content both succeed and keeps one blob', async () => {
    const store = await FileContentStore.open(root);
    const data = Buffer.alloc(3 << 20, 1);
    const expected = { digest: sha256(data), size: data.length };
    const a = await store.ingest('same', expected);
    const b = await store.ingest('same', expected);
    for (let i = 0; i < data.length; i += 65536) {
      a.write(data.subarray(i, i + 65536));
      b.write(data.subarray(i, i + 65536));
    }
    a.end();
    b.end();
    const [da, db] = await Promise.all([a.commit(), b.commit()]);
    expect(da.digest).to.equal(expected.digest);
    expect(db.digest).to.equal(expected.digest);
    expect((await store.list()).map((d) => d.digest)).to.deep.equal([expected.digest]);
    expect(await readStream(await store.read(expected.digest))).to.deep.equal(data);
  });

  it('discards an aborted ingest', async () => {
    const store = await FileContentStore.open(root);
    const ingest = await store.ingest('abort');
    ingest.write(Buffer.from('half'));
    await ingest.abort();
    expect(await store.list()).to.deep.equal([]);
    expect(await readdir(join(root, 'content', 'ingest'))).to.deep.equal([]);
  });

  it('refuses to read a whole document over the limit', async () => {
    const store = await FileContentStore.open(root);
    const desc = await store.put(Buffer.alloc(100), 'application/json');
    expect((await store.readAll(desc.digest, 100)).length).to.equal(100);
    const err = await store.readAll(desc.digest, 99).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
  });

  it('is consistent after the writing process is killed with SIGKILL mid-ingest', async () => {
    const storeModule = join(fileURLToPath(new URL('.', import.meta.url)), 'store.js');
    const script = join(root, 'writer.mjs');
    await writeFile(script, `
      import { FileContentStore } from ${JSON.stringify(storeModule)};
      const store = await FileContentStore.open(${JSON.stringify(root)});
      const ing = await store.ingest('killed');
      ing.write(Buffer.alloc(1 << 20, 3), () => process.stdout.write('written\\n'));
      setInterval(() => {}, 1000);
    `);
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => { if (c.toString().includes('written')) resolve(); });
      child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    expect((await readdir(join(root, 'content', 'ingest'))).length).to.equal(1);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    const store = await FileContentStore.open(root);
    expect(await store.list()).to.deep.equal([]);
    expect(await readdir(join(root, 'content', 'ingest'))).to.deep.equal([]);
    expect(await store.has(sha256(Buffer.alloc(1 << 20, 3)))).to.equal(false);
  });
});
