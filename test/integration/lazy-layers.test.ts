import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// Lazy layer blobs (issue 15): a step's layer is hashed and recorded on its snapshot, never written as a tar; its
// bytes are made from the snapshot when an output, a push or a cache export needs them. Real CLI, real registry,
// skopeo and umoci as the independent checks.

describe('lazy layer blobs', function () {
  this.timeout(240_000);
  let env: BuildEnv | undefined;
  let dir: string;
  let ctx: string;
  let host: string;
  const epoch = { SOURCE_DATE_EPOCH: '1700000000' };

  before(async () => {
    env = await startBuildEnv('tsbuild-lazy-');
    dir = env.dir;
    host = env.registry.host;
    ctx = join(dir, 'ctx');
    await mkdir(join(ctx, 'src'), { recursive: true });
    for (let i = 0; i < 20; i++) await writeFile(join(ctx, 'src', `f${i}.txt`), `file ${i}\n`.repeat(1000 + i));
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${host}/busybox:latest\nCOPY src/ /app/\nRUN echo built > /app/run.txt\n`);
  });
  after(async () => { await env?.stop(); });

  const blobs = async (root: string): Promise<string[]> => (await readdir(join(root, 'content', 'blobs', 'sha256'))).map((h) => `sha256:${h}`);
  /** The image's config and its layers' digests, from an OCI archive. */
  const archiveImage = async (tarball: string) => {
    const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci-archive:${tarball}`])).stdout) as { manifests: { digest: string }[] };
    const oci = join(dir, `unpacked-${createHash('sha256').update(tarball).digest('hex').slice(0, 8)}`);
    expect((await run('tar', ['-xf', tarball, '-C', (await mkdir(oci, { recursive: true }), oci)])).code).to.equal(0);
    const blob = (d: string) => readFile(join(oci, 'blobs', 'sha256', d.slice(7)));
    const manifest = JSON.parse((await blob(raw.manifests[0]?.digest ?? '')).toString()) as { config: { digest: string }; layers: { digest: string }[] };
    const config = JSON.parse((await blob(manifest.config.digest)).toString()) as { rootfs: { diff_ids: string[] } };
    return { manifest, config, blob };
  };

  it('writes no layer tar into the store, and an OCI output holds only gzip layers that skopeo and umoci accept, with the same diffIds', async () => {
    const root = join(dir, 'root-out');
    const out = join(dir, 'image.tar');
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '-o', `type=oci,dest=${out}`, ctx], { env: epoch });
    expect(r.code, r.stderr).to.equal(0);
    const { manifest, config, blob } = await archiveImage(out);
    const own = config.rootfs.diff_ids.slice(-2);   // COPY and RUN
    const stored = await blobs(root);
    for (const diffId of own) expect(stored, `the uncompressed tar ${diffId} was written`).to.not.include(diffId);
    // Each gzip layer's uncompressed bytes hash to the diffId the config lists (what the lazy record measured).
    for (const [i, layer] of manifest.layers.entries()) {
      expect(`sha256:${createHash('sha256').update(gunzipSync(await blob(layer.digest))).digest('hex')}`).to.equal(config.rootfs.diff_ids[i]);
    }
    const layout = join(dir, 'layout-out');
    expect((await run('skopeo', ['copy', '-q', `oci-archive:${out}`, `oci:${layout}:app`])).code).to.equal(0);
    const bundle = join(dir, 'bundle-out');
    const unpack = await run('umoci', ['unpack', '--image', `${layout}:app`, bundle]);
    expect(unpack.code, unpack.stderr).to.equal(0);
    expect(await readFile(join(bundle, 'rootfs/app/f3.txt'), 'utf8')).to.equal('file 3\n'.repeat(1003));
    expect(await readFile(join(bundle, 'rootfs/app/run.txt'), 'utf8')).to.equal('built\n');
  });

  it('gives the same image digest from a cached rebuild as from a second, cold root', async () => {
    const digest = async (root: string, out: string) => {
      const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '-o', `type=oci,dest=${out}`, ctx], { env: epoch });
      expect(r.code, r.stderr).to.equal(0);
      return JSON.parse((await run('skopeo', ['inspect', `oci-archive:${out}`])).stdout) as { Digest: string };
    };
    const a = await digest(join(dir, 'root-out'), join(dir, 'again.tar'));
    const b = await digest(join(dir, 'root-other'), join(dir, 'other.tar'));
    expect(b.Digest).to.equal(a.Digest);
  });

  it('pushes and cache-exports a no-output build\'s image from its snapshots, and skopeo reads it back', async () => {
    const root = join(dir, 'root-push');
    const cache = join(dir, 'cache');
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '--cache-to', `type=local,dest=${cache},mode=max`, ctx], { env: epoch });
    expect(r.code, r.stderr).to.equal(0);
    const cacheIndex = JSON.parse(await readFile(join(cache, 'index.json'), 'utf8')) as { manifests: unknown[] };
    expect(cacheIndex.manifests).to.have.length.greaterThan(0);
    const pushed = await tsbuild(['push', '--root', root, '--progress', 'plain', `${host}/lazy/app:1`]);
    expect(pushed.code, pushed.stderr).to.equal(0);
    const copy = join(dir, 'copied');
    expect((await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${host}/lazy/app:1`, `oci:${copy}:app`])).code).to.equal(0);
    const bundle = join(dir, 'bundle-push');
    const unpack = await run('umoci', ['unpack', '--image', `${copy}:app`, bundle]);
    expect(unpack.code, unpack.stderr).to.equal(0);
    expect(await readFile(join(bundle, 'rootfs/app/run.txt'), 'utf8')).to.equal('built\n');
    // A build from that cache in a fresh root takes every step from it.
    const fromCache = await tsbuild(['build', '--root', join(dir, 'root-from-cache'), '--progress', 'plain', '--cache-from', `type=local,src=${cache}`, ctx], { env: epoch });
    expect(fromCache.code, fromCache.stderr).to.equal(0);
    expect(fromCache.stderr).to.match(/CACHED/);
  });

  it('refuses to push a layer whose snapshot was changed after the build, naming the layer and the snapshot', async () => {
    const root = join(dir, 'root-tamper');
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', ctx], { env: epoch });
    expect(r.code, r.stderr).to.equal(0);
    // The COPY's snapshot: the one whose upper dir holds app/f3.txt.
    const snapshots = join(root, 'snapshots');
    let changed = false;
    for (const id of await readdir(snapshots)) {
      const file = join(snapshots, id, 'fs', 'app', 'f3.txt');
      if (await readFile(file).then(() => true, () => false)) { await writeFile(file, 'tampered\n'.padEnd(7003, 'x')); changed = true; }
    }
    expect(changed).to.equal(true);
    const pushed = await tsbuild(['push', '--root', root, '--progress', 'plain', `${host}/lazy/tampered:1`]);
    expect(pushed.code).to.not.equal(0);
    expect(pushed.stderr).to.match(/layer sha256:[0-9a-f]{64}: snapshot layer-[0-9a-f-]+ no longer gives the layer it was committed with/);
    expect(pushed.stderr).to.match(/hint: .*prune/);
    expect(pushed.stderr).to.not.match(/\n\s+at /);   // no stack trace
    expect((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${host}/lazy/tampered:1`])).code).to.not.equal(0);
  });

  it('after a prune, a push of the no-output image says the layer is gone and to build again', async () => {
    const root = join(dir, 'root-prune');
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', ctx], { env: epoch });
    expect(r.code, r.stderr).to.equal(0);
    const pruned = await tsbuild(['prune', '--root', root, '--all']);
    expect(pruned.code, pruned.stderr).to.equal(0);
    const pushed = await tsbuild(['push', '--root', root, '--progress', 'plain', `${host}/lazy/pruned:1`]);
    expect(pushed.code).to.not.equal(0);
    expect(pushed.stderr).to.match(/sha256:[0-9a-f]{64} is not in the content store, and no snapshot holds it any more/);
    expect(pushed.stderr).to.match(/hint: .*build the image again/);
    expect(pushed.stderr).to.not.match(/\n\s+at /);
  });
});
