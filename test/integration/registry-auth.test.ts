import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
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
import { startTokenServer, type TokenServer } from '../fixtures/token-server.js';

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
      // No ping: the first GET meets the challenge (401), the second the starved token (401), the third succeeds.
      expect(client.metrics.requests['manifest-get']).to.equal(3);
      expect(client.metrics.requests.ping).to.equal(0);
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
