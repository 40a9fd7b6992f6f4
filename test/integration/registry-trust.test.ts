import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anonymous, parseReference, RegistryClient, staticCredentials } from '../../registry/index.js';
import { publishBusybox } from '../fixtures/busybox-image.js';
import { caught } from '../fixtures/registry-assertions.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { startTokenServer, type TokenServer } from '../fixtures/token-server.js';
import { isTsbuildError } from '../../common/index.js';

/** A small HTTP server on 127.0.0.1; `handler` gets each request. */
async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    server, port: address.port,
    close: async () => {
      server.close();
      server.closeAllConnections();
      await once(server, 'close');
    },
  };
}

function forward(req: Parameters<NonNullable<Parameters<typeof createServer>[1]>>[0], res: Parameters<NonNullable<Parameters<typeof createServer>[1]>>[1], upstream: string, headers: IncomingHttpHeaders, rewrite?: (h: IncomingHttpHeaders) => void): void {
  const [host, port] = upstream.split(':') as [string, string];
  const up = request({ host, port: Number(port), method: req.method, path: req.url, headers }, (r) => {
    const h = { ...r.headers };
    rewrite?.(h);
    res.writeHead(r.statusCode ?? 502, h);
    r.pipe(res);
  });
  up.on('error', () => res.socket?.destroy());
  req.pipe(up);
}

/**
 * `front` is the registry as the client knows it (127.0.0.1:A): it sends upload Locations and blob GETs to `side`,
 * another host (localhost:B) standing for a storage backend or CDN, which records what it receives and forwards with
 * the credentials front last saw (a real backend trusts its signed URL instead).
 */
async function crossHostRig(registry: RunningRegistry): Promise<{ host: string; frontAuth: (string | undefined)[]; sideSeen: { method: string; url: string; authorization: string | undefined }[]; close(): Promise<void> }> {
  const frontAuth: (string | undefined)[] = [];
  const sideSeen: { method: string; url: string; authorization: string | undefined }[] = [];
  let lastAuth: string | undefined;
  let frontPort = 0;
  const side = await listen((req, res) => {
    sideSeen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    forward(req, res, registry.host, { ...req.headers, host: `127.0.0.1:${frontPort}`, ...(lastAuth !== undefined ? { authorization: lastAuth } : {}) });
  });
  const sideOrigin = `http://localhost:${side.port}`;
  const front = await listen((req, res) => {
    frontAuth.push(req.headers.authorization);
    if (req.headers.authorization !== undefined) lastAuth = req.headers.authorization;
    if (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '') && req.headers.authorization !== undefined) {
      req.resume();
      res.writeHead(307, { location: `${sideOrigin}${req.url ?? ''}` }).end();
      return;
    }
    forward(req, res, registry.host, req.headers, (h) => {
      if (typeof h.location !== 'string' || !h.location.includes('/blobs/uploads/')) return;
      const u = new URL(h.location, 'http://x');
      h.location = `${sideOrigin}${u.pathname}${u.search}`;
    });
  });
  frontPort = front.port;
  return {
    host: `127.0.0.1:${front.port}`, frontAuth, sideSeen,
    close: async () => {
      await front.close();
      await side.close();
    },
  };
}

/** Pushes busybox through the rig and pulls it back; returns once the bytes have been checked. */
async function pushAndPull(client: RegistryClient, host: string): Promise<void> {
  const published = await publishBusybox(host, 'private/app', 'latest', client);
  const image = await client.resolveImage(parseReference(`${host}/private/app:latest`), { os: 'linux', architecture: 'amd64' });
  expect(image.manifest.layers[0]?.digest).to.equal(published.layer.digest);
  const chunks: Buffer[] = [];
  for await (const c of await client.fetchBlob(parseReference(`${host}/private/app`), published.layer)) chunks.push(c as Buffer);
  expect(Buffer.concat(chunks).length).to.equal(published.layer.size);
}

function expectNoCredentialsCrossHost(rig: Awaited<ReturnType<typeof crossHostRig>>, scheme: string): void {
  // The registry's own host got the credentials; the other host got uploads and blob reads, and no credentials.
  expect(rig.frontAuth.filter((a) => a?.startsWith(scheme) === true).length).to.be.greaterThan(0);
  expect(rig.sideSeen.some((s) => s.method === 'PUT' && s.url.includes('/blobs/uploads/')), JSON.stringify(rig.sideSeen)).to.equal(true);
  expect(rig.sideSeen.some((s) => s.method === 'GET' && s.url.includes('/blobs/sha256:')), JSON.stringify(rig.sideSeen)).to.equal(true);
  expect(rig.sideSeen.filter((s) => s.authorization !== undefined)).to.deep.equal([]);
}

describe('registry credentials stay with the registry', function () {
  this.timeout(60_000);
  const user = { user: 'alice', password: 'correct horse' };
  let dir = '';
  let basicRegistry: RunningRegistry;
  let tokenRegistry: RunningRegistry;
  let tokens: TokenServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-crosshost-'));
    basicRegistry = await startRegistry({ htpasswd: user });
    const keyFile = join(dir, 'token.key');
    const certFile = join(dir, 'token.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', keyFile, '-out', certFile, '-subj', '/CN=issuer'], { stdio: 'ignore' });
    tokens = await startTokenServer(keyFile, certFile, 'svc', 'issuer', { alice: 'pw' });
    tokenRegistry = await startRegistry({ tokenAuth: { realm: tokens.realm, service: 'svc', issuer: 'issuer', certFile } });
  });
  after(async () => {
    await basicRegistry?.stop();
    await tokenRegistry?.stop();
    await tokens?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends no Authorization to an upload Location or a blob redirect on another host (basic auth)', async () => {
    const rig = await crossHostRig(basicRegistry);
    const client = new RegistryClient({ insecure: [rig.host], credentials: staticCredentials({ username: user.user, password: user.password }) });
    try {
      await pushAndPull(client, rig.host);
    } finally {
      await client.close();
      await rig.close();
    }
    expectNoCredentialsCrossHost(rig, 'Basic ');
  });

  it('sends no bearer token to an upload Location or a blob redirect on another host (token auth)', async () => {
    const rig = await crossHostRig(tokenRegistry);
    const client = new RegistryClient({ insecure: [rig.host], credentials: staticCredentials({ username: 'alice', password: 'pw' }) });
    try {
      await pushAndPull(client, rig.host);
    } finally {
      await client.close();
      await rig.close();
    }
    expectNoCredentialsCrossHost(rig, 'Bearer ');
  });
});

describe('a token realm over plain HTTP for an HTTPS registry', function () {
  this.timeout(60_000);
  let registry: RunningRegistry;
  let realm: Awaited<ReturnType<typeof listen>>;
  const realmRequests: string[] = [];
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-realm-'));
    const certFile = join(dir, 'token.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', join(dir, 'token.key'), '-out', certFile, '-subj', '/CN=issuer'], { stdio: 'ignore' });
    realm = await listen((req, res) => {
      realmRequests.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers.authorization ?? 'no-auth'}`);
      res.writeHead(500).end();
    });
    registry = await startRegistry({ tls: true, tokenAuth: { realm: `http://127.0.0.1:${realm.port}/token`, service: 'svc', issuer: 'issuer', certFile } });
  });
  after(async () => {
    await registry?.stop();
    await realm?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is refused with REGISTRY_AUTH naming the realm and the registry, and the password never goes there', async () => {
    const client = new RegistryClient({ secure: [registry.host], caFile: registry.caFile ?? '', credentials: staticCredentials({ username: 'alice', password: 'pw' }), retry: { attempts: 1 } });
    try {
      const err = await caught(client.resolve(parseReference(`${registry.host}/busybox:latest`)));
      expect(err.code).to.equal('REGISTRY_AUTH');
      expect(err.message).to.contain(`http://127.0.0.1:${realm.port}/token`).and.contain(registry.host);
    } finally {
      await client.close();
    }
    expect(realmRequests).to.deep.equal([]);
  });
});

describe('mutual TLS with a client certificate from certs.d', function () {
  this.timeout(60_000);
  let registry: RunningRegistry;
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-mtls-'));
    registry = await startRegistry({ tls: true, mtls: true });
  });
  after(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function certsDir(name: string, files: Record<string, string>): Promise<string> {
    const d = join(dir, name);
    await mkdir(join(d, registry.host), { recursive: true });
    for (const [to, from] of Object.entries(files)) await copyFile(from, join(d, registry.host, to));
    return d;
  }

  it('pushes and pulls with NAME.cert + NAME.key from the host directory, as docker does', async () => {
    const d = await certsDir('good', { 'ca.crt': registry.caFile ?? '', 'client.cert': registry.clientCert?.certFile ?? '', 'client.key': registry.clientCert?.keyFile ?? '' });
    const client = new RegistryClient({ certsDir: d, credentials: anonymous });
    try {
      const published = await publishBusybox(registry.host, 'busybox', 'latest', client);
      expect((await client.resolve(parseReference(`${registry.host}/busybox:latest`))).digest).to.equal(published.manifest);
    } finally {
      await client.close();
    }
  });

  it('fails the TLS handshake without a client certificate, naming the registry', async () => {
    const d = await certsDir('no-cert', { 'ca.crt': registry.caFile ?? '' });
    const client = new RegistryClient({ certsDir: d, credentials: anonymous, retry: { attempts: 1 } });
    try {
      const err = await caught(client.resolve(parseReference(`${registry.host}/busybox:latest`)));
      expect(err.code).to.equal('REGISTRY_UNREACHABLE');
      expect(err.message).to.contain(registry.host);
    } finally {
      await client.close();
    }
  });

  it('refuses a .cert without its .key with INVALID_ARGUMENT naming the file', async () => {
    const d = await certsDir('half', { 'ca.crt': registry.caFile ?? '', 'client.cert': registry.clientCert?.certFile ?? '' });
    const client = new RegistryClient({ certsDir: d, credentials: anonymous, retry: { attempts: 1 } });
    try {
      const err: unknown = await client.resolve(parseReference(`${registry.host}/busybox:latest`)).then(() => undefined, (e: unknown) => e);
      expect(isTsbuildError(err) && err.code).to.equal('INVALID_ARGUMENT');
      if (!(err instanceof Error)) throw new Error('expected an error');
      expect(err.message).to.contain('client.cert').and.contain('client.key');
    } finally {
      await client.close();
    }
  });
});
