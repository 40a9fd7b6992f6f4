import { expect } from 'chai';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, runBytes, TSBUILD } from '../fixtures/tsbuild-cli.js';

// The OCI tarball (-o type=oci / type=docker) as builder/outputs/oci-layout.ts writes it: byte for byte what tar-stream
// (the library that wrote it before) packs for the same entries, to a file (headers at their offsets, the store's blobs
// copied by the kernel) and to stdout (entry by entry through reused buffers), with a layer of several MiB from the
// content store and the base's layer, and read by skopeo. A rebuild into the same file replaces it (an exchange) with
// nothing left beside it; one that does not fit fails by its flag and keeps the previous tarball.

/** The entries of a tar, in order, read with tar-stream. */
async function entries(bytes: Buffer): Promise<{ name: string; body: Buffer }[]> {
  const out: { name: string; body: Buffer }[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: unknown) => parts.push(c as Buffer));
    stream.on('end', () => { out.push({ name: header.name, body: Buffer.concat(parts) }); next(); });
  });
  await new Promise<void>((res, rej) => { extract.on('finish', res); extract.on('error', rej); Readable.from([bytes]).pipe(extract); });
  return out;
}

/** Those entries packed again by tar-stream with the header fields the writer gives every entry. */
async function repacked(list: { name: string; body: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  pack.on('data', (c: unknown) => parts.push(c as Buffer));
  const ended = new Promise<void>((res) => pack.on('end', res));
  for (const e of list) pack.entry({ name: e.name, size: e.body.length, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, e.body);
  pack.finalize();
  await ended;
  return Buffer.concat(parts);
}

describe('OCI and docker tarballs', function () {
  this.timeout(180_000);
  let env: BuildEnv | undefined;
  let ctx: string;
  let root: string;

  before(async () => {
    env = await startBuildEnv('tsbuild-oci-tarball-');
    ctx = join(env.dir, 'ctx');
    root = join(env.dir, 'root');
    await mkdir(ctx);
    // 5 MiB of random bytes: the layer's gzip is as big, read in several of the writer's 1 MiB chunks.
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nRUN head -c 5242880 /dev/urandom > /big && echo ok > /small\n`);
  });
  after(async () => {
    await env?.stop();
  });

  it('writes to a file and to stdout the bytes tar-stream packs for the same entries, which skopeo reads', async () => {
    const file = join(env!.dir, 'image.tar');
    // Without SOURCE_DATE_EPOCH index.json's org.opencontainers.image.created is the export's time, as BuildKit
    // stamps it, and the two builds below may fall on either side of a second.
    const epoch = ['--build-arg', 'SOURCE_DATE_EPOCH=1700000000'];
    const built = await run(TSBUILD, ['build', '--root', root, '--progress', 'plain', '--provenance=false', ...epoch, '-o', `type=oci,dest=${file}`, ctx]);
    expect(built.code, built.stderr).to.equal(0);
    const bytes = await readFile(file);
    const list = await entries(bytes);
    expect(list.map((e) => e.name).slice(0, 1)).to.deep.equal(['oci-layout']);
    expect(list.at(-1)?.name).to.equal('index.json');
    expect(list.at(-1)?.body.toString()).to.contain('"org.opencontainers.image.created":"2023-11-14T22:13:20Z"');
    expect(Math.max(...list.map((e) => e.body.length))).to.be.greaterThan(5_000_000);
    expect(bytes.equals(await repacked(list)), 'the same bytes as tar-stream').to.equal(true);

    const piped = await runBytes(TSBUILD, ['build', '--root', root, '--progress', 'plain', '--provenance=false', ...epoch, '-o', 'type=oci,dest=-', ctx]);
    expect(piped.code, piped.stderr).to.equal(0);
    expect(piped.stdout.equals(bytes), 'stdout holds the same tarball').to.equal(true);

    const inspected = await run('skopeo', ['inspect', `oci-archive:${file}`]);
    expect(inspected.code, inspected.stderr).to.equal(0);
    expect((JSON.parse(inspected.stdout) as { Layers: string[] }).Layers).to.have.length(2);
  });

  it('writes a docker archive with manifest.json last that skopeo reads', async () => {
    const file = join(env!.dir, 'docker.tar');
    const built = await run(TSBUILD, ['build', '--root', root, '--progress', 'plain', '--provenance=false', '-o', `type=docker,dest=${file}`, '-t', 'oci-tarball/test:1', ctx]);
    expect(built.code, built.stderr).to.equal(0);
    const bytes = await readFile(file);
    const list = await entries(bytes);
    expect(list.at(-1)?.name).to.equal('manifest.json');
    expect(bytes.equals(await repacked(list))).to.equal(true);
    const inspected = await run('skopeo', ['inspect', `docker-archive:${file}`]);
    expect(inspected.code, inspected.stderr).to.equal(0);
  });

  it('replaces the tarball a rebuild writes to the same file, with every blob hashing to its name and nothing beside it', async () => {
    const dir = join(env!.dir, 'again');
    const ctx2 = join(dir, 'ctx');
    await mkdir(ctx2, { recursive: true });
    const file = join(dir, 'image.tar');
    let previous: Buffer | undefined;
    for (const marker of ['one', 'two']) {
      await writeFile(join(ctx2, 'Dockerfile'), `FROM ${env!.base}\nRUN head -c 3000000 /dev/urandom > /big && echo ${marker} > /marker\n`);
      const built = await run(TSBUILD, ['build', '--root', root, '--progress', 'plain', '--provenance=false', '-o', `type=oci,dest=${file}`, ctx2]);
      expect(built.code, built.stderr).to.equal(0);
      const bytes = await readFile(file);
      const blobs = (await entries(bytes)).filter((e) => e.name.startsWith('blobs/sha256/'));
      expect(blobs.length).to.be.greaterThan(3);
      for (const b of blobs) expect(createHash('sha256').update(b.body).digest('hex'), b.name).to.equal(b.name.slice('blobs/sha256/'.length));
      if (previous) expect(bytes.equals(previous)).to.equal(false);
      previous = bytes;
      // The old tarball is removed by a process of its own after the exchange: give it a moment.
      for (let i = 0; i < 100 && (await readdir(dir)).length > 2; i++) await new Promise((r) => setTimeout(r, 50));
      expect((await readdir(dir)).sort()).to.deep.equal(['ctx', 'image.tar']);
    }
  });

  it('keeps the previous tarball, and leaves nothing beside it, when the new one does not fit', async () => {
    // A 6 MB tmpfs: the small tarball fits, the next one (5 MB more of layer) does not beside it.
    const small = join(env!.dir, 'small');
    const ctx3 = join(env!.dir, 'ctx-small');
    await mkdir(small);
    await mkdir(ctx3);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', small]);
    try {
      const file = join(small, 'image.tar');
      const build = () => run(TSBUILD, ['build', '--root', root, '--progress', 'plain', '--provenance=false', '-o', `type=oci,dest=${file}`, ctx3]);
      await writeFile(join(ctx3, 'Dockerfile'), `FROM ${env!.base}\nRUN echo small > /marker\n`);
      const first = await build();
      expect(first.code, first.stderr).to.equal(0);
      const before = await readFile(file);
      await writeFile(join(ctx3, 'Dockerfile'), `FROM ${env!.base}\nRUN head -c 5000000 /dev/urandom > /big\n`);
      const r = await build();
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.contain(`-o type=oci,dest=${file}: writing failed: ENOSPC`);
      expect(r.stderr).to.not.contain('internal error');
      expect((await readFile(file)).equals(before)).to.equal(true);
      expect(await readdir(small)).to.deep.equal(['image.tar']);
    } finally {
      await run('umount', [small]);
    }
  });
});
