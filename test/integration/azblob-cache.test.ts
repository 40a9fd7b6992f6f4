import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { sharedKeyAuthorization } from '../../builder/cache/azblob/shared-key.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type RunningAzurite } from '../fixtures/azurite.js';
import { publishBusybox } from '../fixtures/busybox-image.js';
import { startFaultProxy } from '../fixtures/fault-proxy.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';
import { cacheRunner, writeRemoteCacheContext } from '../fixtures/remote-cache-context.js';

// `--cache-to/--cache-from type=azblob` as buildx passes them, each runner a fresh --root, against Azurite (Microsoft's
// Azure Storage emulator, from npm), which checks every request's Shared Key signature as Azure does: a request tsbuild
// signs wrongly is a 403 here too.

interface Manifest { config: { digest: string; mediaType: string }; layers: { digest: string }[] }

/** A key Azurite does not hold for the account: valid base64, the wrong bytes. */
const WRONG_KEY = Buffer.from('not devstoreaccount1 key 0042').toString('base64');

describe('Azure Blob Storage cache (--cache-to / --cache-from type=azblob)', function () {
  this.timeout(300_000);
  let registry: RunningRegistry;
  let azurite: RunningAzurite;
  let dir: string;
  let ctx: string;
  let account = '';
  let cache = '';

  const build = cacheRunner({ dir: () => dir, context: () => ctx, env: () => ({}), secrets: () => [AZURITE_KEY, WRONG_KEY] });
  /** One request of the test's own to the emulator, signed with the account key (Azurite refuses anything else). */
  const azure = async (path: string): Promise<{ status: number; body: Buffer }> => {
    const url = new URL(`${azurite.accountUrl}/${path}`);
    const headers = { 'x-ms-date': new Date().toUTCString(), 'x-ms-version': '2021-08-06' };
    const authorization = sharedKeyAuthorization(AZURITE_ACCOUNT, Buffer.from(AZURITE_KEY, 'base64'), { method: 'GET', url, headers });
    const res = await request(url, { headers: { ...headers, authorization } });
    return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
  };
  const names = (xml: Buffer): string[] => [...xml.toString().matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1] ?? '').sort();
  /** The blobs of a container (List Blobs), or the containers of the account. */
  const blobs = async (container: string): Promise<string[]> => names((await azure(`${container}?restype=container&comp=list`)).body);
  const containers = async (): Promise<string[]> => names((await azure('?comp=list')).body);

  before(async () => {
    registry = await startRegistry();
    await publishBusybox(registry.host, 'busybox');
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-azblob-'));
    azurite = await startAzurite(join(dir, 'azurite'));
    account = `account_url=${azurite.accountUrl},account_name=${AZURITE_ACCOUNT}`;
    cache = `type=azblob,${account},container=cache,prefix=ci,secret_access_key=${AZURITE_KEY}`;
    ctx = await writeRemoteCacheContext(join(dir, 'ctx'), registry.host, randomBytes(256 * 1024), 'v1\n');
  });
  after(async () => {
    await azurite?.stop();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runner A exports every step (mode=max) into a container it creates: blobs at PREFIX/blobs/sha256:…, the manifest at PREFIX/manifests/NAME', async () => {
    expect(await containers()).not.to.include('cache');
    const { r, meta } = await build(['--cache-to', `${cache},mode=max`]);
    expect(meta['tsbuild.cache']).to.include({ missed: 6, remote: 0 });
    expect(r.stderr).to.match(/exported cache to azblob:\/\/devstoreaccount1\/cache\/ci \(ci\/manifests\/buildkit\): 6 steps, \d+ layers/);
    const stored = await blobs('cache');
    const manifest = JSON.parse((await azure('cache/ci/manifests/buildkit')).body.toString()) as Manifest;
    expect(manifest.config.mediaType).to.equal('application/vnd.tsbuild.cache.config.v1+json');
    const digests = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
    // BuildKit's filepath.Join layout: `ci` + `blobs` + digest, one slash each; nothing else in the container.
    expect(stored.filter((k) => k !== 'ci/manifests/buildkit').every((k) => k.startsWith('ci/blobs/sha256:'))).to.equal(true);
    for (const d of digests) {
      expect(stored).to.include(`ci/blobs/${d}`);
      const blob = await azure(`cache/ci/blobs/${encodeURIComponent(d)}`);
      expect(`sha256:${createHash('sha256').update(blob.body).digest('hex')}`).to.equal(d);
    }
  });

  it('runner B (empty root, the account from BUILDKIT_AZURE_STORAGE_*) hits every step and writes the right files; a changed file is named; two names are written', async () => {
    const env = { BUILDKIT_AZURE_STORAGE_ACCOUNT_URL: azurite.accountUrl, BUILDKIT_AZURE_STORAGE_ACCOUNT_NAME: AZURITE_ACCOUNT, BUILDKIT_AZURE_STORAGE_CONTAINER: 'cache', BUILDKIT_AZURE_STORAGE_PREFIX: 'ci' };
    const out = join(dir, 'out-b');
    const { r, meta } = await build(['--cache-from', `type=azblob,secret_access_key=${AZURITE_KEY}`, '-o', `type=local,dest=${out}`], ctx, env);
    expect(r.stderr).to.contain('using cache azblob://devstoreaccount1/cache/ci: 6 steps');
    expect(meta['tsbuild.cache']).to.include({ steps: 7, cached: 7, remote: 7 });
    expect(await readFile(join(out, 'app/copy.txt'), 'utf8')).to.equal('v1\n');
    const changed = join(dir, 'ctx-changed');
    await run('cp', ['-a', ctx, changed]);
    await writeFile(join(changed, 'app.txt'), 'v2\n');
    const c = await build(['--cache-from', cache, '--cache-to', `${cache},mode=max,name=buildkit;pr-7`], changed);
    expect(c.r.stderr).to.contain('MISS files changed in context: app.txt (changed)');
    expect(c.meta['tsbuild.cache']).to.include({ missed: 2 });
    expect(c.r.stderr).to.contain('(ci/manifests/buildkit, ci/manifests/pr-7)');
    expect((await azure('cache/ci/manifests/pr-7')).body).to.deep.equal((await azure('cache/ci/manifests/buildkit')).body);
  });

  it('a missing container on --cache-from is no cache, without a warning, and is not created', async () => {
    const { r, meta } = await build(['--cache-from', cache.replace('container=cache', 'container=nothing-here')]);
    expect(r.stderr).not.to.contain('nothing-here');
    expect(meta['tsbuild.cache'].remote).to.equal(0);
    expect(await containers()).not.to.include('nothing-here');
  });

  it('a wrong key: --cache-from warns and builds, --cache-to fails with the 403 and Azure\'s code unless ignore-error=true; no key is ever shown', async () => {
    const wrong = cache.replace(AZURITE_KEY, WRONG_KEY);
    const { r } = await build(['--cache-from', wrong, '--cache-to', `${wrong},ignore-error=true`]);
    // Azure's code for a signature that does not match is AuthenticationFailed; Azurite's is AuthorizationFailure.
    expect(r.stderr).to.contain('cache azblob://devstoreaccount1/cache/ci not used').and.match(/HTTP 403 \((AuthenticationFailed|AuthorizationFailure)\)/);
    expect(r.stderr).to.contain('warning: cache export to azblob://devstoreaccount1/cache/ci failed (ignore-error=true)');
    const failed = await tsbuild(['build', '--root', join(dir, 'root-fail'), '--progress', 'plain', '--cache-to', wrong, ctx]);
    expect(failed.code, failed.stderr).to.equal(1);
    expect(failed.stderr).to.contain('cache azblob://devstoreaccount1/cache/ci: HEAD ci/blobs/sha256:').and.match(/failed with HTTP 403 \(Auth\w+\)/);
    expect(failed.stderr).to.contain('hint: secret_access_key is wrong or not the key of account devstoreaccount1');
    expect(failed.stdout + failed.stderr).not.to.contain(WRONG_KEY).and.not.contain(AZURITE_KEY);
  });

  it('tries HEAD, PUT and GET again on a 5xx or a dropped connection (a blob\'s PUT from its stream opened anew)', async () => {
    // Faults a real service produces only at random: a proxy in front of the emulator injects them, once each.
    const proxy = await startFaultProxy(new URL(azurite.accountUrl).host);
    try {
      const through = `type=azblob,account_url=http://${proxy.host}/${AZURITE_ACCOUNT},account_name=${AZURITE_ACCOUNT},container=cache,prefix=ci2,secret_access_key=${AZURITE_KEY}`;
      proxy.add({ method: 'HEAD', path: /\/ci2%2Fblobs%2F/, times: 1, fault: { kind: 'status', status: 503 } });
      proxy.add({ method: 'PUT', path: /\/ci2%2Fblobs%2F/, times: 1, fault: { kind: 'reset' } });
      proxy.add({ method: 'PUT', path: /\/ci2%2Fmanifests%2F/, times: 1, fault: { kind: 'status', status: 500 } });
      const { r } = await build(['--cache-to', `${through},mode=max`]);
      expect(r.stderr).to.contain('exported cache to azblob://devstoreaccount1/cache/ci2 (ci2/manifests/buildkit): 6 steps');
      expect(proxy.log.filter((e) => e.fault !== undefined).map((e) => `${e.method} ${e.fault ?? ''}`).sort()).to.deep.equal(['HEAD status', 'PUT reset', 'PUT status']);
      proxy.add({ method: 'GET', path: /\/ci2%2Fmanifests%2F/, times: 1, fault: { kind: 'status', status: 503 } });
      const b = await build(['--cache-from', through]);
      expect(b.r.stderr).to.contain('using cache azblob://devstoreaccount1/cache/ci2: 6 steps');
      expect(b.meta['tsbuild.cache']).to.include({ cached: 7, remote: 7 });
    } finally {
      await proxy.close();
    }
  });

  it('an entry without secret_access_key (BuildKit would sign in through Azure AD) is skipped with a warning, or refused as a plain --cache-to', async () => {
    const keyless = `type=azblob,${account},container=cache,prefix=ci`;
    const { r, meta } = await build(['--cache-from', keyless, '--cache-to', `${keyless},ignore-error=true`]);
    expect(r.stderr).to.contain(`warning: --cache-from ${keyless}: no secret_access_key`).and.contain(`warning: --cache-to ${keyless},ignore-error=true: no secret_access_key`);
    expect(meta['tsbuild.cache'].remote).to.equal(0);
    for (const [entry, words] of [
      [keyless, 'no secret_access_key for azblob cache'],
      [`${cache},bucket=b`, 'attribute "bucket" is not supported for type=azblob'],
      [`type=azblob,secret_access_key=${AZURITE_KEY}`, 'account_url ($BUILDKIT_AZURE_STORAGE_ACCOUNT_URL) not set'],
    ] as [string, string][]) {
      const bad = await tsbuild(['build', '--root', join(dir, 'root-bad'), '--cache-to', entry, ctx]);
      expect(bad.code, bad.stderr).to.equal(2);
      expect(bad.stderr).to.contain(words).and.not.contain(AZURITE_KEY);
    }
  });

  it('sends a layer over 32 MiB as blocks (BuildKit\'s 32 MiB, committed by Put Block List); a fresh runner reads it back whole', async () => {
    const big = randomBytes(33 * 1024 * 1024);
    const bigCtx = await writeRemoteCacheContext(join(dir, 'ctx-big'), registry.host, big, 'v1\n');
    const proxy = await startFaultProxy(new URL(azurite.accountUrl).host);
    try {
      const through = `type=azblob,account_url=http://${proxy.host}/${AZURITE_ACCOUNT},account_name=${AZURITE_ACCOUNT},container=cache,prefix=big,secret_access_key=${AZURITE_KEY}`;
      await build(['--cache-to', `${through},mode=max`], bigCtx);
      const comps = proxy.log.filter((e) => e.method === 'PUT' && e.path.includes('/big%2Fblobs%2F')).map((e) => new URLSearchParams(e.path.split('?')[1] ?? '').get('comp') ?? 'blob');
      // The two big layers (COPY big.bin, RUN cp) in two blocks each; every other blob in one Put Blob.
      expect(comps.filter((c) => c === 'block')).to.have.length(4);
      expect(comps.filter((c) => c === 'blocklist')).to.have.length(2);
    } finally {
      await proxy.close();
    }
    const manifest = JSON.parse((await azure('cache/big/manifests/buildkit')).body.toString()) as { layers: { digest: string; size: number }[] };
    const layers = manifest.layers.filter((l) => l.size > 32 * 1024 * 1024);
    expect(layers).to.have.length(2);
    for (const l of layers) {
      const list = (await azure(`cache/${encodeURIComponent(`big/blobs/${l.digest}`)}?comp=blocklist&blocklisttype=committed`)).body.toString();
      expect([...list.matchAll(/<Size>(\d+)<\/Size>/g)].map((m) => Number(m[1]))).to.deep.equal([32 * 1024 * 1024, l.size - 32 * 1024 * 1024]);
    }
    const out = join(dir, 'out-big');
    const { meta } = await build(['--cache-from', cache.replace('prefix=ci', 'prefix=big'), '--target', 'build', '-o', `type=local,dest=${out}`], bigCtx);
    expect(meta['tsbuild.cache']).to.include({ cached: 3, remote: 3 });
    expect((await readFile(join(out, 'big.bin'))).equals(big)).to.equal(true);
    expect((await readFile(join(out, 'big.copy'))).equals(big)).to.equal(true);
  });
});
