import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { anonymous, dockerConfigCredentials, parseReference, RegistryClient, sha256, staticCredentials, type Descriptor } from '../../registry/index.js';
import { caught } from '../fixtures/registry-assertions.js';
import { makeCertificate } from '../fixtures/registry-server.js';

// Registries that hand out what containerd and go-containerregistry guard against: credentials must never leave the
// registry's own origin (a plain-HTTP upload Location on the same host, a blob CDN's own 401 challenge), and an answer
// must never be read for ever. Each case failed before: the password went out in the clear or to the CDN's realm, and
// an endless error body hung the client at 100 % CPU.

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const BASIC = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
const blob = Buffer.from('a blob\n');
const desc: Descriptor = { mediaType: 'application/octet-stream', digest: sha256(blob), size: blob.length };

async function listen(server: HttpServer | NetServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}
const close = (server: HttpServer | NetServer): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('registry client against hostile registries', function () {
  this.timeout(60_000);
  const servers: (HttpServer | NetServer)[] = [];
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-hostile-reg-')); });
  after(async () => {
    for (const s of servers) await close(s);
    await rm(dir, { recursive: true, force: true });
  });
  const serve = async (handler: Handler): Promise<number> => {
    const server = createHttpServer(handler);
    servers.push(server);
    return listen(server);
  };

  it('sends no credentials to an upload Location that switches the registry\'s own host from HTTPS to plain HTTP', async () => {
    const ca = await makeCertificate(dir, []);
    const plainAuth: (string | undefined)[] = [];
    let port = 0;
    const registry: Handler = (req, res) => {
      if (req.headers.authorization !== BASIC) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
      } else if (req.method === 'HEAD') {
        res.writeHead(404).end();
      } else if (req.method === 'POST') {
        // What a registry behind a TLS-terminating proxy answers: its own host, the proxy's scheme.
        res.writeHead(202, { location: `http://127.0.0.1:${port}/v2/app/blobs/uploads/u1`, 'content-length': '0' }).end();
      } else {
        res.writeHead(400).end();
      }
    };
    const tls = createHttpsServer({ key: await readFile(join(dir, 'tls.key')), cert: await readFile(join(dir, 'tls.crt')) }, registry);
    const plain = createHttpServer((req, res) => {
      plainAuth.push(req.headers.authorization);
      req.resume();
      req.on('end', () => res.writeHead(201, { 'docker-content-digest': desc.digest }).end());
    });
    // One port speaking both, as the proxy's host does: TLS when the first byte is a handshake.
    const mux = createNetServer((socket: Socket) => {
      socket.once('readable', () => {
        const first = socket.read(1) as Buffer | null;
        if (first === null) return;
        socket.unshift(first);
        (first[0] === 0x16 ? tls : plain).emit('connection', socket);
      });
    });
    servers.push(mux);
    port = await listen(mux);
    const host = `127.0.0.1:${port}`;
    const client = new RegistryClient({ secure: [host], caFile: ca, credentials: staticCredentials({ username: 'alice', password: 's3cret' }), retry: { attempts: 1 } });
    try {
      await client.pushBlob(parseReference(`${host}/app`), desc, async () => Readable.from([blob])).catch(() => undefined);
    } finally {
      await client.close();
    }
    expect(plainAuth.length, 'the upload reached the plain-HTTP Location').to.be.greaterThan(0);
    expect(plainAuth.filter((a) => a !== undefined), 'credentials sent in the clear').to.deep.equal([]);
  });

  it('never lets a blob CDN\'s own 401 challenge reach the registry\'s credentials', async () => {
    const cdnAuth: (string | undefined)[] = [];
    let cdnPort = 0;
    // The CDN's challenge names a realm on itself: a token request there would carry the registry's password.
    cdnPort = await serve((req, res) => {
      cdnAuth.push(req.headers.authorization);
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${cdnPort}/steal",service="cdn"` }).end();
    });
    const port = await serve((req, res) => {
      if (req.headers.authorization !== BASIC) { res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end(); return; }
      res.writeHead(307, { location: `http://127.0.0.1:${cdnPort}/cdn/blob?sig=xyz` }).end();
    });
    const host = `127.0.0.1:${port}`;
    const client = new RegistryClient({ credentials: staticCredentials({ username: 'alice', password: 's3cret' }), retry: { attempts: 1 } });
    try {
      const err = await caught(client.readBlob(parseReference(`${host}/app`), desc));
      expect(err.code).to.equal('REGISTRY_AUTH');
      expect(err.message).to.contain('the storage the registry redirected to refused the request (401)');
    } finally {
      await client.close();
    }
    expect(cdnAuth, 'the CDN saw no Authorization, and no request for its realm with the password').to.deep.equal([undefined]);
  });

  it('uploads when the mount is refused (401), and takes 200 for a started upload and 204 for a finished one, as containerd', async () => {
    const seen: string[] = [];
    let port = 0;
    port = await serve((req, res) => {
      seen.push(`${req.method} ${(req.url ?? '').replace(/\?.*/, (q) => (q.includes('mount=') ? '?mount' : ''))}`);
      req.resume();
      if (req.headers.authorization !== BASIC) { res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end(); return; }
      if (req.method === 'HEAD') { res.writeHead(404).end(); return; }
      if (req.method === 'POST' && (req.url ?? '').includes('mount=')) { res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end(); return; }
      if (req.method === 'POST') { res.writeHead(200, { location: `/v2/app/blobs/uploads/u2`, 'content-length': '0' }).end(); return; }
      req.on('end', () => res.writeHead(204).end());
    });
    const host = `127.0.0.1:${port}`;
    const client = new RegistryClient({ credentials: staticCredentials({ username: 'alice', password: 's3cret' }), retry: { attempts: 1 } });
    try {
      const outcome = await client.pushBlob(parseReference(`${host}/app`), desc, async () => Readable.from([blob]), parseReference(`${host}/base`));
      expect(outcome).to.equal('uploaded');
    } finally {
      await client.close();
    }
    expect(seen.filter((s) => !s.startsWith('HEAD'))).to.include.members(['POST /v2/app/blobs/uploads/?mount', 'POST /v2/app/blobs/uploads/', 'PUT /v2/app/blobs/uploads/u2']);
  });

  it('reads a credential helper\'s answer from its stdout alone, and never quotes an answer that is not JSON', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'docker-credential-noisy'), '#!/bin/sh\necho "notice: cache refreshed" >&2\necho \'{"Username":"alice","Secret":"s3cret"}\'\n', { mode: 0o755 });
    await writeFile(join(bin, 'docker-credential-garbage'), '#!/bin/sh\necho "s3cret-token-not-json"\n', { mode: 0o755 });
    let port = 0;
    port = await serve((req, res) => {
      if (req.headers.authorization !== BASIC) { res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end(); return; }
      res.writeHead(404).end();
    });
    const host = `127.0.0.1:${port}`;
    const path = process.env['PATH'];
    process.env['PATH'] = `${bin}:${path ?? ''}`;
    try {
      for (const helper of ['noisy', 'garbage']) {
        const config = join(dir, helper, 'config.json');
        await mkdir(join(dir, helper), { recursive: true });
        await writeFile(config, JSON.stringify({ credHelpers: { [host]: helper } }));
        const client = new RegistryClient({ credentials: dockerConfigCredentials(config), retry: { attempts: 1 } });
        try {
          const answer = await client.hasBlob(parseReference(`${host}/app`), desc.digest).then((v) => v, (e: unknown) => e);
          if (helper === 'noisy') expect(answer, 'the helper\'s credentials were used').to.equal(false);
          else {
            expect(answer).to.have.property('code', 'REGISTRY_AUTH');
            expect(String((answer as Error).message)).to.contain('not JSON').and.not.contain('s3cret');
          }
        } finally {
          await client.close();
        }
      }
    } finally {
      process.env['PATH'] = path;
    }
  });

  it('asks for a token with GET when the token server has no OAuth2 POST for an identity token, as containerd', async () => {
    const asked: string[] = [];
    const tokenPort = await serve((req, res) => {
      asked.push(`${req.method} ${req.headers.authorization ?? '-'}`);
      if (req.method === 'POST') { res.writeHead(404).end(); return; }
      const ok = req.headers.authorization === `Basic ${Buffer.from(':refresh-abc').toString('base64')}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? '{"token":"","access_token":"t0k"}' : '{}');
    });
    const port = await serve((req, res) => {
      if (req.headers.authorization !== 'Bearer t0k') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${tokenPort}/token",service="reg"` }).end();
        return;
      }
      res.writeHead(404).end();
    });
    const client = new RegistryClient({ credentials: async () => ({ credentials: { identityToken: 'refresh-abc' }, source: 'test' }), retry: { attempts: 1 } });
    try {
      expect(await client.hasBlob(parseReference(`127.0.0.1:${port}/app`), desc.digest)).to.equal(false);
    } finally {
      await client.close();
    }
    expect(asked).to.deep.equal(['POST -', `GET Basic ${Buffer.from(':refresh-abc').toString('base64')}`]);
  });

  it('resolves an index whose entries carry no platform by their configs, and an index inside an index, as containerd', async () => {
    const docs = new Map<string, { type: string; bytes: Buffer }>();
    const put = (type: string, value: unknown): Descriptor => {
      const bytes = Buffer.from(JSON.stringify(value));
      const d: Descriptor = { mediaType: type, digest: sha256(bytes), size: bytes.length };
      docs.set(d.digest, { type, bytes });
      return d;
    };
    const image = (architecture: string): Descriptor => {
      const config = put('application/vnd.oci.image.config.v1+json', { architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} });
      return put('application/vnd.oci.image.manifest.v1+json', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [] });
    };
    const arm = image('arm64');
    const amd = image('amd64');
    const index = (manifests: Descriptor[]): Descriptor => put('application/vnd.oci.image.index.v1+json', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });
    const tags = new Map<string, Descriptor>([
      ['noplat', index([arm, amd])],
      ['nested', index([index([{ ...arm, platform: { os: 'linux', architecture: 'arm64' } }, { ...amd, platform: { os: 'linux', architecture: 'amd64' } }])])],
    ]);
    const port = await serve((req, res) => {
      const name = /^\/v2\/app\/(?:manifests|blobs)\/(.+)$/.exec(req.url ?? '')?.[1] ?? '';
      const digest = tags.get(name)?.digest ?? name;
      const doc = docs.get(digest);
      if (doc === undefined) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': doc.type, 'docker-content-digest': digest, 'content-length': String(doc.bytes.length) }).end(req.method === 'HEAD' ? undefined : doc.bytes);
    });
    const client = new RegistryClient({ credentials: anonymous, retry: { attempts: 1 } });
    try {
      for (const tag of ['noplat', 'nested']) {
        const resolved = await client.resolveImage(parseReference(`127.0.0.1:${port}/app:${tag}`), { os: 'linux', architecture: 'amd64' });
        expect(resolved.descriptor.digest, tag).to.equal(amd.digest);
        expect(resolved.platform, tag).to.deep.include({ os: 'linux', architecture: 'amd64' });
      }
    } finally {
      await client.close();
    }
  });

  it('says a schema 1 manifest is one, at once, instead of calling it altered and asking again', async () => {
    let requests = 0;
    const port = await serve((_req, res) => {
      requests++;
      const body = JSON.stringify({ schemaVersion: 1, name: 'app', tag: 'old', fsLayers: [], signatures: [{}] });
      res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'docker-content-digest': sha256(Buffer.from('the payload without signatures')) }).end(body);
    });
    const client = new RegistryClient({ credentials: anonymous });
    try {
      const err = await caught(client.getManifest(parseReference(`127.0.0.1:${port}/app:old`)));
      expect(err.message).to.contain('is a Docker schema 1 manifest');
    } finally {
      await client.close();
    }
    expect(requests).to.equal(1);
  });

  it('reads only the first 64 KiB of an error body that never ends', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const port = await serve((req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.write('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"');
      const more = (): void => { while (res.write(chunk)); };
      res.on('drain', more);
      req.on('close', () => res.destroy());
      more();
    });
    const client = new RegistryClient({ credentials: staticCredentials({ username: 'alice', password: 's3cret' }), retry: { attempts: 1 } });
    try {
      const started = Date.now();
      const err = await caught(client.getManifest(parseReference(`127.0.0.1:${port}/img:endless`)));
      expect(err.code).to.equal('IMAGE_NOT_FOUND');
      expect(Date.now() - started, 'answered without reading the endless body').to.be.below(20_000);
    } finally {
      await client.close();
    }
  });

  it('names a registry that redirects a manifest to itself, as a registry error and not an internal one', async () => {
    const port = await serve((req, res) => {
      if (req.url === '/v2/') { res.writeHead(200).end('{}'); return; }
      res.writeHead(302, { location: `http://127.0.0.1:${(req.socket.localPort ?? 0)}${req.url ?? '/'}` }).end();
    });
    const client = new RegistryClient({ credentials: anonymous, retry: { attempts: 1 } });
    try {
      const err = await caught(client.getManifest(parseReference(`127.0.0.1:${port}/app:loop`)));
      expect(err.code).to.equal('REGISTRY_REQUEST');
      expect(err.message).to.match(/redirected \/v2\/app\/manifests\/loop in a loop/);
    } finally {
      await client.close();
    }
  });
});
