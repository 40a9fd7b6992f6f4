import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import {
  anonymous,
  parseReference,
  RegistryClient,
  sha256,
  withDigest,
  type Descriptor,
} from '../../registry/index.js';
import { publishBusybox, type PublishedBusybox } from '../fixtures/busybox-image.js';
import { freePort, startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { caught, drain } from '../fixtures/registry-assertions.js';

describe('registry client against a real docker-registry (plain HTTP)', function () {
  let registry: RunningRegistry;
  let published: PublishedBusybox;
  let client: RegistryClient;

  before(async () => {
    registry = await startRegistry();
    published = await publishBusybox(registry.host);
  });
  after(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    client = new RegistryClient({ credentials: anonymous });
  });
  afterEach(async () => {
    await client.close();
  });

  it('pushes the busybox image so that skopeo sees the same manifest bytes and a valid image', async () => {
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/busybox:latest`], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(inspect['Digest']).to.equal(published.manifest);
    expect(inspect['Architecture']).to.equal('amd64');
    expect(inspect['Layers']).to.deep.equal([published.layer.digest]);
    const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/busybox:latest`]);
    expect(sha256(raw)).to.equal(published.manifest);
    const rawIndex = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/busybox:multi`]);
    expect(sha256(rawIndex)).to.equal(published.index);
    // skopeo copy verifies every blob's digest on the way to the OCI layout.
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-skopeo-'));
    try {
      execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${registry.host}/busybox:latest`, `oci:${dir}/layout:latest`], { stdio: 'pipe' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('pulls the image back: manifest, config and a layer holding busybox, its applet links, etc and a sticky tmp', async () => {
    const image = await client.resolveImage(parseReference(`${registry.host}/busybox:latest`), { os: 'linux', architecture: 'amd64' });
    expect(image.descriptor.digest).to.equal(published.manifest);
    expect(image.config.config?.Cmd).to.deep.equal(['sh']);
    expect(image.config.rootfs.diff_ids).to.deep.equal([published.diffId]);
    const layer = image.manifest.layers[0] as Descriptor;
    const entries = new Map<string, tar.Header>();
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      entries.set(header.name, header);
      stream.on('end', next);
      stream.resume();
    });
    const diff = createHash('sha256');
    await pipeline(await client.fetchBlob(parseReference(`${registry.host}/busybox`), layer), createGunzip(), async function* (source) {
      for await (const chunk of source) {
        diff.update(chunk as Buffer);
        yield chunk;
      }
    }, extract as unknown as NodeJS.WritableStream);
    expect(`sha256:${diff.digest('hex')}`).to.equal(published.diffId);
    expect(entries.get('bin/busybox')?.mode).to.equal(0o755);
    expect(entries.get('bin/sh')).to.include({ type: 'symlink', linkname: 'busybox' });
    expect(entries.get('etc/passwd')?.type).to.equal('file');
    expect(entries.get('tmp/')?.mode).to.equal(0o1777);
    expect(client.metrics.blobBytesDown).to.equal(layer.size + image.manifest.config.size);
  });

  it('selects the amd64 or arm64 manifest from the index and lists the available platforms when one is missing', async () => {
    const multi = parseReference(`${registry.host}/busybox:multi`);
    const amd64 = await client.resolve(multi, { os: 'linux', architecture: 'amd64' });
    const arm64 = await client.resolve(multi, { os: 'linux', architecture: 'arm64' });
    expect(amd64.digest).to.equal(published.platforms['linux/amd64']);
    expect(arm64.digest).to.equal(published.platforms['linux/arm64']);
    expect((await client.resolveImage(multi, { os: 'linux', architecture: 'arm64' })).config.architecture).to.equal('arm64');
    const err = await caught(client.resolve(multi, { os: 'linux', architecture: 's390x' }));
    expect(err.code).to.equal('PLATFORM_NOT_FOUND');
    expect(err.message).to.contain('linux/amd64').and.contain('linux/arm64');
  });

  it('resolves a tag with one request once the platform manifest and config are held locally, a digest with none', async () => {
    const held = new Map<string, Uint8Array>();
    const local = { get: async (d: string) => held.get(d), keep: async (bytes: Uint8Array, desc: Descriptor) => { held.set(desc.digest, bytes); } };
    const multi = parseReference(`${registry.host}/busybox:multi`);
    const amd64 = { os: 'linux', architecture: 'amd64' };
    const first = await client.resolveImage(multi, amd64, undefined, local);
    expect(held.has(first.manifest.config.digest) && held.has(first.descriptor.digest)).to.equal(true);
    const fresh = new RegistryClient({ credentials: anonymous });
    try {
      const again = await fresh.resolveImage(multi, amd64, undefined, local);
      expect(again.descriptor).to.deep.equal(first.descriptor);
      expect(again.config).to.deep.equal(first.config);
      expect(again.platform).to.deep.equal(first.platform);
      const { requests } = fresh.metrics;
      expect([requests.ping, requests['manifest-get'], requests['blob-get']]).to.deep.equal([0, 1, 0]);   // the tag: always asked
      await fresh.resolveImage(withDigest(multi, first.descriptor.digest), amd64, undefined, local);
      expect(fresh.metrics.requests['manifest-get']).to.equal(1);                                        // a digest: never
      // Bytes that do not match their digest are not used: the registry is asked instead.
      held.set(first.manifest.config.digest, new TextEncoder().encode('{"not":"it"}'));
      expect((await fresh.resolveImage(multi, amd64, undefined, local)).config).to.deep.equal(first.config);
      expect(fresh.metrics.requests['blob-get']).to.equal(1);
    } finally {
      await fresh.close();
    }
  });

  it('re-pushes an unchanged image with one HEAD per blob, no blob bytes and only the manifest PUTs', async () => {
    const again = await publishBusybox(registry.host, 'busybox', 'latest', client);
    expect(again.manifest).to.equal(published.manifest);
    const m = client.metrics;
    expect(m.blobBytesUp).to.equal(0);
    expect(m.requests['blob-head']).to.equal(4); // each platform's layer and config
    expect(m.blobsSkipped).to.equal(4);
    expect(m.requests['blob-upload']).to.equal(0);
    expect(m.requests['manifest-put']).to.equal(4); // two platform manifests, the tag, the index
  });

  it('mounts a blob from another repository of the same registry instead of uploading it', async () => {
    const target = parseReference(`${registry.host}/mounted/app:1`);
    const from = parseReference(`${registry.host}/busybox`);
    const result = await client.pushBlob(target, published.layer, async () => {
      throw new Error('a mount must not read the blob');
    }, from);
    expect(result).to.equal('mounted');
    expect(client.metrics.blobsMounted).to.equal(1);
    expect(client.metrics.requests['blob-mount']).to.equal(1);
    expect(client.metrics.blobBytesUp).to.equal(0);
    expect(await client.hasBlob(target, published.layer.digest)).to.equal(true);
  });

  it('uploads a 20 MB random blob in PATCH chunks, from a stream and from an open file, and reads back the same bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-blob-'));
    const chunked = new RegistryClient({ credentials: anonymous, chunkThreshold: 1024 * 1024, chunkSize: 5 * 1024 * 1024 });
    try {
      const file = join(dir, 'blob');
      const data = randomBytes(20 * 1024 * 1024);
      await writeFile(file, data);
      const desc: Descriptor = { mediaType: 'application/octet-stream', digest: sha256(data), size: data.length };
      const repo = parseReference(`${registry.host}/big`);
      expect(await chunked.pushBlob(repo, desc, async () => createReadStream(file, { highWaterMark: 256 * 1024 }))).to.equal('uploaded');
      const m = chunked.metrics;
      expect(m.blobBytesUp).to.equal(desc.size);
      expect(m.requests['blob-upload']).to.equal(1 + 4 + 1); // POST, four 5 MiB PATCHes, the closing PUT
      expect(await drain(await chunked.fetchBlob(repo, desc))).to.equal(desc.digest);
      // The same from an open file.
      const fromFile = parseReference(`${registry.host}/big-from-file`);
      expect(await chunked.pushBlob(fromFile, desc, async () => ({ file: await open(file, 'r') }))).to.equal('uploaded');
      expect(chunked.metrics.blobBytesUp).to.equal(2 * desc.size);
      expect(await drain(await chunked.fetchBlob(fromFile, desc))).to.equal(desc.digest);
    } finally {
      await chunked.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('uploads a 9.5 MB blob from an open file in one PUT through reused buffers, and the same file twice in one push', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-blob-'));
    try {
      const file = join(dir, 'blob');
      // More chunks than the upload's four 1 MiB buffers, and a partial last one: every buffer is filled again.
      const data = randomBytes(9.5 * 1024 * 1024);
      await writeFile(file, data);
      const desc: Descriptor = { mediaType: 'application/octet-stream', digest: sha256(data), size: data.length };
      const repo = parseReference(`${registry.host}/from-file`);
      const other = parseReference(`${registry.host}/from-file-too`);
      const [a, b] = await Promise.all([
        client.pushBlob(repo, desc, async () => ({ file: await open(file, 'r') })),
        client.pushBlob(other, desc, async () => ({ file: await open(file, 'r') })),
      ]);
      expect([a, b]).to.deep.equal(['uploaded', 'uploaded']);
      const m = client.metrics;
      expect(m.blobBytesUp).to.equal(2 * desc.size);
      expect(m.requests['blob-upload']).to.equal(2 * 2); // a POST and one PUT with the body each
      expect(await drain(await client.fetchBlob(repo, desc))).to.equal(desc.digest);
      expect(await drain(await client.fetchBlob(other, desc))).to.equal(desc.digest);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails the upload of a file shorter than its descriptor, and the registry never gets the blob', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-blob-'));
    const once = new RegistryClient({ credentials: anonymous, retry: { attempts: 1 } });
    try {
      const file = join(dir, 'blob');
      const data = randomBytes(3 * 1024 * 1024);
      await writeFile(file, data.subarray(0, 2 * 1024 * 1024));
      const desc: Descriptor = { mediaType: 'application/octet-stream', digest: sha256(data), size: data.length };
      const repo = parseReference(`${registry.host}/short-file`);
      const err = await caught(once.pushBlob(repo, desc, async () => ({ file: await open(file, 'r') })));
      expect(err.code).to.equal('DIGEST_MISMATCH');
      expect(await once.hasBlob(repo, desc.digest)).to.equal(false);
    } finally {
      await once.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails a blob whose bytes do not match its descriptor with DIGEST_MISMATCH before the stream ends', async () => {
    const repo = parseReference(`${registry.host}/busybox`);
    const lying: Descriptor = { ...published.layer, size: published.layer.size + 1 };
    const err = await caught(drain(await client.fetchBlob(repo, lying)));
    expect(err.code).to.equal('DIGEST_MISMATCH');
  });

  it('answers a resolve from a prefetched tag with that one request; a second resolve asks again; a failed prefetch fails its resolve', async () => {
    const multi = parseReference(`${registry.host}/busybox:multi`);
    const amd64 = { os: 'linux', architecture: 'amd64' };
    client.prefetchTag(multi);
    client.prefetchTag(multi);   // already in flight: no second request
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(client.metrics.requests['manifest-get']).to.equal(1);
    const image = await client.resolveImage(multi, amd64);
    expect(image.config.architecture).to.equal('amd64');
    expect(client.metrics.requests['manifest-get']).to.equal(2);   // the tag (prefetched), then the platform manifest
    await client.resolveImage(multi, amd64);
    expect(client.metrics.requests['manifest-get']).to.equal(4);   // taken once: a later resolve asks the tag again
    const missing = parseReference(`${registry.host}/busybox:nope`);
    client.prefetchTag(missing);
    client.prefetchTag(parseReference(`${registry.host}/nope:never-resolved`));   // fails unheard: nobody takes it
    expect((await caught(client.resolveImage(missing, amd64))).code).to.equal('IMAGE_NOT_FOUND');
  });

  it('reports an unknown repository or tag as IMAGE_NOT_FOUND with a hint', async () => {
    for (const text of [`${registry.host}/nope:latest`, `${registry.host}/busybox:nope`, `${registry.host}/busybox@sha256:${'0'.repeat(64)}`]) {
      const err = await caught(client.resolve(parseReference(text)));
      expect(err.code, text).to.equal('IMAGE_NOT_FOUND');
      expect(err.status).to.equal(404);
      expect(err.hint).to.be.a('string');
    }
  });

  it('reports a port where nothing listens as REGISTRY_UNREACHABLE naming the host, without retrying', async () => {
    const port = await freePort();
    const err = await caught(client.resolve(parseReference(`127.0.0.1:${port}/busybox:latest`)));
    expect(err.code).to.equal('REGISTRY_UNREACHABLE');
    expect(err.message).to.contain(`127.0.0.1:${port}`);
    expect(err.retryable).to.equal(false);
    expect(client.metrics.retries).to.equal(0);
  });

  it('lists the tags of a repository', async () => {
    expect((await client.listTags(parseReference(`${registry.host}/busybox`))).sort()).to.deep.equal(['latest', 'multi']);
  });

  it('puts a manifest by digest and reads it back by digest', async () => {
    const ref = withDigest(parseReference(`${registry.host}/busybox`), published.manifest);
    const fetched = await client.getManifest(ref);
    expect(fetched.descriptor.digest).to.equal(published.manifest);
    expect(fetched.document.kind).to.equal('manifest');
  });
});
