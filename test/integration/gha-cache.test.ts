import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishBusybox } from '../fixtures/busybox-image.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { startActionsCacheServer, type ActionsCacheServer } from '../fixtures/actions-cache-server.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';
import { cacheRunner, writeRemoteCacheContext } from '../fixtures/remote-cache-context.js';

// `--cache-to/--cache-from type=gha` as docker/build-push-action passes them (`cache-from: type=gha`, `cache-to:
// type=gha,mode=max`), each runner a fresh --root, against a stand-in for GitHub's cache service (version 2:
// Twirp calls + signed blob URLs; test/fixtures/actions-cache-server.ts) in the environment a step of the action has.


describe('GitHub Actions cache (--cache-to / --cache-from type=gha)', function () {
  this.timeout(300_000);
  let registry: RunningRegistry;
  let gha: ActionsCacheServer;
  let dir: string;
  let ctx: string;

  const build = cacheRunner({ dir: () => dir, context: () => ctx, env: () => gha.env, secrets: () => [gha.token, 'signed-url-secret'] });

  before(async () => {
    registry = await startRegistry();
    await publishBusybox(registry.host, 'busybox');
    gha = await startActionsCacheServer();
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-gha-'));
    ctx = await writeRemoteCacheContext(join(dir, 'ctx'), registry.host, randomBytes(256 * 1024), 'v1\n');
  });
  after(async () => {
    await gha?.stop();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runner A exports every step (mode=max): each blob an entry of its own, the manifest as the scope\'s index', async () => {
    const { r, meta } = await build(['--cache-to', 'type=gha,mode=max,scope=ci']);
    expect(meta['tsbuild.cache']).to.include({ missed: 6, remote: 0 });
    expect(r.stderr).to.match(/exported cache to gha:ci \(tsbuild-index-1-ci#1\): 6 steps, \d+ layers/);
    const keys = gha.keys();
    expect(keys.at(-1)).to.equal('tsbuild-index-1-ci#1');   // written last, after every blob it names
    const index = JSON.parse(gha.bytes('tsbuild-index-1-ci#1')?.toString('utf8') ?? '{}') as { config: { mediaType: string; digest: string }; layers: { digest: string }[] };
    expect(index.config.mediaType).to.equal('application/vnd.tsbuild.cache.config.v1+json');
    for (const d of [index.config.digest, ...index.layers.map((l) => l.digest)]) expect(keys).to.include(`tsbuild-blob-1-${d}`);
  });

  it('runner B (empty root) hits every step from the cache and writes the right files', async () => {
    const out = join(dir, 'out-b');
    const { r, meta } = await build(['--cache-from', 'type=gha,scope=ci', '-o', `type=local,dest=${out}`]);
    expect(r.stderr).to.contain('using cache gha:ci: 6 steps');
    expect(meta['tsbuild.cache']).to.include({ steps: 7, cached: 7, remote: 7 });
    expect(await readFile(join(out, 'app/copy.txt'), 'utf8')).to.equal('v1\n');
  });

  it('a changed file misses only its steps, names the file, and the next export adds a newer index without uploading a blob twice', async () => {
    const changed = join(dir, 'ctx-changed');
    await run('cp', ['-a', ctx, changed]);
    await writeFile(join(changed, 'app.txt'), 'v2\n');
    const before = gha.requests.filter((q) => q.startsWith('PUT blob')).length;
    const { r, meta } = await build(['--cache-from', 'type=gha,scope=ci', '--cache-to', 'type=gha,mode=max,scope=ci'], changed);
    expect(r.stderr).to.contain('MISS files changed in context: app.txt (changed)');
    expect(meta['tsbuild.cache']).to.include({ missed: 2 });
    expect(r.stderr).to.contain('exported cache to gha:ci (tsbuild-index-1-ci#2)');
    const uploads = gha.requests.filter((q) => q.startsWith('PUT blob')).slice(before);
    // The two steps that ran (their layers), the new config and files blobs, the index: nothing runner A uploaded.
    expect(uploads.filter((q) => q.includes('tsbuild-blob-1-')).length).to.be.within(2, 6);
    expect(uploads.at(-1)).to.equal('PUT blob tsbuild-index-1-ci#2');
    // A third runner reads the newest index: everything cached for the changed context.
    const third = await build(['--cache-from', 'type=gha,scope=ci'], changed);
    expect(third.meta['tsbuild.cache']).to.include({ steps: 7, cached: 7 });
  });

  it('a scope with no cache yet is no cache, without a warning (the first run of a workflow)', async () => {
    const { r, meta } = await build(['--cache-from', 'type=gha,scope=nothing-yet']);
    expect(r.stderr).not.to.contain('nothing-yet');
    expect(meta['tsbuild.cache'].remote).to.equal(0);
  });

  it('does not use a cache whose config entry holds other bytes than its digest: warns, builds without it', async () => {
    await build(['--cache-to', 'type=gha,mode=max,scope=poisoned']);
    const index = JSON.parse(gha.bytes('tsbuild-index-1-poisoned#1')?.toString('utf8') ?? '{}') as { config: { digest: string } };
    const key = `tsbuild-blob-1-${index.config.digest}`;
    gha.replace(key, Buffer.from((gha.bytes(key) ?? Buffer.alloc(0)).toString('utf8').replace(/"/, ' "')));
    const { r, meta } = await build(['--cache-from', 'type=gha,scope=poisoned']);
    expect(r.stderr).to.contain('cache gha:poisoned not used').and.contain(index.config.digest);
    expect(meta['tsbuild.cache'].remote).to.equal(0);
  });

  it('writes a blob whose key a dead job reserved and never finalised under the next key, and readers find it there', async () => {
    // Two builds with the same layers (SOURCE_DATE_EPOCH: reproducible), the first only to learn a layer's digest.
    const epoch = { ...gha.env, SOURCE_DATE_EPOCH: '1700000000' };
    const probe = await build(['--cache-to', 'type=gha,mode=max,scope=probe'], ctx, epoch);
    expect(probe.r.stderr).to.contain('exported cache to gha:probe');
    const index = JSON.parse(gha.bytes('tsbuild-index-1-probe#1')?.toString('utf8') ?? '{}') as { layers: { digest: string; mediaType: string }[] };
    // The last image layer (the manifest lists the records' files blobs after the layers).
    const layer = index.layers.filter((l) => l.mediaType.includes('tar')).at(-1)?.digest ?? '';
    gha.evict(`tsbuild-blob-1-${layer}`);
    gha.reserveOnly(`tsbuild-blob-1-${layer}`);
    await build(['--cache-to', 'type=gha,mode=max,scope=dead-job'], ctx, epoch);
    expect(gha.keys()).to.include(`tsbuild-blob-1-${layer}#2`);
    const out = join(dir, 'out-dead-job');
    const { meta } = await build(['--cache-from', 'type=gha,scope=dead-job', '-o', `type=local,dest=${out}`]);
    expect(meta['tsbuild.cache']).to.include({ steps: 7, cached: 7 });
    expect(await readFile(join(out, 'app/copy.txt'), 'utf8')).to.equal('v1\n');
  });

  it('a service that hangs: --cache-from gives up at its timeout= with a warning and the build goes on', async () => {
    gha.stalled = true;
    try {
      const { r, meta } = await build(['--cache-from', 'type=gha,scope=ci,timeout=1s']);
      expect(r.stderr).to.contain('cache gha:ci not used: cache gha:ci: not done within its timeout (1 s)');
      expect(meta['tsbuild.cache'].remote).to.equal(0);
    } finally {
      gha.stalled = false;
    }
  });

  it('a token the service refuses: --cache-from warns and builds, --cache-to fails the build unless ignore-error=true; the token is never shown', async () => {
    const wrong = { ...gha.env, ACTIONS_RUNTIME_TOKEN: 'expired-token-0123' };
    const { r } = await build(['--cache-from', 'type=gha,scope=ci', '--cache-to', 'type=gha,scope=ci,ignore-error=true'], ctx, wrong);
    expect(r.stderr).to.contain('cache gha:ci not used').and.contain('HTTP 401');
    expect(r.stderr).to.contain('warning: cache export to gha:ci failed (ignore-error=true)');
    expect(r.stderr).not.to.contain('expired-token-0123');
    const failed = await tsbuild(['build', '--root', join(dir, 'root-fail'), '--progress', 'plain', '--cache-to', 'type=gha,scope=ci', ctx], { env: wrong });
    expect(failed.code, failed.stderr).to.equal(1);
    expect(failed.stderr).to.contain('GitHub Actions cache gha:ci').and.contain('HTTP 401');
    expect(failed.stderr).not.to.contain('expired-token-0123');
    // A token given as an attribute is not shown in a refusal either.
    const bad = await tsbuild(['build', '--root', join(dir, 'root-bad'), '--cache-to', 'type=gha,token=attr-secret-77,url_v2=http://127.0.0.1:1/,bogus=1', ctx], { env: wrong });
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('"bogus"').and.contain('token=***').and.not.contain('attr-secret-77');
  });
});
