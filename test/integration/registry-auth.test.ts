import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { randomUUID, sign } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  anonymous,
  dockerConfigCredentials,
  login,
  parseReference,
  RegistryClient,
  staticCredentials,
} from '../../registry/index.js';
import { publishBusybox } from '../fixtures/busybox-image.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { caught } from '../fixtures/registry-assertions.js';

describe('registry client with TLS and htpasswd basic auth', function () {
  let registry: RunningRegistry;
  let home = '';
  const user = { user: 'alice', password: 'correct horse' };

  before(async () => {
    registry = await startRegistry({ tls: true, htpasswd: user });
    home = await mkdtemp(join(tmpdir(), 'tsbuild-auth-'));
  });
  after(async () => {
    await registry?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('refuses a registry whose certificate is not trusted with REGISTRY_UNREACHABLE and a certs.d hint', async () => {
    const client = new RegistryClient({ secure: [registry.host], credentials: anonymous, retry: { attempts: 1 } });
    try {
      const err = await caught(client.resolve(parseReference(`${registry.host}/busybox:latest`)));
      expect(err.code).to.equal('REGISTRY_UNREACHABLE');
      expect(err.hint).to.contain(`/etc/docker/certs.d/${registry.host}/ca.crt`);
    } finally {
      await client.close();
    }
  });

  it('answers an anonymous push with REGISTRY_AUTH naming the repository, the scope and the credentials tried', async () => {
    const client = new RegistryClient({ secure: [registry.host], caFile: registry.caFile ?? '', credentials: anonymous });
    try {
      const err = await caught(publishBusybox(registry.host, 'private/app', 'latest', client));
      expect(err.code).to.equal('REGISTRY_AUTH');
      expect(err.status).to.equal(401);
      expect(err.message).to.contain('private/app');
      expect(err.hint).to.contain('anonymous');
    } finally {
      await client.close();
    }
  });

  it('never puts the password in the error for wrong credentials, but names the config file they came from', async () => {
    const config = join(home, 'wrong', 'config.json');
    await login(registry.host, 'alice', 'not-the-password', config);
    const client = new RegistryClient({ secure: [registry.host], caFile: registry.caFile ?? '', credentials: dockerConfigCredentials(config) });
    try {
      const err = await caught(client.hasBlob(parseReference(`${registry.host}/busybox`), `sha256:${'1'.repeat(64)}`));
      expect(err.code).to.equal('REGISTRY_AUTH');
      expect(`${err.message} ${err.hint ?? ''}`).to.contain(config).and.not.contain('not-the-password');
    } finally {
      await client.close();
    }
  });

  it('checks credentials against the registry before they would be saved, as docker login does', async () => {
    const good = new RegistryClient({ secure: [registry.host], caFile: registry.caFile ?? '', credentials: staticCredentials({ username: user.user, password: user.password }) });
    const bad = new RegistryClient({ secure: [registry.host], caFile: registry.caFile ?? '', credentials: staticCredentials({ username: user.user, password: 'nope' }) });
    try {
      await good.checkAuth(registry.host);
      const err = await caught(bad.checkAuth(registry.host));
      expect(err.code).to.equal('REGISTRY_AUTH');
    } finally {
      await good.close();
      await bad.close();
    }
  });

  it('pushes and pulls with credentials stored by login(), trusting the CA from a certs.d directory; skopeo agrees', async () => {
    const config = join(home, 'good', 'config.json');
    await login(registry.host, user.user, user.password, config);
    const certsDir = join(home, 'certs.d');
    await mkdir(join(certsDir, registry.host), { recursive: true });
    await copyFile(registry.caFile ?? '', join(certsDir, registry.host, 'ca.crt'));
    // No `secure` option: the certs.d directory alone says this local registry speaks TLS.
    const client = new RegistryClient({ certsDir, credentials: dockerConfigCredentials(config) });
    try {
      const published = await publishBusybox(registry.host, 'private/app', 'latest', client);
      const desc = await client.resolve(parseReference(`${registry.host}/private/app:multi`), { os: 'linux', architecture: 'arm64' });
      expect(desc.digest).to.equal(published.platforms['linux/arm64']);
      const out = execFileSync('skopeo', ['inspect', '--cert-dir', join(certsDir, registry.host), '--creds', `${user.user}:${user.password}`, `docker://${registry.host}/private/app:latest`], { encoding: 'utf8' });
      expect((JSON.parse(out) as { Digest: string }).Digest).to.equal(published.manifest);
    } finally {
      await client.close();
    }
  });
});

/** A minimal token server (distribution docs/spec/auth/token.md): RS256 JWTs with the signing cert in x5c. */
interface TokenServer {
  realm: string;
  requests: { scopes: string[]; user: string | undefined }[];
  /** When set, the next token for a scope grants nothing, so the registry answers 401 and the client must refresh. */
  starveNext: boolean;
  close(): Promise<void>;
}

async function startTokenServer(keyFile: string, certFile: string, service: string, issuer: string, users: Record<string, string>): Promise<TokenServer> {
  const key = await readFile(keyFile, 'utf8');
  const der = (await readFile(certFile, 'utf8')).replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const state: TokenServer = { realm: '', requests: [], starveNext: false, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ') === true) {
      const [name, password] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
      if (name === undefined || users[name] !== password) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"wrong credentials"}');
        return;
      }
      user = name;
    }
    state.requests.push({ scopes, user });
    const starve = state.starveNext;
    state.starveNext = false;
    const access = scopes.map((s) => {
      const [type, name, actions] = s.split(':') as [string, string, string];
      const wanted = actions.split(',');
      return { type, name, actions: starve ? [] : wanted.filter((a) => a === 'pull' || user !== undefined) };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url({ alg: 'RS256', typ: 'JWT', x5c: [der] });
    const claims = b64url({ iss: issuer, sub: user ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access });
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), key).toString('base64url');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${signature}`, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('token server has no port');
  state.realm = `http://127.0.0.1:${address.port}/token`;
  state.close = async () => {
    server.close();
    server.closeAllConnections();
    await once(server, 'close');
  };
  return state;
}

describe('registry client with bearer token auth', function () {
  let registry: RunningRegistry;
  let tokens: TokenServer;
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-token-'));
    const keyFile = join(dir, 'token.key');
    const certFile = join(dir, 'token.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', keyFile, '-out', certFile, '-subj', '/CN=tsbuild token issuer'], { stdio: 'ignore' });
    tokens = await startTokenServer(keyFile, certFile, 'tsbuild-test', 'tsbuild-issuer', { alice: 'pw' });
    registry = await startRegistry({ tokenAuth: { realm: tokens.realm, service: 'tsbuild-test', issuer: 'tsbuild-issuer', certFile } });
  });
  after(async () => {
    await registry?.stop();
    await tokens?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('fetches a token per scope set, reuses it for later requests, and pushes and pulls with it', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({ username: 'alice', password: 'pw' }) });
    try {
      const published = await publishBusybox(registry.host, 'team/app', 'latest', client);
      const before = client.metrics.requests.token;
      // One pull,push token served every request of the push: HEADs, uploads and manifest PUTs.
      expect(before).to.equal(1);
      expect(tokens.requests.at(-1)).to.deep.equal({ scopes: ['repository:team/app:pull,push'], user: 'alice' });
      const desc = await client.resolve(parseReference(`${registry.host}/team/app:latest`));
      expect(desc.digest).to.equal(published.manifest);
      expect(client.metrics.requests.token).to.equal(before + 1); // the pull scope is a new scope set
      await client.resolve(parseReference(`${registry.host}/team/app:multi`));
      expect(client.metrics.requests.token).to.equal(before + 1);
    } finally {
      await client.close();
    }
  });

  it('refreshes the token and retries once when the registry answers 401 to a cached token', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({ username: 'alice', password: 'pw' }) });
    try {
      tokens.starveNext = true;
      const desc = await client.resolve(parseReference(`${registry.host}/team/app:latest`));
      expect(desc.mediaType).to.equal('application/vnd.oci.image.manifest.v1+json');
      expect(client.metrics.requests.token).to.equal(2);
      expect(client.metrics.requests['manifest-get']).to.equal(2);
    } finally {
      await client.close();
    }
  });

  it('lets an anonymous client pull but answers its push with REGISTRY_AUTH and the scope it lacked', async () => {
    const client = new RegistryClient({ credentials: anonymous });
    try {
      await client.resolve(parseReference(`${registry.host}/team/app:latest`));
      const err = await caught(publishBusybox(registry.host, 'team/other', 'latest', client));
      expect(err.code).to.equal('REGISTRY_AUTH');
      expect(err.message).to.contain('repository:team/other:pull,push');
      expect(err.hint).to.contain('anonymous');
    } finally {
      await client.close();
    }
  });

  it('checks a login with an account token that has no repository scope', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({ username: 'alice', password: 'pw' }) });
    try {
      await client.checkAuth(registry.host);
      expect(tokens.requests.at(-1)).to.deep.equal({ scopes: [], user: 'alice' });
    } finally {
      await client.close();
    }
  });

  it('reports wrong credentials at the token server as REGISTRY_AUTH without the password', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({ username: 'alice', password: 'wrong-pw' }, 'test credentials'), retry: { attempts: 1 } });
    try {
      const err = await caught(client.resolve(parseReference(`${registry.host}/team/app:latest`)));
      expect(err.code).to.equal('REGISTRY_AUTH');
      expect(`${err.message} ${err.hint ?? ''}`).to.contain('test credentials').and.not.contain('wrong-pw');
    } finally {
      await client.close();
    }
  });
});
