import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishBusybox } from '../fixtures/busybox-image.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';
import { writeRemoteCacheContext } from '../fixtures/remote-cache-context.js';

// Two CI runners = two --root directories. Runner A builds, pushes and exports its cache; runners with an empty root
// rebuild with --cache-from. The build stage makes ~10 MB of layers the final image never contains, so the bytes a
// runner pulls (the registry client's own counters, in --metadata-file) show whether the lazy rule held.

interface Metadata {
  'containerimage.digest': string;
  'tsbuild.cache': { steps: number; cached: number; missed: number; remote: number };
  'tsbuild.transfer': { blobBytesDown: number; blobBytesUp: number; blobsMounted: number };
}

const BIG = 5 * 1024 * 1024;
const EPOCH = { SOURCE_DATE_EPOCH: '1700000000' };

describe('remote cache through the registry (--cache-to / --cache-from)', function () {
  this.timeout(300_000);
  let registry: RunningRegistry;
  let dir: string;
  let ctx: string;
  let host: string;
  let n = 0;

  const build = async (args: string[], context = ctx, env: NodeJS.ProcessEnv = EPOCH): Promise<{ r: CliResult; meta: Metadata }> => {
    const meta = join(dir, `meta-${++n}.json`);
    const r = await tsbuild(['build', '--progress', 'plain', '--metadata-file', meta, ...args, context], { env });
    expect(r.code, r.stderr).to.equal(0);
    return { r, meta: JSON.parse(await readFile(meta, 'utf8')) as Metadata };
  };
  const freshRoot = (): string => join(dir, `root-${++n}`);
  // A pushed image carries buildx's default min provenance, whose subject names the tag it was pushed as (as
  // BuildKit's does): images pushed under two names are one image manifest under two indexes. This is that manifest.
  const imageDigest = async (ref: string): Promise<string> => {
    const raw = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`]);
    expect(raw.code, raw.stderr).to.equal(0);
    const index = JSON.parse(raw.stdout) as { mediaType: string; manifests: { digest: string; platform?: { os: string } }[] };
    expect(index.mediaType).to.equal('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => m.platform?.os)).to.deep.equal(['linux', 'unknown']);
    return index.manifests[0]?.digest ?? '';
  };

  before(async () => {
    registry = await startRegistry();
    host = registry.host;
    await publishBusybox(host, 'busybox');
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-rcache-'));
    ctx = await writeRemoteCacheContext(join(dir, 'ctx'), host, randomBytes(BIG), 'v1\n');
  });
  after(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let digestA = '';
  const rootA = (): string => join(dir, 'root-a');

  it('runner A builds, pushes and exports every step (mode=max) to the cache repository', async () => {
    const { r, meta } = await build(['--root', rootA(), '-t', `${host}/app:1`, '--push', '--cache-to', `type=registry,ref=${host}/cache:main,mode=max`]);
    digestA = await imageDigest(`${host}/app:1`);
    expect(meta['containerimage.digest']).to.not.equal(digestA);   // the index's
    expect(meta['tsbuild.cache']).to.include({ steps: 7, missed: 6, remote: 0 }); // the second FROM shares the first's key
    expect(r.stderr).to.match(/exported cache to .*cache:main: 6 steps/);
    const raw = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${host}/cache:main`]);
    expect(raw.code, raw.stderr).to.equal(0);
    const manifest = JSON.parse(raw.stdout) as { artifactType: string; config: { mediaType: string }; layers: { size: number }[] };
    expect(manifest.config.mediaType).to.equal('application/vnd.tsbuild.cache.config.v1+json');
    expect(manifest.artifactType).to.equal(manifest.config.mediaType);
    expect(manifest.layers.filter((l) => l.size > BIG / 2)).to.have.length(2); // COPY big.bin and RUN cp: both kept alive
  });

  it('runner B (empty root) hits every step remotely, pulls no layer and pushes the identical image by mounting', async () => {
    const { r, meta } = await build(['--root', freshRoot(), '-t', `${host}/app-b:2`, '--push', '--cache-from', `type=registry,ref=${host}/cache:main`]);
    expect(meta['tsbuild.cache']).to.include({ steps: 7, cached: 7, missed: 0, remote: 7 });
    expect(r.stderr).to.contain(`from remote cache ${host}/cache:main`);
    // Only documents move: manifests and configs (the cache config, busybox's config), no layer at all.
    expect(meta['tsbuild.transfer'].blobBytesDown).to.be.lessThan(200_000);
    expect(meta['tsbuild.transfer'].blobBytesUp).to.be.lessThan(200_000);
    expect(meta['tsbuild.transfer'].blobsMounted).to.be.greaterThan(0);
    expect(await imageDigest(`${host}/app-b:2`)).to.equal(digestA);
  });

  it('runner C (empty root) with one changed file misses only the steps after it and never pulls the build stage', async () => {
    const changed = join(dir, 'ctx-changed');
    await run('cp', ['-a', ctx, changed]);
    await writeFile(join(changed, 'app.txt'), 'v2\n');
    const { r, meta } = await build(['--root', freshRoot(), '-t', `${host}/app:3`, '--push', '--cache-from', `type=registry,ref=${host}/cache:main`], changed);
    expect(meta['tsbuild.cache']).to.include({ steps: 7, cached: 5, missed: 2, remote: 5 });
    // The cache names the files behind each exported key (a files blob per record, read only for this miss): the
    // runner says which file changed, as it would against its own last build.
    expect(r.stderr).to.contain('MISS files changed in context: app.txt (changed)');
    // The final chain (busybox + the small COPY --from layer) is opened to run the changed steps; the ~10 MB of
    // build-stage layers are not.
    expect(meta['tsbuild.transfer'].blobBytesDown).to.be.greaterThan(100_000).and.lessThan(BIG);
    const rootfs = await unpack(`${host}/app:3`, 'c');
    expect(await readFile(join(rootfs, 'app/copy.txt'), 'utf8')).to.equal('v2\n');
    expect(await readFile(join(rootfs, 'app/sum'), 'utf8')).to.match(/^[0-9a-f]{64} {2}\/big\.copy\n$/);
  });

  it('mode=min exports only the final stage\'s layers, and a fresh runner never builds the build stage (BuildKit\'s min mode)', async () => {
    await build(['--root', rootA(), '-t', `${host}/app:1`, '--push', '--cache-to', `type=registry,ref=${host}/cache:min,mode=min`]);
    const raw = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${host}/cache:min`]);
    const manifest = JSON.parse(raw.stdout) as { layers: { size: number }[] };
    expect(manifest.layers.filter((l) => l.size > BIG / 2)).to.deep.equal([]);   // no build-stage layer
    const { r, meta } = await build(['--root', freshRoot(), '-t', `${host}/app:4`, '--push', '--cache-to', `type=registry,ref=${host}/cache:min2,mode=min`,
      '--cache-from', `type=registry,ref=${host}/cache:min`]);
    // COPY big.bin and RUN cp are keyed but never run (no record): the COPY --from is keyed by what the cache says it
    // takes from RUN cp's result, found by that step's key, and hits. Before, both ran again (~10 MB written).
    expect(meta['tsbuild.cache']).to.include({ steps: 5, cached: 5, missed: 0, remote: 5 });
    expect(r.stderr).not.to.contain('big.copy');
    expect(r.stderr).to.contain('#- stage build not run (2 steps keyed): the cache knew what the steps reading it take from it');
    expect(meta['tsbuild.transfer'].blobBytesDown).to.be.lessThan(200_000);
    expect(await imageDigest(`${host}/app:4`)).to.equal(digestA);
    // What it knew without building is exported again: a third runner, from min2, hits the same way.
    const third = await build(['--root', freshRoot(), '-o', 'type=cacheonly', '--cache-from', `type=registry,ref=${host}/cache:min2`]);
    expect(third.meta['tsbuild.cache']).to.include({ steps: 5, cached: 5, missed: 0, remote: 5 });
    // A changed build-stage input: its new key has no fact, so the stage runs, at once, and the final stage still
    // hits on the same /sum (the build output did not change).
    const changed = join(dir, 'ctx-min-changed');
    await run('cp', ['-a', ctx, changed]);
    await writeFile(join(changed, 'Dockerfile'), (await readFile(join(ctx, 'Dockerfile'), 'utf8')).replace('> /sum', '> /sum && true'));
    const rebuilt = await build(['--root', freshRoot(), '-o', 'type=cacheonly', '--cache-from', `type=registry,ref=${host}/cache:min`], changed);
    expect(rebuilt.meta['tsbuild.cache']).to.include({ steps: 7, cached: 5, missed: 2, remote: 5 });
  });

  it('mode=min with a chain of build stages (deps, then build FROM deps): a fresh runner runs neither', async () => {
    const chained = join(dir, 'ctx-chained');
    await run('mkdir', ['-p', chained]);
    await writeFile(join(chained, 'Dockerfile'), [
      `FROM ${host}/busybox:latest AS deps`,
      'RUN echo "deps-$((40+2))" && echo d > /deps',
      'FROM deps AS build',
      'RUN echo "build-$((40+2))" && cat /deps > /out',
      `FROM ${host}/busybox:latest`,
      'COPY --from=build /out /out',
      '',
    ].join('\n'));
    const first = await build(['--root', freshRoot(), '--cache-to', `type=registry,ref=${host}/cache:chained`, '-o', 'type=cacheonly'], chained);
    expect(first.r.stderr).to.contain('deps-42').and.contain('build-42');
    const { r, meta } = await build(['--root', freshRoot(), '--cache-from', `type=registry,ref=${host}/cache:chained`, '-o', `type=local,dest=${join(dir, 'chained-out')}`], chained);
    expect(r.stderr).not.to.contain('deps-42');
    expect(r.stderr).not.to.contain('build-42');
    expect(r.stderr).to.contain('#- stage deps not run').and.contain('#- stage build not run');
    expect(meta['tsbuild.cache']).to.include({ missed: 0 });
    expect(await readFile(join(dir, 'chained-out', 'out'), 'utf8')).to.equal('d\n');
  });

  it('round-trips a local cache directory and writes the lazily hit filesystem with -o type=local', async () => {
    const cacheDir = join(dir, 'cache-dir');
    await build(['--root', rootA(), '--cache-to', `type=local,dest=${cacheDir},mode=max`]);
    const index = JSON.parse(await readFile(join(cacheDir, 'index.json'), 'utf8')) as { manifests: { mediaType: string }[] };
    expect(index.manifests[0]?.mediaType).to.equal('application/vnd.oci.image.manifest.v1+json');
    const out = join(dir, 'local-out');
    const { meta } = await build(['--root', freshRoot(), '--cache-from', `type=local,src=${cacheDir}`, '-o', `type=local,dest=${out}`]);
    expect(meta['tsbuild.cache']).to.include({ steps: 7, cached: 7, remote: 7 });
    expect(meta['tsbuild.transfer'].blobBytesDown).to.be.lessThan(200_000);
    expect(await readFile(join(out, 'app/copy.txt'), 'utf8')).to.equal('v1\n');
    // The changed file is named from the directory's files blob too.
    const changed = join(dir, 'ctx-changed-local');
    await run('cp', ['-a', ctx, changed]);
    await writeFile(join(changed, 'app.txt'), 'v3\n');
    const { r } = await build(['--root', freshRoot(), '--cache-from', `type=local,src=${cacheDir}`], changed);
    expect(r.stderr).to.contain('MISS files changed in context: app.txt (changed)');
    // A checkout under another umask: the same bytes, other permission bits, and the miss says so.
    const umask = join(dir, 'ctx-umask-local');
    await run('cp', ['-a', ctx, umask]);
    await chmod(join(umask, 'app.txt'), 0o600);
    const other = await build(['--root', freshRoot(), '--cache-from', `type=local,src=${cacheDir}`], umask);
    expect(other.r.stderr).to.contain('MISS files changed in context: app.txt (mode 0644 → 0600)');
    expect(other.r.stderr).to.contain("advice: COPY app.txt /app/app.txt missed only because files' permission bits differ (app.txt mode 0644 → 0600)");
  });

  it('does not use a local cache directory whose config was altered under its digest: warns, builds without it', async () => {
    // A cache directory is often restored from another run (actions/cache): what a blob's file holds is checked
    // against the name it is read by, as the registry client checks what a registry sends.
    const cacheDir = join(dir, 'cache-altered');
    await build(['--root', rootA(), '--cache-to', `type=local,dest=${cacheDir},mode=max`]);
    const index = JSON.parse(await readFile(join(cacheDir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(await readFile(join(cacheDir, 'blobs/sha256', index.manifests[0]?.digest.slice(7) ?? ''), 'utf8')) as { config: { digest: string } };
    const configFile = join(cacheDir, 'blobs/sha256', manifest.config.digest.slice(7));
    const config = await readFile(configFile, 'utf8');
    await writeFile(configFile, config.replace(/"/, ' "'));   // the same JSON, other bytes
    const { r, meta } = await build(['--root', freshRoot(), '--cache-from', `type=local,src=${cacheDir}`]);
    expect(r.stderr).to.contain(`cache ${cacheDir} not used: cache ${cacheDir}: blob ${manifest.config.digest} does not match its digest`);
    expect(meta['tsbuild.cache']).to.include({ remote: 0 });
  });

  it('gives an image rebuilt wholly from the cache the exporter\'s digest without SOURCE_DATE_EPOCH: history times come with the records', async () => {
    // BuildKit's testImportExportReproducibleIDs: its cache keeps each result's creation time (buildkit/createdat).
    // Here the cache config's records carry `created`; before, the importing runner stamped its own time.
    const cacheDir = join(dir, 'cache-times');
    const oci = (name: string): string => `type=oci,dest=${join(dir, name)},tar=false`;
    const first = await build(['--root', freshRoot(), '--provenance=false', '--cache-to', `type=local,dest=${cacheDir},mode=max`, '-o', oci('times-a')], ctx, {});
    await new Promise((resolve) => setTimeout(resolve, 1100));   // a later second: a stamped time would differ
    const second = await build(['--root', freshRoot(), '--provenance=false', '--cache-from', `type=local,src=${cacheDir}`, '-o', oci('times-b')], ctx, {});
    expect(second.meta['tsbuild.cache']).to.include({ steps: 7, cached: 7, remote: 7 });
    expect(second.meta['containerimage.digest']).to.equal(first.meta['containerimage.digest']);
  });

  it('round-trips an inline cache: the image config carries it and --cache-from IMAGE reads it', async () => {
    await build(['--root', rootA(), '-t', `${host}/app:inline`, '--push', '--cache-to', 'type=inline']);
    const config = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', '--config', '--raw', `docker://${host}/app:inline`])).stdout) as Record<string, unknown>;
    expect(config).to.have.property('tsbuild.cache.v1');
    const { meta } = await build(['--root', freshRoot(), '-t', `${host}/app:inline2`, '--push', '--cache-from', `${host}/app:inline`]);
    // Inline is min mode: the build stage is keyed, never run (see mode=min above).
    expect(meta['tsbuild.cache']).to.include({ steps: 5, cached: 5, missed: 0, remote: 5 });
  });

  it('builds without the cache, saying so, when the --cache-from reference does not exist yet', async () => {
    const { r, meta } = await build(['--root', freshRoot(), '-t', `${host}/app:5`, '--push', '--cache-from', `type=registry,ref=${host}/cache:nothing-yet`]);
    expect(r.stderr).to.contain(`cache ${host}/cache:nothing-yet not used`);
    expect(meta['tsbuild.cache'].remote).to.equal(0);
  });

  async function unpack(ref: string, name: string): Promise<string> {
    const oci = join(dir, `oci-${name}`);
    const bundle = join(dir, `bundle-${name}`);
    expect((await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${oci}:x`])).code).to.equal(0);
    const r = await run('umoci', ['unpack', '--image', `${oci}:x`, bundle]);
    expect(r.code, r.stderr).to.equal(0);
    return join(bundle, 'rootfs');
  }
});
