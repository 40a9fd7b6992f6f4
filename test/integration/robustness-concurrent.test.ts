import { expect } from 'chai';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTsbuild, storeProblems, treeOf, waitFor } from '../fixtures/crash-points.js';
import type { RunningRegistry } from '../fixtures/registry-server.js';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// Two tsbuild processes on one --root at once: both builds are right, nothing is written twice or lost, and a prune
// in the middle of a build never takes what that build stands on.

interface Metadata { 'containerimage.digest': string; 'tsbuild.cache': { steps: number; cached: number; missed: number } }

describe('robustness: concurrent builds on one root', function () {
  this.timeout(300_000);
  let env: BuildEnv | undefined;
  let registry: RunningRegistry;
  let dir: string;
  let ctx: string;
  let base: string;

  before(async () => {
    env = await startBuildEnv('tsbuild-robust-conc-');
    ({ registry, base, dir } = env);
    ctx = join(dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'app.txt'), 'the app\n');
    const shared = [`FROM ${base}`, 'COPY app.txt /app/app.txt', 'RUN echo built > /app/built && sleep 2'];
    await writeFile(join(dir, 'one.Dockerfile'), [...shared, 'RUN echo one > /app/one', ''].join('\n'));
    await writeFile(join(dir, 'two.Dockerfile'), [...shared, 'RUN echo two > /app/two && sleep 1', 'COPY app.txt /app/again.txt', ''].join('\n'));
  });
  after(async () => {
    await env?.stop();
  });

  const build = (root: string, file: string, out: string, meta: string, extra: string[] = []) =>
    startTsbuild(['build', '--root', root, '--progress', 'plain', '-f', join(dir, file), '-o', `type=local,dest=${out}`, '--metadata-file', meta, ...extra, ctx]);

  const cacheOf = async (meta: string): Promise<Metadata['tsbuild.cache']> => (JSON.parse(await readFile(meta, 'utf8')) as Metadata)['tsbuild.cache'];

  it('builds the same Dockerfile twice at once on one root, both right, and a third build is fully cached', async () => {
    const root = join(dir, 'root-same');
    const a = build(root, 'one.Dockerfile', join(dir, 'same-a'), join(dir, 'same-a.json'));
    const b = build(root, 'one.Dockerfile', join(dir, 'same-b'), join(dir, 'same-b.json'));
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).to.equal(0);
    expect(rb.code, rb.stderr).to.equal(0);
    expect(await readFile(join(dir, 'same-a', 'app/one'), 'utf8')).to.equal('one\n');
    expect(await readFile(join(dir, 'same-a', 'app/built'), 'utf8')).to.equal('built\n');
    expect(await treeOf(join(dir, 'same-b'))).to.deep.equal(await treeOf(join(dir, 'same-a')));

    const third = await build(root, 'one.Dockerfile', join(dir, 'same-c'), join(dir, 'same-c.json')).done;
    expect(third.code, third.stderr).to.equal(0);
    const cache = await cacheOf(join(dir, 'same-c.json'));
    expect(cache.missed, third.stderr).to.equal(0);
    expect(await storeProblems(root)).to.deep.equal([]);
    const du = await tsbuild(['du', '--root', root]);
    expect(du.code, du.stderr).to.equal(0);
    // buildx's table: a header, one row per record (none held by a build now), then the summary.
    expect(du.stdout).to.match(/^ID\t+RECLAIMABLE\tSIZE\t+LAST ACCESSED\n[0-9a-f]{25} +\ttrue /);
    expect(du.stdout).to.match(/\nReclaimable:\t+\S+\nTotal:\t+\S+\n$/);
  });

  it('builds two Dockerfiles sharing a base and steps at once, each image right, and both then fully cached', async () => {
    const root = join(dir, 'root-two');
    const a = build(root, 'one.Dockerfile', join(dir, 'two-a'), join(dir, 'two-a.json'));
    const b = build(root, 'two.Dockerfile', join(dir, 'two-b'), join(dir, 'two-b.json'));
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).to.equal(0);
    expect(rb.code, rb.stderr).to.equal(0);
    expect(await readFile(join(dir, 'two-a', 'app/one'), 'utf8')).to.equal('one\n');
    expect(await readFile(join(dir, 'two-b', 'app/two'), 'utf8')).to.equal('two\n');
    expect(await readFile(join(dir, 'two-b', 'app/again.txt'), 'utf8')).to.equal('the app\n');
    const treeA = await treeOf(join(dir, 'two-a'));
    const treeB = await treeOf(join(dir, 'two-b'));
    expect(treeA['app/built']).to.equal(treeB['app/built']);
    expect(treeA['bin/busybox']).to.equal(treeB['bin/busybox']);

    for (const [file, name] of [['one.Dockerfile', 'two-a2'], ['two.Dockerfile', 'two-b2']] as const) {
      const again = await build(root, file, join(dir, name), join(dir, `${name}.json`)).done;
      expect(again.code, again.stderr).to.equal(0);
      expect((await cacheOf(join(dir, `${name}.json`))).missed, again.stderr).to.equal(0);
    }
    expect(await storeProblems(root)).to.deep.equal([]);
  });

  it('keeps what a running build holds when prune --all runs beside it, so the pushed image is complete', async () => {
    const root = join(dir, 'root-prune');
    // Something old for prune to take: a finished build of another Dockerfile.
    const old = await build(root, 'two.Dockerfile', join(dir, 'prune-old'), join(dir, 'prune-old.json')).done;
    expect(old.code, old.stderr).to.equal(0);
    await writeFile(join(dir, 'prune.Dockerfile'), [`FROM ${base}`, 'COPY app.txt /app/app.txt', 'RUN echo marker-prune-step > /app/p && sleep 4', ''].join('\n'));
    const ref = `${registry.host}/pruned:1`;
    const running = build(root, 'prune.Dockerfile', join(dir, 'prune-out'), join(dir, 'prune.json'), ['-t', ref, '--push']);
    await waitFor('the RUN step to start', () => running.output().includes('marker-prune-step'), 120_000);
    const prune = await tsbuild(['prune', '--all', '--root', root]);
    expect(prune.code, prune.stderr).to.equal(0);
    const result = await running.done;
    expect(result.code, result.stderr).to.equal(0);
    expect(await readFile(join(dir, 'prune-out', 'app/p'), 'utf8')).to.equal('marker-prune-step\n');

    // The pushed image is whole: skopeo copies every blob (verifying digests) and umoci unpacks it.
    const oci = join(dir, 'prune-oci');
    const copy = await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${oci}:img`]);
    expect(copy.code, copy.stderr).to.equal(0);
    const unpack = await run('umoci', ['unpack', '--image', `${oci}:img`, join(dir, 'prune-bundle')]);
    expect(unpack.code, unpack.stderr).to.equal(0);
    expect(await readFile(join(dir, 'prune-bundle', 'rootfs/app/p'), 'utf8')).to.equal('marker-prune-step\n');
    expect(await readFile(join(dir, 'prune-bundle', 'rootfs/app/app.txt'), 'utf8')).to.equal('the app\n');
    expect(await storeProblems(root)).to.deep.equal([]);

    // With no build running, prune takes everything and what remains is still consistent.
    const all = await tsbuild(['prune', '--all', '--root', root]);
    expect(all.code, all.stderr).to.equal(0);
    expect(await storeProblems(root)).to.deep.equal([]);
    const du = await tsbuild(['du', '--root', root]);
    expect(du.stdout).to.equal('Reclaimable:\t0B\nTotal:\t\t0B\n');
    const rebuilt = await build(root, 'prune.Dockerfile', join(dir, 'prune-again'), join(dir, 'prune-again.json')).done;
    expect(rebuilt.code, rebuilt.stderr).to.equal(0);
    expect(await readFile(join(dir, 'prune-again', 'app/p'), 'utf8')).to.equal('marker-prune-step\n');
  });
});
