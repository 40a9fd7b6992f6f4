import { expect } from 'chai';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, runBytes, TSBUILD } from '../fixtures/tsbuild-cli.js';

// The OCI tarball (-o type=oci / type=docker) as builder/outputs/oci-layout.ts writes it, entry by entry through reused
// buffers: byte for byte what tar-stream (the library that wrote it before) packs for the same entries, to a file and to
// stdout, with a layer of several MiB from the content store and the base's layer, and read by skopeo.

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
    const built = await run(TSBUILD, ['build', '--root', root, '--progress', 'plain', '--provenance=false', '-o', `type=oci,dest=${file}`, ctx]);
    expect(built.code, built.stderr).to.equal(0);
    const bytes = await readFile(file);
    const list = await entries(bytes);
    expect(list.map((e) => e.name).slice(0, 1)).to.deep.equal(['oci-layout']);
    expect(list.at(-1)?.name).to.equal('index.json');
    expect(Math.max(...list.map((e) => e.body.length))).to.be.greaterThan(5_000_000);
    expect(bytes.equals(await repacked(list)), 'the same bytes as tar-stream').to.equal(true);

    const piped = await runBytes(TSBUILD, ['build', '--root', root, '--progress', 'plain', '--provenance=false', '-o', 'type=oci,dest=-', ctx]);
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
});
