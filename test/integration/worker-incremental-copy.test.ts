import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { chmod, link, mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { MediaType, sha256 } from '../../registry/oci/index.js';
import type { CopyOp } from '../../frontend/index.js';
import type { ContextSource, FsState, ProgressSink } from '../../solver/index.js';
import { LinuxWorker, withMountedSnapshot } from '../../worker/index.js';

// COPY from a context is incremental (worker/linux-worker.ts copy(), fsattr op I): a rebuild after an edit links the
// unchanged files from the previous result. Whatever it links, the layer must be the one a cold copy on a fresh root
// makes, and the previous result must stay as it was.

const signal = new AbortController().signal;
const OP: CopyOp = { kind: 'copy', mode: 'copy', from: { kind: 'context' }, sources: ['.'], dest: '/repo/', link: false, parents: false, exclude: [] };

const BASE_DIRS = new Set(['repo/', 'repo/real/']);
type EntryHeader = Parameters<ReturnType<typeof tar.pack>['entry']>[0];
type Entry = { name: string; type: string; mode: number; uid: number; gid: number; mtime: number; linkname: string; pax: string; body: string };

async function baseLayer(extra: (add: (h: EntryHeader, body?: Buffer) => Promise<void>) => Promise<void>): Promise<Buffer> {
  const pack = tar.pack();
  const out = (async () => { const c: Buffer[] = []; for await (const b of pack) c.push(Buffer.from(b as Uint8Array)); return Buffer.concat(c); })();
  const add = (header: EntryHeader, body: Buffer = Buffer.alloc(0)) =>
    new Promise<void>((resolve, reject) => pack.entry(header, body, (err) => (err ? reject(err) : resolve())));
  const mtime = new Date(1_600_000_000_000);
  await add({ name: 'bin/', type: 'directory', mode: 0o755, mtime });
  await add({ name: 'bin/busybox', type: 'file', mode: 0o755, mtime }, await readFile('/bin/busybox'));
  await add({ name: 'repo/', type: 'directory', mode: 0o750, uid: 7, gid: 8, mtime });
  await add({ name: 'repo/from-base.txt', type: 'file', mode: 0o600, mtime }, Buffer.from('base\n'));
  await extra(add);
  pack.finalize();
  return out;
}

/** The entries of a layer (gzip: a blob from the store; plain: Snapshotter.diff). */
async function entries(blob: Readable, isGzip = true): Promise<Entry[]> {
  const extract = tar.extract();
  const list: Entry[] = [];
  const done = isGzip ? pipeline(blob, createGunzip(), extract as unknown as NodeJS.WritableStream) : pipeline(blob, extract as unknown as NodeJS.WritableStream);
  for await (const e of extract) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    const h = e.header;
    list.push({
      name: h.name, type: h.type ?? '', mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0,
      // Directories of the base the copy writes into: overlay copies them up when the copy first writes into one, and
      // they keep the time of that build (as in any build); the rest keep the source's mtimes.
      mtime: BASE_DIRS.has(h.name) ? 0 : h.mtime?.getTime() ?? 0,
      linkname: h.linkname ?? '', pax: JSON.stringify(h.pax ?? {}), body: createHash('sha256').update(Buffer.concat(chunks)).digest('hex'),
    });
  }
  await done;
  return list;
}

describe('incremental COPY from a context (hard links from the previous result)', function () {
  this.timeout(60_000);
  let dir: string;
  const workers: LinuxWorker[] = [];

  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-diffcopy-')); });
  afterEach(async () => {
    for (const w of workers.splice(0)) w.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function openWorker(name: string, extra: Parameters<typeof baseLayer>[0] = async () => undefined): Promise<{ worker: LinuxWorker; base: FsState }> {
    const worker = await LinuxWorker.open({ root: join(dir, name) });
    workers.push(worker);
    const plain = await baseLayer(extra);
    const layer = await worker.store.put(gzipSync(plain), MediaType.ociLayerGzip);
    return { worker, base: await worker.unpack([{ descriptor: layer, diffId: sha256(plain) }], signal, { log: () => undefined, status: () => undefined }) };
  }

  async function copy(worker: LinuxWorker, base: FsState, context: string): Promise<{ fs: FsState; status: string[]; entries: Entry[] }> {
    const status: string[] = [];
    const progress: ProgressSink = { log: () => undefined, status: (text) => { status.push(text); } };
    const source: ContextSource = { kind: 'context', dir: context, excludes: [] };
    const fs = await worker.copy(OP, base, source, signal, progress);
    const top = fs.layers.at(-1);
    if (top === undefined) throw new Error('no layer');
    return { fs, status, entries: await entries(await worker.store.read(top.descriptor.digest), false) };
  }

  async function writeContext(ctx: string): Promise<void> {
    await mkdir(join(ctx, 'src/deep'), { recursive: true });
    await writeFile(join(ctx, 'a.txt'), 'a\n');
    await writeFile(join(ctx, 'src/edit.txt'), 'before\n');
    await writeFile(join(ctx, 'src/gone.txt'), 'gone\n');
    await writeFile(join(ctx, 'src/deep/keep.txt'), 'keep\n');
    await writeFile(join(ctx, 'src/run.sh'), '#!/bin/sh\n');
    await chmod(join(ctx, 'src/run.sh'), 0o755);
    await writeFile(join(ctx, 'src/first'), 'linked pair\n');
    await link(join(ctx, 'src/first'), join(ctx, 'src/second'));
    await symlink('deep/keep.txt', join(ctx, 'src/link'));
    await writeFile(join(ctx, 'from-base.txt'), 'context\n');
    await writeFile(join(ctx, 'becomes-dir'), 'file\n');
  }

  it('links the unchanged files and makes the layer a cold copy on a fresh root makes; the previous result stays as it was', async () => {
    const ctx = join(dir, 'ctx');
    await writeContext(ctx);
    const { worker, base } = await openWorker('root');
    const first = await copy(worker, base, ctx);
    expect(first.status.at(-1)).to.match(/^copied \d+ files$/);

    await writeFile(join(ctx, 'src/edit.txt'), 'after, longer\n');
    await unlink(join(ctx, 'src/gone.txt'));
    await writeFile(join(ctx, 'src/new.txt'), 'new\n');
    await unlink(join(ctx, 'becomes-dir'));
    await mkdir(join(ctx, 'becomes-dir'));
    await writeFile(join(ctx, 'becomes-dir/inside'), 'inside\n');
    const second = await copy(worker, base, ctx);
    expect(second.status.at(-1)).to.match(/linked from the previous result$/);
    const linked = Number(/(\d+) linked/.exec(second.status.at(-1) ?? '')?.[1]);
    expect(linked).to.be.at.least(2);   // a.txt, src/deep/keep.txt, src/run.sh (from-base.txt replaces a base file: copied)

    const { worker: fresh, base: freshBase } = await openWorker('fresh');
    const cold = await copy(fresh, freshBase, ctx);
    expect(cold.status.at(-1)).to.match(/^copied \d+ files$/);
    expect(second.entries).to.deep.equal(cold.entries);
    expect(second.entries.map((e) => e.name)).to.include.members(['repo/src/new.txt', 'repo/becomes-dir/inside']).and.not.include('repo/src/gone.txt');
    // The context's hard-link pair is one link group inside this layer; links to the previous result never show.
    expect(second.entries.filter((e) => e.type === 'link').map((e) => [e.name, e.linkname])).to.deep.equal([['repo/src/second', 'repo/src/first']]);

    // The previous result: same layer when diffed again, same files when mounted.
    const again = await entries(await worker.snapshotter.diff(first.fs.snapshot ?? ''), false);
    expect(again).to.deep.equal(first.entries);
    await withMountedSnapshot(worker.snapshotter, first.fs.snapshot ?? '', async (root) => {
      expect(await readFile(join(root, 'repo/src/edit.txt'), 'utf8')).to.equal('before\n');
      expect(await readFile(join(root, 'repo/src/gone.txt'), 'utf8')).to.equal('gone\n');
      expect(await readFile(join(root, 'repo/becomes-dir'), 'utf8')).to.equal('file\n');
    });
  });

  it('keeps no record of a copy that wrote through a symlink of the image, and copies everything the next time', async () => {
    const ctx = join(dir, 'ctx');
    await mkdir(join(ctx, 'via'), { recursive: true });
    await writeFile(join(ctx, 'via/x.txt'), 'x\n');
    await writeFile(join(ctx, 'y.txt'), 'y\n');
    await writeFile(join(ctx, 'z.txt'), 'unchanged: would be linked if the first copy had left a record\n');
    const viaLink = async (add: (h: EntryHeader, body?: Buffer) => Promise<void>) => {
      await add({ name: 'repo/real/', type: 'directory', mode: 0o755, mtime: new Date(1_600_000_000_000) });
      await add({ name: 'repo/via', type: 'symlink', linkname: 'real', mode: 0o777, mtime: new Date(1_600_000_000_000) });
    };
    const { worker, base } = await openWorker('root', viaLink);
    await copy(worker, base, ctx);
    await writeFile(join(ctx, 'y.txt'), 'y2\n');
    const second = await copy(worker, base, ctx);
    expect(second.status.at(-1)).to.match(/^copied \d+ files$/);
    const { worker: fresh, base: freshBase } = await openWorker('fresh', viaLink);
    expect(second.entries).to.deep.equal((await copy(fresh, freshBase, ctx)).entries);
    expect(second.entries.map((e) => e.name)).to.include('repo/real/x.txt');
  });

  it('stays inside the root when the context swaps files, directories and symlinks between builds', async () => {
    const ctx = join(dir, 'ctx');
    const outside = join(dir, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'marker'), 'host\n');
    await mkdir(join(ctx, 'd'), { recursive: true });
    await writeFile(join(ctx, 'd/f.txt'), 'f\n');
    await writeFile(join(ctx, 'swap'), 'file\n');
    await writeFile(join(ctx, 'stay.txt'), 'stay\n');
    const { worker, base } = await openWorker('root');
    await copy(worker, base, ctx);
    // A file becomes a symlink out of the context, a directory becomes a symlink to the host, a symlink-free path
    // stays: the links taken from the previous result are only ever regular files at their own paths.
    await unlink(join(ctx, 'swap'));
    await symlink(outside, join(ctx, 'swap'));
    await rm(join(ctx, 'd'), { recursive: true });
    await symlink('/', join(ctx, 'd'));
    const second = await copy(worker, base, ctx);
    const { worker: fresh, base: freshBase } = await openWorker('fresh');
    expect(second.entries).to.deep.equal((await copy(fresh, freshBase, ctx)).entries);
    expect(second.entries.filter((e) => e.type === 'symlink').map((e) => [e.name, e.linkname])).to.deep.equal([['repo/d', '/'], ['repo/swap', outside]]);
    expect(await readFile(join(outside, 'marker'), 'utf8')).to.equal('host\n');
  });
});
