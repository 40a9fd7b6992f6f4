import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  anonymous,
  parseReference,
  RegistryClient,
  sha256,
  type Descriptor,
  type RetryEvent,
} from '../../registry/index.js';
import { publishBusybox, type PublishedBusybox } from '../fixtures/busybox-image.js';
import { startFaultProxy, type FaultProxy } from '../fixtures/fault-proxy.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { caught, drain } from '../fixtures/registry-assertions.js';

describe('registry client behind a fault-injecting proxy', function () {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let published: PublishedBusybox;
  let client: RegistryClient;
  let retries: RetryEvent[];

  before(async () => {
    registry = await startRegistry();
    published = await publishBusybox(registry.host);
  });
  after(async () => {
    await registry?.stop();
  });
  beforeEach(async () => {
    proxy = await startFaultProxy(registry.host);
    retries = [];
    client = new RegistryClient({ credentials: anonymous, retry: { attempts: 4, baseDelayMs: 10, maxDelayMs: 50 }, onRetry: (e) => retries.push(e) });
  });
  afterEach(async () => {
    await client.close();
    await proxy.close();
  });

  const ref = (tag = 'latest') => parseReference(`${proxy.host}/busybox:${tag}`);
  const layerPath = () => new RegExp(`/blobs/${published.layer.digest}$`);

  it('retries 503 answers to a manifest GET, reports each retry and then succeeds', async () => {
    proxy.add({ method: 'GET', path: /\/manifests\//, times: 2, fault: { kind: 'status', status: 503 } });
    const desc = await client.resolve(ref(), { os: 'linux', architecture: 'amd64' });
    expect(desc.digest).to.equal(published.manifest);
    expect(retries.map((e) => e.error.status)).to.deep.equal([503, 503]);
    expect(client.metrics.retries).to.equal(2);
  });

  it('waits as long as a 429 Retry-After asks before trying again', async () => {
    proxy.add({ method: 'HEAD', path: /\/blobs\//, times: 1, fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } } });
    expect(await client.hasBlob(ref(), published.layer.digest)).to.equal(true);
    expect(retries).to.have.length(1);
    expect(retries[0]?.delayMs).to.equal(1000);
  });

  it('resumes a layer download cut off mid-blob with a Range request and delivers exactly the right bytes', async () => {
    proxy.add({ method: 'GET', path: layerPath(), times: 1, fault: { kind: 'reset-mid-body', afterBytes: 300_000 } });
    expect(await drain(await client.fetchBlob(ref(), published.layer))).to.equal(published.layer.digest);
    expect(proxy.log.filter((l) => l.method === 'GET' && layerPath().test(l.path))).to.have.length(2);
    expect(retries).to.have.length(1);
    expect(client.metrics.blobBytesDown).to.equal(published.layer.size);
  });

  it('refuses corrupt layer bytes with DIGEST_MISMATCH and serves them right on the next fetch', async () => {
    proxy.add({ method: 'GET', path: layerPath(), times: 1, fault: { kind: 'corrupt-body', at: 1000 } });
    const err = await caught(drain(await client.fetchBlob(ref(), published.layer)));
    expect(err.code).to.equal('DIGEST_MISMATCH');
    expect(await drain(await client.fetchBlob(ref(), published.layer))).to.equal(published.layer.digest);
  });

  it('retries a corrupt config blob and a corrupt manifest instead of accepting them', async () => {
    proxy.add({ method: 'GET', path: /\/manifests\/latest$/, times: 1, fault: { kind: 'corrupt-body', at: 50 } });
    proxy.add({ method: 'GET', path: /\/blobs\/sha256:/, times: 1, fault: { kind: 'corrupt-body', at: 10 } });
    const image = await client.resolveImage(ref(), { os: 'linux', architecture: 'amd64' });
    expect(image.descriptor.digest).to.equal(published.manifest);
    expect(image.config.rootfs.diff_ids).to.deep.equal([published.diffId]);
    expect(retries.map((e) => e.error.code)).to.deep.equal(['DIGEST_MISMATCH', 'DIGEST_MISMATCH']);
  });

  it('starts an upload over when its connection drops, and the registry ends up with the right blob', async () => {
    const data = randomBytes(256 * 1024);
    const desc: Descriptor = { mediaType: 'application/octet-stream', digest: sha256(data), size: data.length };
    proxy.add({ method: 'PUT', path: /\/blobs\/uploads\//, times: 1, fault: { kind: 'reset' } });
    let opened = 0;
    const result = await client.pushBlob(ref(), desc, async () => {
      opened++;
      return Readable.from([data.subarray(0, 1000), data.subarray(1000)]);
    });
    expect(result).to.equal('uploaded');
    expect(opened).to.equal(2);
    expect(retries).to.have.length(1);
    expect(client.metrics.requests['blob-upload']).to.equal(4); // POST, PUT (reset), POST, PUT
    expect(await drain(await client.fetchBlob(ref(), desc))).to.equal(desc.digest);
  });

  it('starts an upload from an open file over when its connection drops, closing the first file, and the registry ends up with the right blob', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-fault-'));
    try {
      // Several of the upload's 1 MiB buffers, so the reset meets a read-ahead in flight.
      const data = randomBytes(5 * 1024 * 1024 + 123);
      const path = join(dir, 'blob');
      await writeFile(path, data);
      const desc: Descriptor = { mediaType: 'application/octet-stream', digest: sha256(data), size: data.length };
      proxy.add({ method: 'PUT', path: /\/blobs\/uploads\//, times: 1, fault: { kind: 'reset' } });
      const files: FileHandle[] = [];
      const result = await client.pushBlob(ref(), desc, async () => {
        const file = await open(path, 'r');
        files.push(file);
        return { file };
      });
      expect(result).to.equal('uploaded');
      expect(files).to.have.length(2);
      expect(files.map((f) => f.fd)).to.deep.equal([-1, -1]);   // both closed by the client
      expect(retries).to.have.length(1);
      expect(await drain(await client.fetchBlob(ref(), desc))).to.equal(desc.digest);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives up after the policy\'s attempts on a registry that keeps answering 503, with a retryable error', async () => {
    proxy.add({ method: 'GET', path: /\/manifests\//, times: 100, fault: { kind: 'status', status: 503 } });
    const err = await caught(client.resolve(ref()));
    expect(err.code).to.equal('REGISTRY_REQUEST');
    expect(err.status).to.equal(503);
    expect(err.retryable).to.equal(true);
    expect(err.registryCodes).to.deep.equal(['UNAVAILABLE']);
    expect(proxy.log.filter((l) => l.path.includes('/manifests/'))).to.have.length(4);
  });
});
