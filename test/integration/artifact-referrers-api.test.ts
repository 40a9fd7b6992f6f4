import { expect } from 'chai';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  anonymous,
  attachArtifact,
  discoverReferrers,
  MediaType,
  parseReference,
  referrersTag,
  RegistryClient,
  type Descriptor,
} from '../../registry/index.js';
import { publishBusybox, type PublishedBusybox } from '../fixtures/busybox-image.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';

/**
 * distribution 2.8 has no referrers API and nothing installed here does, so this proxy adds one in front of the real
 * registry, the way distribution 3 and zot do it: manifests PUT with a `subject` are recorded (and answered with
 * OCI-Subject), and GET /v2/<name>/referrers/<digest> lists them. Everything else goes to the real registry.
 */
interface ReferrersProxy { host: string; applyFilter: boolean; referrerGets: number; lastQuery: string; close(): Promise<void> }

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function startReferrersProxy(upstream: string): Promise<ReferrersProxy> {
  const [upHost, upPort] = upstream.split(':') as [string, string];
  const referrers = new Map<string, Descriptor[]>();
  const state = { applyFilter: true, referrerGets: 0, lastQuery: '' };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://proxy');
      const listing = /^\/v2\/(.+)\/referrers\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
      if (req.method === 'GET' && listing) {
        state.referrerGets++;
        state.lastQuery = url.search;
        let manifests = referrers.get(`${listing[1]}@${listing[2]}`) ?? [];
        const type = url.searchParams.get('artifactType');
        const headers: Record<string, string> = { 'content-type': MediaType.ociIndex };
        if (type !== null && state.applyFilter) {
          manifests = manifests.filter((m) => m.artifactType === type);
          headers['oci-filters-applied'] = 'artifactType';
        }
        res.writeHead(200, headers).end(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }));
        return;
      }
      const manifestPut = req.method === 'PUT' ? /^\/v2\/(.+)\/manifests\/[^/]+$/.exec(url.pathname) : null;
      const sent = manifestPut || req.method === 'PUT' || req.method === 'PATCH' || req.method === 'POST' ? await body(req) : undefined;
      const up = request({ host: upHost, port: Number(upPort), method: req.method, path: req.url, headers: req.headers }, (upRes) => {
        const headers = { ...upRes.headers };
        if (manifestPut && sent !== undefined && upRes.statusCode === 201) {
          const doc = JSON.parse(sent.toString('utf8')) as { mediaType?: string; artifactType?: string; config?: { mediaType?: string }; subject?: Descriptor; annotations?: Record<string, string> };
          if (doc.subject !== undefined) {
            const key = `${manifestPut[1]}@${doc.subject.digest}`;
            const entry: Descriptor = { mediaType: doc.mediaType ?? MediaType.ociManifest, digest: String(upRes.headers['docker-content-digest']) as Descriptor['digest'], size: sent.length, ...(doc.artifactType ?? doc.config?.mediaType ? { artifactType: doc.artifactType ?? doc.config?.mediaType ?? '' } : {}), ...(doc.annotations ? { annotations: doc.annotations } : {}) };
            referrers.set(key, [...(referrers.get(key) ?? []), entry]);
            headers['oci-subject'] = doc.subject.digest;
          }
        }
        res.writeHead(upRes.statusCode ?? 502, headers);
        upRes.pipe(res);
      });
      up.on('error', () => res.destroy());
      if (sent !== undefined) up.end(sent);
      else req.pipe(up);
    })().catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    host: `127.0.0.1:${address.port}`,
    get applyFilter() { return state.applyFilter; },
    set applyFilter(v: boolean) { state.applyFilter = v; },
    get referrerGets() { return state.referrerGets; },
    get lastQuery() { return state.lastQuery; },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('artifact attach and discover on a registry with the referrers API', function () {
  let registry: RunningRegistry;
  let proxy: ReferrersProxy;
  let client: RegistryClient;
  let work = '';
  let busybox: PublishedBusybox;
  let sbom: Descriptor;
  let sig: Descriptor;

  before(async () => {
    registry = await startRegistry();
    proxy = await startReferrersProxy(registry.host);
    client = new RegistryClient({ credentials: anonymous });
    work = await mkdtemp(join(tmpdir(), 'tsbuild-referrers-api-'));
    busybox = await publishBusybox(proxy.host, 'busybox', 'latest', client);
    await writeFile(join(work, 'sbom.json'), '{"sbom":true}\n');
    await writeFile(join(work, 'sig.txt'), 'signature\n');
  });
  after(async () => {
    await client?.close();
    await proxy?.close();
    await registry?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('attaches through the API and leaves no sha256-<hex> tag behind', async () => {
    const image = parseReference(`${proxy.host}/busybox:latest`);
    const a = await attachArtifact(client, image, [{ path: join(work, 'sbom.json') }], { artifactType: 'application/spdx+json' });
    const b = await attachArtifact(client, image, [{ path: join(work, 'sig.txt') }], { artifactType: 'application/vnd.test.signature.v1' });
    expect([a.via, b.via]).to.deep.equal(['referrers-api', 'referrers-api']);
    expect(a.subject.digest).to.equal(busybox.manifest);
    sbom = a.artifact;
    sig = b.artifact;
    const tags = await client.listTags(parseReference(`${registry.host}/busybox`));
    expect(tags).to.not.include(referrersTag(busybox.manifest));
  });

  it('discovers both referrers through the API', async () => {
    const found = await discoverReferrers(client, parseReference(`${proxy.host}/busybox:latest`));
    expect(found.via).to.equal('referrers-api');
    expect(found.referrers.map((r) => r.digest)).to.deep.equal([sbom.digest, sig.digest]);
  });

  it('asks the registry to filter by artifactType and returns what it filtered (OCI-Filters-Applied)', async () => {
    proxy.applyFilter = true;
    const found = await discoverReferrers(client, parseReference(`${proxy.host}/busybox:latest`), { artifactType: 'application/spdx+json' });
    expect(proxy.lastQuery).to.equal(`?artifactType=${encodeURIComponent('application/spdx+json')}`);
    expect(found.referrers.map((r) => r.digest)).to.deep.equal([sbom.digest]);
  });

  it('filters by artifactType itself when the registry ignored the filter', async () => {
    proxy.applyFilter = false;
    const before = proxy.referrerGets;
    const found = await discoverReferrers(client, parseReference(`${proxy.host}/busybox:latest`), { artifactType: 'application/vnd.test.signature.v1' });
    expect(proxy.referrerGets).to.equal(before + 1);
    expect(found.referrers.map((r) => r.digest)).to.deep.equal([sig.digest]);
  });
});
