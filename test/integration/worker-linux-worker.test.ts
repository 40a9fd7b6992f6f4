import { expect } from 'chai';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { MediaType, sha256 } from '../../registry/oci/index.js';
import type { ImageConfig, ImageManifest } from '../../registry/oci/index.js';
import type { CopyOp } from '../../frontend/index.js';
import type { FsState, LayerRef, ProgressSink } from '../../solver/index.js';
import { LinuxWorker, withMountedSnapshot } from '../../worker/index.js';

const progress: ProgressSink = { log: () => undefined, status: () => undefined };
const signal = new AbortController().signal;

/** What Worker.unpack takes: an image's layer blobs paired with its config's diff_ids. */
function layersOf(manifest: ImageManifest, config: ImageConfig): LayerRef[] {
  return manifest.layers.map((descriptor, i) => ({ descriptor, diffId: config.rootfs.diff_ids[i] ?? descriptor.digest }));
}

async function busyboxLayer(): Promise<Buffer> {
  const pack = tar.pack();
  const out = (async () => { const c: Buffer[] = []; for await (const b of pack) c.push(Buffer.from(b as Uint8Array)); return Buffer.concat(c); })();
  const add = (header: Parameters<typeof pack.entry>[0], body: Buffer = Buffer.alloc(0)) =>
    new Promise<void>((resolve, reject) => pack.entry(header, body, (err) => (err ? reject(err) : resolve())));
  const mtime = new Date(1_600_000_000_000);
  await add({ name: 'bin/', type: 'directory', mode: 0o755, mtime });
  await add({ name: 'bin/busybox', type: 'file', mode: 0o755, mtime }, await readFile('/bin/busybox'));
  await add({ name: 'bin/sh', type: 'symlink', linkname: 'busybox', mode: 0o777, mtime });
  await add({ name: 'etc/', type: 'directory', mode: 0o755, mtime });
  await add({ name: 'etc/passwd', type: 'file', mode: 0o644, mtime }, Buffer.from('root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n'));
  await add({ name: 'etc/group', type: 'file', mode: 0o644, mtime }, Buffer.from('root:x:0:\napp:x:1000:\nstaff:x:50:\n'));
  pack.finalize();
  return out;
}

// Mount points are <root>/tmp/mnt-<pid>-… (worker/temp-dirs.ts): only this process's count, so another build on the
// machine cannot make the check fail.
async function mountRows(): Promise<number> {
  return (await readFile('/proc/self/mounts', 'utf8')).split('\n').filter((l) => l.includes(`/tmp/mnt-${process.pid}-`)).length;
}

async function tarNames(blob: Readable): Promise<string[]> {
  const extract = tar.extract();
  const names: string[] = [];
  const done = pipeline(blob, extract as unknown as NodeJS.WritableStream);
  for await (const e of extract) { names.push(e.header.name); e.resume(); }
  await done;
  return names;
}

describe('LinuxWorker', () => {
  let root: string;
  let worker: LinuxWorker;
  let image: { manifest: ImageManifest; config: ImageConfig };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-worker-'));
    worker = await LinuxWorker.open({ root, sourceDateEpoch: 1_700_000_000 });
    const plain = await busyboxLayer();
    const layer = await worker.store.put(gzipSync(plain), MediaType.ociLayerGzip);
    const config: ImageConfig = { os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [sha256(plain)] } };
    const configDesc = await worker.store.put(Buffer.from(JSON.stringify(config)), MediaType.ociConfig);
    image = { config, manifest: { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: [layer] } };
  });
  afterEach(async () => {
    worker.close();
    expect(await mountRows()).to.equal(0);
    await rm(root, { recursive: true, force: true });
  });

  it('unpacks an image into a chain snapshot and reuses it on a second unpack', async () => {
    const fs = await worker.unpack(layersOf(image.manifest, image.config), signal, progress);
    expect(fs.snapshot).to.equal(image.config.rootfs.diff_ids[0]);
    expect(fs.layers).to.deep.equal([{ descriptor: image.manifest.layers[0], diffId: image.config.rootfs.diff_ids[0] }]);
    const before = worker.snapshotter.list();
    const again = await worker.unpack(layersOf(image.manifest, image.config), signal, progress);
    expect(again).to.deep.equal(fs);
    expect(worker.snapshotter.list()).to.deep.equal(before);
    await withMountedSnapshot(worker.snapshotter, fs.snapshot as string, async (dir) => {
      expect((await stat(join(dir, 'bin', 'busybox'))).mode & 0o777).to.equal(0o755);
    });
  });

  it('refuses a layer whose content does not match the config diff_id', async () => {
    const config: ImageConfig = { ...image.config, rootfs: { type: 'layers', diff_ids: [sha256('something else')] } };
    const err = await worker.unpack(layersOf(image.manifest, config), signal, progress).then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'INVALID_LAYER');
    expect(worker.snapshotter.list()).to.deep.equal([]);
  });

  it('creates a WORKDIR owned by the named user as a new layer', async () => {
    const base = await worker.unpack(layersOf(image.manifest, image.config), signal, progress);
    const fs = await worker.mkdir({ kind: 'mkdir', path: '/home/app/data', user: 'app:staff' }, base, signal);
    expect(fs.layers).to.have.length(2);
    const layer = fs.layers[1];
    // A step's layer stays a plain tar in the store (its digest is its diffId); it is gzipped when it leaves the build.
    expect(layer?.descriptor.mediaType).to.equal(MediaType.ociLayerTar);
    expect(layer?.descriptor.digest).to.equal(layer?.diffId);
    expect(await tarNames(await worker.store.read(layer?.descriptor.digest ?? 'sha256:'))).to.deep.equal(['home/', 'home/app/', 'home/app/data/']);
    await withMountedSnapshot(worker.snapshotter, fs.snapshot as string, async (dir) => {
      const st = await stat(join(dir, 'home', 'app', 'data'));
      expect([st.uid, st.gid]).to.deep.equal([1000, 50]);
      expect(st.isDirectory()).to.equal(true);
    });
  });

  it('writes the same layer for the same WORKDIR twice', async () => {
    const base = await worker.unpack(layersOf(image.manifest, image.config), signal, progress);
    const a = await worker.mkdir({ kind: 'mkdir', path: '/srv', user: '' }, base, signal);
    const b = await worker.mkdir({ kind: 'mkdir', path: '/srv', user: '' }, base, signal);
    expect(b.layers[1]).to.deep.equal(a.layers[1]);
    expect(b.snapshot).to.not.equal(a.snapshot);
  });

  it('adds an empty layer for a WORKDIR that already exists, as BuildKit\'s Mkdir snapshot gives one', async () => {
    const base = await worker.unpack(layersOf(image.manifest, image.config), signal, progress);
    const fs: FsState = await worker.mkdir({ kind: 'mkdir', path: '/bin', user: '' }, base, signal);
    expect(fs.layers.slice(0, -1)).to.deep.equal(base.layers);
    expect(fs.layers.at(-1)?.diffId).to.equal('sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef');
    expect(fs.snapshot).to.not.equal(base.snapshot);
  });

  it('creates a WORKDIR on an empty scratch filesystem', async () => {
    const fs = await worker.mkdir({ kind: 'mkdir', path: '/app', user: '1234' }, { snapshot: null, layers: [] }, signal);
    expect(fs.layers).to.have.length(1);
    await withMountedSnapshot(worker.snapshotter, fs.snapshot as string, async (dir) => {
      expect((await stat(join(dir, 'app'))).uid).to.equal(1234);
    });
  });

  it('leaves no active snapshot and no mount behind when a step fails', async () => {
    const base = await worker.unpack(layersOf(image.manifest, image.config), signal, progress);
    const err = await worker.mkdir({ kind: 'mkdir', path: '/bin/busybox/sub', user: '' }, base, signal).then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'INVALID_ARGUMENT');
    expect(worker.snapshotter.list().map((s) => s.kind)).to.deep.equal(['committed']);
    expect(await mountRows()).to.equal(0);
  });

  it('keeps a committed snapshot\'s content digest by snapshot and selection: a second ask mounts and reads nothing', async () => {
    const base = await worker.unpack(layersOf(image.manifest, image.config), signal, progress);
    const fs = await worker.mkdir({ kind: 'mkdir', path: '/opt/tool', user: 'app' }, base, signal);
    const op: CopyOp = { kind: 'copy', mode: 'copy', from: { kind: 'vertex', id: 'stage-0' }, sources: ['opt'], dest: '/x', link: false, parents: false, exclude: [] };
    const first = await worker.contentDigest({ kind: 'fs', fs }, op, signal);
    // Changing the committed files behind the snapshotter's back (never done for real) shows the second answer
    // comes from the cache, not from a new mount and walk.
    const [upper] = worker.snapshotter.lowerDirs(fs.snapshot as string);
    await writeFile(join(upper as string, 'opt', 'tool', 'new'), 'x');
    expect(await worker.contentDigest({ kind: 'fs', fs }, op, signal)).to.deep.equal(first);
    expect((await worker.contentDigest({ kind: 'fs', fs }, { ...op, sources: ['opt/tool'] }, signal)).digest).to.not.equal(first.digest);
  });

  it('feeds a layer it wrote back through unpack to the same snapshot contents', async () => {
    const base = await worker.unpack(layersOf(image.manifest, image.config), signal, progress);
    const fs = await worker.mkdir({ kind: 'mkdir', path: '/opt/tool', user: 'app' }, base, signal);
    const manifest: ImageManifest = { ...image.manifest, layers: fs.layers.map((l) => l.descriptor) };
    const config: ImageConfig = { ...image.config, rootfs: { type: 'layers', diff_ids: fs.layers.map((l) => l.diffId) } };
    const unpacked = await worker.unpack(layersOf(manifest, config), signal, progress);
    await withMountedSnapshot(worker.snapshotter, unpacked.snapshot as string, async (dir) => {
      expect((await stat(join(dir, 'opt', 'tool'))).uid).to.equal(1000);
      expect((await stat(join(dir, 'bin', 'busybox'))).size).to.equal((await stat('/bin/busybox')).size);
    });
  });
});
