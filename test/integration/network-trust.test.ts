import { expect } from 'chai';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anonymous, RegistryClient } from '../../registry/index.js';
import { publishBusybox } from '../fixtures/busybox-image.js';
import { startForwardProxy, type ForwardProxy } from '../fixtures/forward-proxy.js';
import { addHostsEntry } from '../fixtures/hosts-entry.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// Network trust as docker has it, through the real CLI: a TLS registry under a real-looking name (mapped to
// 127.0.0.1 in /etc/hosts, since tsbuild speaks plain HTTP to loopback names), trusted through a system-like CA
// bundle (SSL_CERT_FILE, so the real /etc/ssl is never edited), reached through a CONNECT proxy unless NO_PROXY
// names it, or with --insecure-registry; and ADD <url> through the same proxy.

const NAME = 'tsbuild-trust.test';
const FILES = 'tsbuild-files.test';
const PLAIN = 'tsbuild-plain.test';

describe('network trust through the CLI: system CAs, proxies, insecure registries', function () {
  this.timeout(180_000);
  let registry: RunningRegistry;
  let proxy: ForwardProxy;
  let files: Server;
  let filesPort = 0;
  let dir = '';
  let ctx = '';
  let bundle = '';
  let emptyCertDir = '';
  let image = '';
  const hosts: { remove(): Promise<void> }[] = [];
  // Nothing from the test runner's own environment decides where requests go or which CAs count. Proxy variables
  // are removed rather than emptied: an empty lower-case one would hide the upper-case one a test sets.
  const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
  const saved = new Map<string, string | undefined>();
  const clean: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: '', TSBUILD_CONFIG: '' };

  before(async () => {
    for (const v of PROXY_VARS) {
      saved.set(v, process.env[v]);
      delete process.env[v];
    }
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-trust-'));
    hosts.push(await addHostsEntry(NAME), await addHostsEntry(FILES), await addHostsEntry(PLAIN));
    registry = await startRegistry({ tls: true, dnsNames: [NAME] });
    const client = new RegistryClient({ secure: [registry.host], caFile: registry.caFile ?? '', credentials: anonymous });
    try {
      await publishBusybox(registry.host, 'busybox', 'latest', client);
    } finally {
      await client.close();
    }
    image = `${NAME}:${registry.host.split(':')[1] ?? ''}/busybox:latest`;
    // A system-like bundle: the machine's roots plus the test's CA, as update-ca-certificates would write it.
    bundle = join(dir, 'ca-certificates.crt');
    await writeFile(bundle, `${await readFile('/etc/ssl/certs/ca-certificates.crt', 'utf8')}\n${await readFile(registry.caFile ?? '', 'utf8')}`);
    emptyCertDir = join(dir, 'no-certs');
    await mkdir(emptyCertDir);
    proxy = await startForwardProxy();
    files = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('downloaded through the proxy\n'));
    files.listen(0, '127.0.0.1');
    await once(files, 'listening');
    const address = files.address();
    filesPort = typeof address === 'object' && address !== null ? address.port : 0;
    ctx = join(dir, 'ctx');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${image}\nLABEL trust=1\n`);
  });
  after(async () => {
    for (const [v, value] of saved) if (value !== undefined) process.env[v] = value;
    for (const h of hosts) await h.remove();
    await proxy?.close();
    if (files) {
      files.close();
      files.closeAllConnections();
    }
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // A fresh root per build, so the base image is pulled (not found in the cache) every time.
  let builds = 0;
  const build = (env: NodeJS.ProcessEnv, extra: string[] = [], context = ctx) =>
    tsbuild(['build', '--root', join(dir, `root-${builds++}`), '--progress', 'plain', ...extra, context], { env: { ...clean, SSL_CERT_DIR: emptyCertDir, ...env } });

  it('refuses a registry whose CA is in no trust store, with a TLS error naming it', async () => {
    const r = await build({});
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.contain(`TLS to registry ${NAME}`);
  });

  it('trusts a CA added to the system bundle (SSL_CERT_FILE points at it, as OpenSSL and Go read it)', async () => {
    const r = await build({ SSL_CERT_FILE: bundle });
    expect(r.code, r.stderr).to.equal(0);
  });

  it('trusts a CA given in NODE_EXTRA_CA_CERTS', async () => {
    const r = await build({ NODE_EXTRA_CA_CERTS: registry.caFile ?? '' });
    expect(r.code, r.stderr).to.equal(0);
  });

  it('goes through HTTPS_PROXY with a CONNECT tunnel to the registry', async () => {
    const before = proxy.requests.length;
    const r = await build({ SSL_CERT_FILE: bundle, HTTPS_PROXY: proxy.url });
    expect(r.code, r.stderr).to.equal(0);
    const seen = proxy.requests.slice(before);
    expect(seen.map((q) => `${q.method} ${q.target}`)).to.include(`CONNECT ${NAME}:${registry.host.split(':')[1] ?? ''}`);
  });

  it('goes around the proxy for a host NO_PROXY lists (lower-case variables work too)', async () => {
    const before = proxy.requests.length;
    const r = await build({ SSL_CERT_FILE: bundle, https_proxy: proxy.url, no_proxy: `localhost,127.0.0.1,${NAME}` });
    expect(r.code, r.stderr).to.equal(0);
    expect(proxy.requests.slice(before)).to.deep.equal([]);
  });

  it('never sends loopback through the proxy, as Go (docker, skopeo) does, even when NO_PROXY does not list it', async () => {
    const loopCtx = join(dir, 'loop-ctx');
    await mkdir(loopCtx, { recursive: true });
    await writeFile(join(loopCtx, 'Dockerfile'), `FROM ${image}\nADD http://127.0.0.1:${filesPort}/hello.txt /hello.txt\n`);
    const before = proxy.requests.length;
    const r = await build({ SSL_CERT_FILE: bundle, HTTP_PROXY: proxy.url, NO_PROXY: NAME }, [], loopCtx);
    expect(r.code, r.stderr).to.equal(0);
    expect(proxy.requests.slice(before)).to.deep.equal([]);
  });

  it('reaches an untrusted TLS registry with --insecure-registry (unverified TLS, as buildx registry.insecure)', async () => {
    const r = await build({}, ['--insecure-registry', `${NAME}:${registry.host.split(':')[1] ?? ''}`]);
    expect(r.code, r.stderr).to.equal(0);
  });

  it('speaks plain HTTP to an --insecure-registry that has no TLS at all, and HTTPS to it otherwise', async () => {
    const plain = await startRegistry();
    try {
      await publishBusybox(plain.host, 'busybox');
      const port = plain.host.split(':')[1] ?? '';
      const plainCtx = join(dir, 'plain-ctx');
      await mkdir(plainCtx, { recursive: true });
      await writeFile(join(plainCtx, 'Dockerfile'), `FROM ${PLAIN}:${port}/busybox:latest\n`);
      const refused = await build({}, [], plainCtx);
      expect(refused.code, refused.stderr).to.equal(1);
      const r = await build({}, ['--insecure-registry', `${PLAIN}:${port}`], plainCtx);
      expect(r.code, r.stderr).to.equal(0);
    } finally {
      await plain.stop();
    }
  });

  it('downloads ADD <url> through HTTP_PROXY, and around it when NO_PROXY names the host', async () => {
    const addCtx = join(dir, 'add-ctx');
    await mkdir(addCtx, { recursive: true });
    await writeFile(join(addCtx, 'Dockerfile'), `FROM ${image}\nADD http://${FILES}:${filesPort}/hello.txt /hello.txt\n`);
    const before = proxy.requests.length;
    const r = await build({ SSL_CERT_FILE: bundle, HTTP_PROXY: proxy.url, NO_PROXY: NAME }, [], addCtx);
    expect(r.code, r.stderr).to.equal(0);
    const seen = proxy.requests.slice(before).map((q) => `${q.method} ${q.target}`);
    expect(seen.some((s) => s.includes(`${FILES}:${filesPort}`)), seen.join('\n')).to.equal(true);
    expect(seen.some((s) => s.includes(NAME)), seen.join('\n')).to.equal(false);
    const direct = proxy.requests.length;
    const r2 = await build({ SSL_CERT_FILE: bundle, HTTP_PROXY: proxy.url, NO_PROXY: `${NAME},${FILES}` }, ['--no-cache'], addCtx);
    expect(r2.code, r2.stderr).to.equal(0);
    expect(proxy.requests.slice(direct)).to.deep.equal([]);
  });
});
