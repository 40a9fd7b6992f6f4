import { expect } from 'chai';
import { mkdtemp, readFile, rm, stat, utimes } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import S3rver from 's3rver';
import { request } from 'undici';
import { S3Cache, type S3Location, type S3PartSizes } from '../../builder/cache/s3/s3-cache.js';
import { startFaultProxy, type FaultProxy } from '../fixtures/fault-proxy.js';
import { pushBlobFile, randomFileBlob, readStoreBlob, type FileBlob } from '../fixtures/store-blobs.js';

// The s3 cache's multipart upload and multipart copy, against s3rver (an S3 API server in Node, from npm) behind the
// fault proxy, which logs every request. The store is driven in-process with small parts (S3's minimum part, 5 MiB)
// instead of the 8 MiB parts and 5 GiB single-request limit a build uses, so a 17 MiB blob is four parts and the
// copy limit is met without writing gigabytes; s3-cache.test.ts goes through the CLI with the real sizes.
//
// s3rver keeps multipart uploads (CreateMultipartUpload, UploadPart, CompleteMultipartUpload) but has no
// AbortMultipartUpload (it answers 405) and no UploadPartCopy (501 NotImplemented): the touch test's proxy answers
// each UploadPartCopy itself with what s3rver has, a ranged GET of the source and an UploadPart of those bytes. What
// is checked there is what tsbuild sends (the copy source, each range) and that s3rver completes the upload into the
// same object, refreshed.

const MiB = 1024 ** 2;
const SIZES: S3PartSizes = { partSize: 5 * MiB, maxSingleBytes: 6 * MiB };

describe('S3 cache: multipart upload and multipart copy of big blobs', function () {
  this.timeout(120_000);
  let s3: S3rver;
  let dir: string;
  let store: string;
  let s3Host = '';
  let proxy: FaultProxy;

  const location = (prefix: string): S3Location => ({
    bucket: 'cache', region: 'eu-west-1', endpoint: `http://${proxy.host}`, pathStyle: true,
    prefix, blobsPrefix: 'blobs/', manifestsPrefix: 'manifests/', names: ['buildkit'], touchRefreshMs: 3_600_000,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const blob = (size: number): Promise<FileBlob> => randomFileBlob(dir, size);
  /** The requests the proxy saw for `key` since `from`, as `METHOD ?query` (query names and part numbers only). */
  const requestsOf = (key: string, from = 0): string[] => proxy.log.slice(from).filter((e) => decodeURIComponent(e.path.split('?')[0] ?? '') === `/cache/${key}`)
    .map((e) => `${e.method} ${(e.path.split('?')[1] ?? '').replace(/uploadId=[^&]*/, 'uploadId').replace(/^$/, '-')}`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-s3mp-'));
    store = join(dir, 's3');
    s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: store, configureBuckets: [{ name: 'cache', configs: [] }] });
    const { port } = await s3.run();
    s3Host = `127.0.0.1:${port}`;
    proxy = await startFaultProxy(s3Host);
  });
  after(async () => {
    await proxy?.close();
    await s3?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('uploads a blob of 17 MiB from its file in four parts (the last short) and reads it back verified; one under twice the part size is one PUT', async () => {
    const cache = new S3Cache(location('mp/'), SIZES);
    const big = await blob(17 * MiB + 1234);
    const from = proxy.log.length;
    expect(await pushBlobFile(cache, big)).to.equal('uploaded');
    const key = `mp/blobs/${big.desc.digest}`;
    expect(requestsOf(key, from)).to.have.members(['HEAD -', 'POST uploads', 'PUT partNumber=1&uploadId', 'PUT partNumber=2&uploadId', 'PUT partNumber=3&uploadId', 'PUT partNumber=4&uploadId', 'POST uploadId']);
    expect((await readStoreBlob(cache, big)).equals(big.bytes)).to.equal(true);
    expect((await readFile(join(store, 'cache', `${key}._S3rver_object`))).equals(big.bytes)).to.equal(true);
    // Pushed again: there already, nothing sent.
    const again = proxy.log.length;
    expect(await pushBlobFile(cache, big)).to.equal('exists');
    expect(requestsOf(key, again)).to.deep.equal(['HEAD -']);

    const small = await blob(10 * MiB - 1);
    const before = proxy.log.length;
    expect(await pushBlobFile(cache, small)).to.equal('uploaded');
    expect(requestsOf(`mp/blobs/${small.desc.digest}`, before)).to.deep.equal(['HEAD -', 'PUT -']);
    expect((await readStoreBlob(cache, small)).equals(small.bytes)).to.equal(true);
  });

  it('sends a part that failed again on its own; a part that keeps failing aborts the upload, and the error names the cache, the part and the blob', async () => {
    const cache = new S3Cache(location('retry/'), SIZES);
    const once = await blob(16 * MiB);
    proxy.add({ method: 'PUT', path: /^\/cache\/retry\/blobs\/.*partNumber=2&/, times: 1, fault: { kind: 'status', status: 503 } });
    proxy.add({ method: 'PUT', path: /^\/cache\/retry\/blobs\/.*partNumber=3&/, times: 1, fault: { kind: 'reset' } });
    const from = proxy.log.length;
    expect(await pushBlobFile(cache, once)).to.equal('uploaded');
    const sent = requestsOf(`retry/blobs/${once.desc.digest}`, from);
    expect(sent.filter((r) => r.startsWith('PUT partNumber=2&')), 'part 2: a 503, then sent again').to.have.length(2);
    expect(sent.filter((r) => r.startsWith('PUT partNumber=3&')), 'part 3: a reset, then sent again').to.have.length(2);
    expect(sent.filter((r) => r.startsWith('PUT partNumber=1&'))).to.have.length(1);
    expect((await readStoreBlob(cache, once)).equals(once.bytes)).to.equal(true);

    const never = await blob(16 * MiB);
    proxy.add({ method: 'PUT', path: /^\/cache\/retry\/blobs\/.*partNumber=2&/, times: 100, fault: { kind: 'status', status: 500 } });
    const start = proxy.log.length;
    const failure = await pushBlobFile(cache, never).then(() => undefined, (err: unknown) => err);
    const key = `retry/blobs/${never.desc.digest}`;
    expect(failure).to.have.property('code', 'REGISTRY_REQUEST');
    expect(String((failure as Error).message)).to.equal(`cache s3://cache/retry/: UploadPart 2 of ${key} failed with HTTP 500`);
    const seen = requestsOf(key, start);
    expect(seen.filter((r) => r.startsWith('PUT partNumber=2&')), 'part 2 tried five times').to.have.length(5);
    expect(seen).to.include('DELETE uploadId').and.not.include('POST uploadId');
    expect(await cache.has(never.desc)).to.equal(false);
  });

  it('sends a blob known only as a stream in one PUT up to the single-request limit, and in parts above it', async () => {
    const cache = new S3Cache(location('stream/'), SIZES);
    for (const [size, expected] of [[6 * MiB, ['HEAD -', 'PUT -']], [13 * MiB, ['HEAD -', 'POST uploads', 'PUT partNumber=1&uploadId', 'PUT partNumber=2&uploadId', 'PUT partNumber=3&uploadId', 'POST uploadId']]] as const) {
      const b = await blob(size);
      const from = proxy.log.length;
      // Chunks of a size unrelated to the parts': a part is gathered across them.
      const open = async (): Promise<Readable> => Readable.from(Array.from({ length: Math.ceil(size / 700_000) }, (_, i) => b.bytes.subarray(i * 700_000, (i + 1) * 700_000)));
      expect(await cache.push(b.desc, open)).to.equal('uploaded');
      expect(requestsOf(`stream/blobs/${b.desc.digest}`, from)).to.have.members([...expected]);
      expect((await readStoreBlob(cache, b)).equals(b.bytes)).to.equal(true);
    }
  });

  it('keeps apart the parts of several blobs pushed at once (an export sends upload_parallelism blobs side by side)', async () => {
    // upload_parallelism is how many blobs an export sends at once (copy's concurrency, as BuildKit's exporter); each
    // blob's parts go five at a time. Several blobs pushed at once must not mix their parts.
    const cache = new S3Cache(location('many/'), SIZES);
    const blobs = await Promise.all([11, 12, 13, 14].map((m) => blob(m * MiB + 7)));
    expect(await Promise.all(blobs.map((b) => pushBlobFile(cache, b)))).to.deep.equal(['uploaded', 'uploaded', 'uploaded', 'uploaded']);
    for (const b of blobs) expect((await readStoreBlob(cache, b)).equals(b.bytes)).to.equal(true);
  });

  it('touches an aged object over the CopyObject limit by a multipart copy of itself (UploadPartCopy of each range), as BuildKit', async () => {
    const cache = new S3Cache(location('touch/'), SIZES);
    const big = await blob(17 * MiB + 5);
    await pushBlobFile(cache, big);
    const key = `touch/blobs/${big.desc.digest}`;
    const objectFile = join(store, 'cache', `${key}._S3rver_object`);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await utimes(objectFile, twoDaysAgo, twoDaysAgo);
    const copies: { source: string; range: string }[] = [];
    proxy.add({ method: 'PUT', path: /^\/cache\/touch\/blobs\/.*partNumber=/, times: 3, fault: { kind: 'answer', answer: (req, res) => uploadPartCopy(s3Host, req, res, copies) } });
    const from = proxy.log.length;
    expect(await pushBlobFile(cache, big)).to.equal('exists');
    expect(requestsOf(key, from)).to.have.members(['HEAD -', 'POST uploads', 'PUT partNumber=1&uploadId', 'PUT partNumber=2&uploadId', 'PUT partNumber=3&uploadId', 'POST uploadId']);
    const encodedKey = key.split('/').map((s) => encodeURIComponent(s).replaceAll('%3A', ':')).join('/');
    expect(copies.sort((a, b) => a.range.localeCompare(b.range, 'en', { numeric: true }))).to.deep.equal([
      { source: `/cache/${encodedKey}`, range: `bytes=0-${6 * MiB - 1}` },
      { source: `/cache/${encodedKey}`, range: `bytes=${6 * MiB}-${12 * MiB - 1}` },
      { source: `/cache/${encodedKey}`, range: `bytes=${12 * MiB}-${17 * MiB + 4}` },
    ]);
    expect((await stat(objectFile)).mtimeMs).to.be.greaterThan(Date.now() - 60_000);
    const metadata = JSON.parse(await readFile(join(store, 'cache', `${key}._S3rver_metadata.json`), 'utf8')) as Record<string, string>;
    expect(metadata['x-amz-meta-updated-at']).to.match(/^\d{4}-\d\d-\d\dT/);
    expect((await readStoreBlob(cache, big)).equals(big.bytes)).to.equal(true);
  });
});

/**
 * UploadPartCopy as S3 carries it out, for s3rver, which has none: the source's range (a ranged GET) becomes the part
 * (an UploadPart of the same upload, on the same URL); the answer is S3's CopyPartResult with the part's ETag.
 */
async function uploadPartCopy(s3Host: string, req: IncomingMessage, res: ServerResponse, copies: { source: string; range: string }[]): Promise<void> {
  req.resume();
  const source = String(req.headers['x-amz-copy-source'] ?? '');
  const range = String(req.headers['x-amz-copy-source-range'] ?? '');
  copies.push({ source, range });
  if (!/^bytes=\d+-\d+$/.test(range)) {
    res.writeHead(400).end('<Error><Code>InvalidArgument</Code></Error>');
    return;
  }
  const got = await request(`http://${s3Host}${source}`, { headers: { range } });
  const bytes = Buffer.from(await got.body.arrayBuffer());
  const put = await request(`http://${s3Host}${req.url ?? ''}`, { method: 'PUT', body: bytes });
  await put.body.dump();
  const etag = String(put.headers['etag'] ?? '').replaceAll('"', '&quot;');
  res.writeHead(got.statusCode === 206 && put.statusCode === 200 ? 200 : 500, { 'content-type': 'application/xml' })
    .end(`<?xml version="1.0" encoding="UTF-8"?><CopyPartResult><LastModified>${new Date().toISOString()}</LastModified><ETag>${etag}</ETag></CopyPartResult>`);
}
