import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { publishBusybox } from '../fixtures/busybox-image.js';
import { startFaultProxy } from '../fixtures/fault-proxy.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';
import { cacheRunner, writeRemoteCacheContext } from '../fixtures/remote-cache-context.js';

// `--cache-to/--cache-from type=s3` as buildx passes them, each runner a fresh --root, against s3rver (an S3 API
// server in Node, from npm: no S3 service is reachable here; it does not check SigV4 signatures, which the unit test
// builder/cache/s3/s3-cache.test.ts pins to AWS's documented example instead).


const SECRET = 's3-secret-key-0042';

describe('S3 cache (--cache-to / --cache-from type=s3)', function () {
  this.timeout(300_000);
  let registry: RunningRegistry;
  let s3: S3rver;
  let dir: string;
  let store: string;
  let ctx: string;
  let cache = '';
  let s3Host = '';
  // No shared files: the machine's own ~/.aws must not decide what these tests see.
  const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'eu-west-1', AWS_SESSION_TOKEN: '', AWS_BUCKET: '', AWS_PROFILE: '', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials', AWS_CONFIG_FILE: '/nonexistent/aws-config' };

  const build = cacheRunner({ dir: () => dir, context: () => ctx, env: () => env, secrets: () => [SECRET] });
  /** The keys s3rver holds in the bucket (its directory keeps one `KEY._S3rver_object` file per object). */
  const keys = async (): Promise<string[]> => (await readdir(join(store, 'cache'), { recursive: true }))
    .filter((f) => f.endsWith('._S3rver_object')).map((f) => f.slice(0, -'._S3rver_object'.length)).sort();

  before(async () => {
    registry = await startRegistry();
    await publishBusybox(registry.host, 'busybox');
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-s3-'));
    store = join(dir, 's3');
    s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: store, configureBuckets: [{ name: 'cache', configs: [] }] });
    const { port } = await s3.run();
    s3Host = `127.0.0.1:${port}`;
    cache = `type=s3,bucket=cache,endpoint_url=http://127.0.0.1:${port},use_path_style=true,prefix=ci/`;
    ctx = await writeRemoteCacheContext(join(dir, 'ctx'), registry.host, randomBytes(256 * 1024), 'v1\n');
  });
  after(async () => {
    await s3?.close();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runner A exports every step (mode=max): blobs at PREFIX blobs/sha256:…, the manifest at PREFIX manifests/NAME', async () => {
    const { r, meta } = await build(['--cache-to', `${cache},mode=max`]);
    expect(meta['tsbuild.cache']).to.include({ missed: 6, remote: 0 });
    expect(r.stderr).to.match(/exported cache to s3:\/\/cache\/ci\/ \(ci\/manifests\/buildkit\): 6 steps, \d+ layers/);
    const stored = await keys();
    expect(stored).to.include('ci/manifests/buildkit');
    const manifest = JSON.parse(await readFile(join(store, 'cache', 'ci/manifests/buildkit._S3rver_object'), 'utf8')) as { config: { digest: string; mediaType: string }; layers: { digest: string }[] };
    expect(manifest.config.mediaType).to.equal('application/vnd.tsbuild.cache.config.v1+json');
    for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) expect(stored).to.include(`ci/blobs/${d}`);
  });

  it('runner B (empty root) hits every step from the bucket and writes the right files; a changed file is named', async () => {
    const out = join(dir, 'out-b');
    const { r, meta } = await build(['--cache-from', cache, '-o', `type=local,dest=${out}`]);
    expect(r.stderr).to.contain('using cache s3://cache/ci/: 6 steps');
    expect(meta['tsbuild.cache']).to.include({ steps: 7, cached: 7, remote: 7 });
    expect(await readFile(join(out, 'app/copy.txt'), 'utf8')).to.equal('v1\n');
    const changed = join(dir, 'ctx-changed');
    await run('cp', ['-a', ctx, changed]);
    await writeFile(join(changed, 'app.txt'), 'v2\n');
    const c = await build(['--cache-from', cache, '--cache-to', `${cache},mode=max,name=buildkit;pr-7`], changed);
    expect(c.r.stderr).to.contain('MISS files changed in context: app.txt (changed)');
    expect(c.meta['tsbuild.cache']).to.include({ missed: 2 });
    expect(await keys()).to.include('ci/manifests/pr-7');
  });

  it('a bucket with no cache yet is no cache, without a warning; a missing bucket or credential is refused by name, the secret never shown', async () => {
    const empty = await build(['--cache-from', cache.replace('prefix=ci/', 'prefix=nothing/')]);
    expect(empty.r.stderr).not.to.contain('nothing/');
    expect(empty.meta['tsbuild.cache'].remote).to.equal(0);
    for (const [entry, words] of [
      ['type=s3,region=eu-west-1', 'bucket ($AWS_BUCKET) not set'],
      [`type=s3,bucket=cache,secret_access_key=${SECRET}-attr,bogus=1`, '"bogus"'],
    ] as [string, string][]) {
      const r = await tsbuild(['build', '--root', join(dir, 'root-bad'), '--cache-to', entry, ctx], { env });
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(words).and.not.contain(SECRET);
    }
  });

  it('copies a blob older than touch_refresh onto itself when an export names it (BuildKit\'s touch), and no other', async () => {
    // s3rver's Last-Modified is its object file's mtime: every blob is made two days old.
    const blobs = (await keys()).filter((k) => k.startsWith('ci/blobs/'));
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    for (const k of blobs) await utimes(join(store, 'cache', `${k}._S3rver_object`), twoDaysAgo, twoDaysAgo);
    const metadata = async (key: string): Promise<Record<string, string>> => JSON.parse(await readFile(join(store, 'cache', `${key}._S3rver_metadata.json`), 'utf8')) as Record<string, string>;
    const { r } = await build(['--cache-from', cache, '--cache-to', `${cache},mode=max,touch_refresh=24h,name=touched`]);
    expect(r.stderr).to.match(/exported cache to s3:\/\/cache\/ci\/ \(ci\/manifests\/touched\): 6 steps, \d+ layers \(0 uploaded/);
    const manifest = JSON.parse(await readFile(join(store, 'cache', 'ci/manifests/touched._S3rver_object'), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    const named = new Set([manifest.config.digest, ...manifest.layers.map((l) => l.digest)].map((d) => `ci/blobs/${d}`));
    expect(named.size).to.be.greaterThan(1);
    for (const k of blobs) {
      const touched = (await metadata(k))['x-amz-meta-updated-at'];
      if (named.has(k)) expect(touched, `${k} is named: touched`).to.match(/^\d{4}-\d\d-\d\dT/);
      else expect(touched, `${k} is not named: left alone`).to.equal(undefined);
    }
  });

  it('tries HEAD, PUT and GET again on a 5xx or a dropped connection (a blob\'s PUT from its stream opened anew)', async () => {
    // Faults a real service produces only at random: a proxy in front of s3rver injects them, once each.
    const proxy = await startFaultProxy(s3Host);
    try {
      const through = `type=s3,bucket=cache,endpoint_url=http://${proxy.host},use_path_style=true,prefix=ci3/`;
      proxy.add({ method: 'HEAD', path: /^\/cache\/ci3\/blobs\//, times: 1, fault: { kind: 'status', status: 503 } });
      proxy.add({ method: 'PUT', path: /^\/cache\/ci3\/blobs\//, times: 1, fault: { kind: 'reset' } });
      proxy.add({ method: 'PUT', path: /^\/cache\/ci3\/manifests\//, times: 1, fault: { kind: 'status', status: 500 } });
      const { r } = await build(['--cache-to', `${through},mode=max`]);
      expect(r.stderr).to.contain('exported cache to s3://cache/ci3/ (ci3/manifests/buildkit): 6 steps');
      expect(proxy.log.filter((e) => e.fault !== undefined).map((e) => `${e.method} ${e.fault ?? ''}`).sort()).to.deep.equal(['HEAD status', 'PUT reset', 'PUT status']);
      proxy.add({ method: 'GET', path: /^\/cache\/ci3\/manifests\//, times: 1, fault: { kind: 'status', status: 503 } });
      const b = await build(['--cache-from', through]);
      expect(b.r.stderr).to.contain('using cache s3://cache/ci3/: 6 steps');
      expect(b.meta['tsbuild.cache']).to.include({ cached: 7, remote: 7 });
    } finally {
      await proxy.close();
    }
  });

  it('finds the key in a shared-file profile (AWS_PROFILE) when neither attributes nor environment hold one', async () => {
    const profiles = join(dir, 'aws-credentials');
    await writeFile(profiles, `[ci]\naws_access_key_id = S3RVER\naws_secret_access_key = ${SECRET}\n`);
    const fromFile = { ...env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SHARED_CREDENTIALS_FILE: profiles, AWS_CONFIG_FILE: join(dir, 'no-config'), AWS_PROFILE: 'ci' };
    const root = join(dir, 'root-profile');
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '--cache-from', cache, ctx], { env: fromFile });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain('using cache s3://cache/ci/').and.not.contain('warning');
    // A profile that only names a role is no credential: a --cache-from warns and builds, a --cache-to is refused.
    await writeFile(profiles, '[ci]\nrole_arn = arn:aws:iam::1:role/cache\n');
    const warned = await tsbuild(['build', '--root', root, '--progress', 'plain', '--cache-from', cache, ctx], { env: fromFile });
    expect(warned.code, warned.stderr).to.equal(0);
    expect(warned.stderr).to.contain('AWS profile ci gets its credentials by role_arn, which tsbuild does not follow; building without it');
    const refused = await tsbuild(['build', '--root', root, '--progress', 'plain', '--cache-to', cache, ctx], { env: fromFile });
    expect(refused.code, refused.stderr).to.equal(2);
    expect(refused.stderr).to.contain('no credentials for s3 cache: AWS profile ci');
  });

  it('sends a layer over 16 MiB as a multipart upload of 8 MiB parts, at upload_parallelism=1 and at its default; a fresh runner reads it back whole', async () => {
    // The AWS transfer manager's sizes (BuildKit's): 17 MiB of random bytes gzip to a layer of three parts, 8 + 8 + 1 MiB.
    const big = randomBytes(17 * 1024 * 1024);
    const bigCtx = await writeRemoteCacheContext(join(dir, 'ctx-big'), registry.host, big, 'v1\n');
    const proxy = await startFaultProxy(s3Host);
    try {
      const at = (prefix: string): string => `type=s3,bucket=cache,endpoint_url=http://${proxy.host},use_path_style=true,prefix=${prefix}`;
      await build(['--cache-to', `${at('big1/')},mode=max,upload_parallelism=1`, '--cache-to', `${at('big4/')},mode=max`], bigCtx);
      for (const prefix of ['big1/', 'big4/']) {
        const sent = proxy.log.filter((e) => e.path.startsWith(`/cache/${prefix}blobs/`)).map((e) => `${e.method} ${(e.path.split('?')[1] ?? '-').replace(/uploadId=[^&]*/, 'uploadId')}`);
        // The two big layers (COPY big.bin, RUN cp) in parts; every other blob in one PUT.
        expect(sent.filter((r) => r === 'POST uploads'), prefix).to.have.length(2);
        expect(sent.filter((r) => r === 'POST uploadId'), prefix).to.have.length(2);
        expect(sent.filter((r) => /^PUT partNumber=\d&uploadId$/.test(r)).sort(), prefix).to.deep.equal(['PUT partNumber=1&uploadId', 'PUT partNumber=1&uploadId', 'PUT partNumber=2&uploadId', 'PUT partNumber=2&uploadId', 'PUT partNumber=3&uploadId', 'PUT partNumber=3&uploadId']);
      }
    } finally {
      await proxy.close();
    }
    // The build stage's own files: its layers come from the bucket, checked against their digests.
    const out = join(dir, 'out-big');
    const { meta } = await build(['--cache-from', cache.replace('prefix=ci/', 'prefix=big1/'), '--target', 'build', '-o', `type=local,dest=${out}`], bigCtx);
    expect(meta['tsbuild.cache']).to.include({ cached: 3, remote: 3 });
    expect((await readFile(join(out, 'big.bin'))).equals(big)).to.equal(true);
    expect((await readFile(join(out, 'big.copy'))).equals(big)).to.equal(true);

    const refused = await tsbuild(['build', '--root', join(dir, 'root-bad'), '--cache-to', `${cache},upload_parallelism=0`, ctx], { env });
    expect(refused.code, refused.stderr).to.equal(2);
    expect(refused.stderr).to.contain('upload_parallelism must be a positive integer');
  });
});
