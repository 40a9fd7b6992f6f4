import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmod, chown, link, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import tar from 'tar-stream';
import { sha256 } from '../../registry/oci/index.js';
import { FileContentStore, OverlaySnapshotter, applyLayer, exportLayer, gzipLayer, withMountedSnapshot } from '../../worker/index.js';
import { referenceLayerGzip } from '../fixtures/pgzip-reference.js';

type TestEntry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device'; linkname?: string; content?: string; mode?: number; devmajor?: number; devminor?: number };

async function packTar(entries: TestEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const out = (async () => { const c: Buffer[] = []; for await (const b of pack) c.push(Buffer.from(b as Uint8Array)); return Buffer.concat(c); })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => pack.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.mode ?? 0o644, devmajor: e.devmajor, devminor: e.devminor }, Buffer.from(e.content ?? ''), (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  return out;
}

async function toBuffer(s: Readable): Promise<Buffer> {
  const c: Buffer[] = [];
  for await (const b of s) c.push(Buffer.from(b as Uint8Array));
  return Buffer.concat(c);
}

describe('layer diff and apply', () => {
  let root: string;
  let snap: OverlaySnapshotter;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-layers-'));
    snap = await OverlaySnapshotter.open(root);
  });
  afterEach(async () => {
    snap.close();
    await rm(root, { recursive: true, force: true });
  });

  async function layer(name: string, parent: string | undefined, fn: (dir: string) => Promise<void>): Promise<void> {
    await snap.prepare(`${name}-key`, parent);
    await withMountedSnapshot(snap, `${name}-key`, fn);
    await snap.commit(name, `${name}-key`);
  }

  async function applyAs(name: string, parent: string | undefined, data: Buffer): Promise<string> {
    await snap.prepare(`${name}-key`, parent);
    // Over the parent's dirs, as LinuxWorker unpacks: a whiteout is made only where a lower layer has the name.
    const { upperDir, lowerDirs } = snap.activeDirs(`${name}-key`);
    const { diffId } = await applyLayer(Readable.from([data]), upperDir, { lowerDirs });
    await snap.commit(name, `${name}-key`);
    return diffId;
  }

  async function richTree(): Promise<void> {
    await layer('base', undefined, async (d) => {
      await mkdir(join(d, 'etc'));
      await writeFile(join(d, 'etc', 'old'), 'old');
      await mkdir(join(d, 'var'));
      await writeFile(join(d, 'var', 'stale'), 'stale');
    });
    await layer('top', 'base', async (d) => {
      await unlink(join(d, 'etc', 'old'));
      await rm(join(d, 'var'), { recursive: true });
      await mkdir(join(d, 'var'));
      await writeFile(join(d, 'var', 'fresh'), 'fresh');
      await mkdir(join(d, 'bin'));
      await writeFile(join(d, 'bin', 'su'), Buffer.alloc(70000, 9));
      await chmod(join(d, 'bin', 'su'), 0o4755);
      await writeFile(join(d, 'etc', 'shadow'), 'secret');
      await chmod(join(d, 'etc', 'shadow'), 0o000);
      await writeFile(join(d, 'etc', 'owned'), 'mine');
      await chown(join(d, 'etc', 'owned'), 1000, 1001);
      await link(join(d, 'bin', 'su'), join(d, 'bin', 'su-hardlink'));
      await symlink('../bin/su', join(d, 'etc', 'su-link'));
      execFileSync('mkfifo', [join(d, 'etc', 'fifo')]);
      execFileSync('/usr/bin/python3', ['-c', `import os; os.setxattr(${JSON.stringify(join(d, 'etc', 'owned'))}, 'user.note', b'kept')`]);
      await writeFile(join(d, 'bin', 'ping'), 'ping');
      execFileSync('setcap', ['cap_net_raw=+ep', join(d, 'bin', 'ping')]);
      await utimes(join(d, 'var', 'fresh'), 1_000_000, 1_000_000);
    });
  }

  // A layer carries security.capability and no other xattr, as BuildKit's (containerd archive/tar.go HandleChange):
  // user.note stays in the snapshot. This asserted the opposite (user.note exported) until layers matched BuildKit.
  it('round-trips a tree with whiteouts, an opaque dir, setuid, hardlinks, symlinks, owners and a file capability byte for byte', async () => {
    await richTree();
    const first = await toBuffer(await snap.diff('top'));
    expect(first.includes('var/.wh..wh..opq')).to.equal(true);
    expect(first.includes('etc/.wh.old')).to.equal(true);
    expect(first.includes('SCHILY.xattr.security.capability=')).to.equal(true);
    expect(first.includes('user.note')).to.equal(false);
    expect(execFileSync('getfattr', ['-n', 'user.note', '--only-values', join(snap.lowerDirs('top')[0] as string, 'etc', 'owned')], { encoding: 'utf8' })).to.equal('kept');
    await applyAs('copy', 'base', first);
    const second = await toBuffer(await snap.diff('copy'));
    expect(second.equals(first)).to.equal(true);
    const upper = snap.lowerDirs('copy')[0] as string;
    expect((await lstat(join(upper, 'bin', 'su'))).mode & 0o7777).to.equal(0o4755);
    expect((await lstat(join(upper, 'etc', 'shadow'))).mode & 0o7777).to.equal(0);
    expect((await lstat(join(upper, 'etc', 'owned'))).uid).to.equal(1000);
    expect((await lstat(join(upper, 'bin', 'su-hardlink'))).ino).to.equal((await lstat(join(upper, 'bin', 'su'))).ino);
    expect(execFileSync('getcap', [join(upper, 'bin', 'ping')], { encoding: 'utf8' })).to.contain('cap_net_raw=ep');
    await withMountedSnapshot(snap, 'copy', async (d) => {
      expect(await lstat(join(d, 'etc', 'old')).then(() => true, () => false)).to.equal(false);
      expect(await lstat(join(d, 'var', 'stale')).then(() => true, () => false)).to.equal(false);
      expect(await readFile(join(d, 'var', 'fresh'), 'utf8')).to.equal('fresh');
    });
  });

  it('writes the same layer digest for the same tree twice, and a clamped mtime with SOURCE_DATE_EPOCH', async () => {
    await richTree();
    const store = await FileContentStore.open(root);
    const a = await exportLayer(snap, 'top', { sourceDateEpoch: 1_700_000_000 });
    await applyAs('copy', 'base', await toBuffer(await snap.diff('top')));
    const b = await exportLayer(snap, 'copy', { sourceDateEpoch: 1_700_000_000 });
    expect(b.descriptor).to.deep.equal(a.descriptor);
    expect(b.diffId).to.equal(a.diffId);
    expect(a.descriptor.mediaType).to.equal('application/vnd.oci.image.layer.v1.tar');
    expect(a.descriptor.digest).to.equal(a.diffId);
    // Lazy: measured, not written. The digest and size are those of the snapshot's tar, which the store answers for.
    const tarBytes = await toBuffer(await snap.diff('top', { sourceDateEpoch: 1_700_000_000 }));
    expect(a.diffId).to.equal(sha256(tarBytes));
    expect(a.descriptor.size).to.equal(tarBytes.length);
    expect(await readdir(join(root, 'content', 'blobs', 'sha256'))).to.deep.equal([]);
    expect(await store.info(a.diffId)).to.deep.equal({ mediaType: 'application/octet-stream', digest: a.diffId, size: tarBytes.length });
    // Gzipped when it leaves the build: the layer recipe's bytes of the tar (test/fixtures/pgzip-reference.ts), once.
    const gz = await gzipLayer(store, a);
    expect(gz.descriptor.mediaType).to.equal('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(gz.diffId).to.equal(a.diffId);
    // Gzipped straight from the snapshot: the store holds the gzip blob only.
    expect(await readdir(join(root, 'content', 'blobs', 'sha256'))).to.deep.equal([gz.descriptor.digest.slice(7)]);
    const reference = referenceLayerGzip(await toBuffer(await store.read(a.descriptor.digest)));
    expect(gz.descriptor.digest).to.equal(sha256(reference));
    expect(gz.descriptor.size).to.equal(reference.length);
    expect(await gzipLayer(store, a)).to.deep.equal(gz);
    expect(await gzipLayer(store, gz)).to.equal(gz);
    expect((await applyLayer(await store.read(gz.descriptor.digest), await mkdtemp(join(root, 'x-')))).diffId).to.equal(a.diffId);
    const { diffId } = await applyLayer(await store.read(a.descriptor.digest), await mkdtemp(join(root, 'x-')));
    expect(diffId).to.equal(a.diffId);
    const extract = tar.extract();
    (await store.read(a.descriptor.digest)).pipe(extract as unknown as NodeJS.WritableStream);
    const mtimes: number[] = [];
    for await (const e of extract) { mtimes.push(e.header.mtime.getTime() / 1000); e.resume(); }
    expect(Math.max(...mtimes)).to.be.at.most(1_700_000_000);
    expect(mtimes).to.include(1_000_000);
  });

  it('exports owners above 262143 (the ustar field\'s 6 digits) exactly, as PAX records GNU tar reads', async () => {
    await layer('owners', undefined, async (d) => {
      await writeFile(join(d, 'high'), 'x');
      await chown(join(d, 'high'), 300000, 2 ** 21 + 5);
      await writeFile(join(d, 'low'), 'y');
      await chown(join(d, 'low'), 262143, 1000);
    });
    const listing = execFileSync('tar', ['-tvf', '-', '--numeric-owner'], { input: await toBuffer(await snap.diff('owners')), encoding: 'utf8' });
    expect(listing).to.match(/ 300000\/2097157 .* high$/m);
    expect(listing).to.match(/ 262143\/1000 .* low$/m);
  });

  it('exports names that are not UTF-8 and binary xattrs byte for byte, as GNU tar reads and extracts them', async () => {
    const cafe = Buffer.from([0x63, 0x61, 0x66, 0xe9]);   // "café" in Latin-1
    const dir = Buffer.from([0x64, 0xff]);
    const linked = Buffer.from([0x68, 0xe9]);
    const under = (top: string, ...names: Buffer[]): Buffer => Buffer.concat([Buffer.from(top), ...names.flatMap((n) => [Buffer.from('/'), n])]);
    await layer('latin', undefined, async (d) => {
      await writeFile(under(d, cafe), 'latin\n');
      await mkdir(under(d, dir));
      await link(under(d, cafe), under(d, dir, linked));
      await symlink(cafe, under(d, Buffer.from('link')));
      await writeFile(join(d, 'captool'), '');
      // Bits 15 and 31: the xattr's value holds bytes >= 0x80, no UTF-8 text.
      execFileSync('setcap', ['cap_ipc_owner,cap_setfcap=+ep', join(d, 'captool')]);
    });
    const data = await toBuffer(await snap.diff('latin'));
    const listing = execFileSync('tar', ['-tvf', '-', '--quoting-style=escape'], { input: data, encoding: 'latin1' });
    expect(listing).to.match(/ caf\\351$/m);
    expect(listing).to.match(/ d\\377\/h\\351 link to caf\\351$/m);
    expect(listing).to.match(/ link -> caf\\351$/m);
    const out = await mkdtemp(join(tmpdir(), 'tsbuild-latin-'));
    try {
      execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-xf', '-', '-C', out], { input: data });
      expect(await readFile(under(out, cafe), 'utf8')).to.equal('latin\n');
      expect((await lstat(under(out, dir, linked))).ino).to.equal((await lstat(under(out, cafe))).ino);
      expect(execFileSync('getcap', [join(out, 'captool')], { encoding: 'utf8' })).to.contain('cap_ipc_owner,cap_setfcap=ep');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('applies names that are not UTF-8 and a binary file capability from a GNU tar layer byte for byte, and whites such a name out', async () => {
    const cafe = Buffer.from([0x63, 0x61, 0x66, 0xe9]);   // "café" in Latin-1
    const dir = Buffer.from([0x64, 0xff]);
    const linked = Buffer.from([0x68, 0xe9]);
    // Two names that both read as "x\uFFFD" when decoded as UTF-8: they must stay two files.
    const twins = [Buffer.from([0x78, 0xe8]), Buffer.from([0x78, 0xe9])];
    const under = (top: string, ...names: Buffer[]): Buffer => Buffer.concat([Buffer.from(top), ...names.flatMap((n) => [Buffer.from('/'), n])]);
    const src = await mkdtemp(join(tmpdir(), 'tsbuild-latin-src-'));
    try {
      await writeFile(under(src, cafe), 'latin\n');
      await mkdir(under(src, dir));
      await link(under(src, cafe), under(src, dir, linked));
      await symlink(cafe, under(src, Buffer.from('link')));
      for (const [i, twin] of twins.entries()) await writeFile(under(src, twin), `twin ${i}\n`);
      await writeFile(join(src, 'captool'), '');
      execFileSync('setcap', ['cap_setfcap=ep', join(src, 'captool')]);
      const capability = execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'security.capability', join(src, 'captool')]);
      expect(capability.some((b) => b >= 0x80), 'cap_setfcap is bit 31: a byte >= 0x80').to.equal(true);
      // GNU tar writes these names and the xattr into PAX records as bytes, as Go's archive/tar (docker, BuildKit) does.
      await applyAs('latin', undefined, execFileSync('tar', ['--format=pax', '--xattrs', '-C', src, '-cf', '-', '.']));
      const upper = snap.lowerDirs('latin')[0] as string;
      const hex = (names: Buffer[]): string[] => names.map((n) => n.toString('hex')).sort();
      expect(hex(await readdir(upper, { encoding: 'buffer' }))).to.deep.equal(hex([cafe, dir, Buffer.from('link'), ...twins, Buffer.from('captool')]));
      expect(hex(await readdir(under(upper, dir), { encoding: 'buffer' }))).to.deep.equal(hex([linked]));
      expect(await readFile(under(upper, cafe), 'utf8')).to.equal('latin\n');
      expect((await lstat(under(upper, dir, linked))).ino).to.equal((await lstat(under(upper, cafe))).ino);
      expect((await readlink(under(upper, Buffer.from('link')), { encoding: 'buffer' })).equals(cafe)).to.equal(true);
      expect(await Promise.all(twins.map((t) => readFile(under(upper, t), 'utf8')))).to.deep.equal(['twin 0\n', 'twin 1\n']);
      expect(execFileSync('getcap', [join(upper, 'captool')], { encoding: 'utf8' })).to.contain('cap_setfcap=ep');
      const applied = execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'security.capability', join(upper, 'captool')]);
      expect(applied.equals(capability)).to.equal(true);

      // A later layer's `.wh.caf\xe9` hides that file and nothing else.
      const hide = await mkdtemp(join(tmpdir(), 'tsbuild-latin-wh-'));
      try {
        await writeFile(under(hide, Buffer.concat([Buffer.from('.wh.'), cafe])), '');
        await applyAs('hide', 'latin', execFileSync('tar', ['--format=pax', '-C', hide, '-cf', '-', '.']));
      } finally {
        await rm(hide, { recursive: true, force: true });
      }
      const whiteout = await lstat(under(snap.lowerDirs('hide')[0] as string, cafe));
      expect(whiteout.isCharacterDevice() && whiteout.rdev === 0, 'an overlay whiteout named with the same bytes').to.equal(true);
      await withMountedSnapshot(snap, 'hide', async (d) => {
        expect(hex(await readdir(d, { encoding: 'buffer' }))).to.deep.equal(hex([dir, Buffer.from('link'), ...twins, Buffer.from('captool')]));
      });
    } finally {
      await rm(src, { recursive: true, force: true });
    }
  });

  it('sets an entry\'s access time from its PAX atime, never earlier than its mtime, as docker\'s and containerd\'s untar do', async () => {
    const src = await mkdtemp(join(tmpdir(), 'tsbuild-atime-src-'));
    try {
      await writeFile(join(src, 'read-later'), 'a\n');
      await writeFile(join(src, 'read-before'), 'b\n');
      await mkdir(join(src, 'dir'));
      // utimes(path, atime, mtime): GNU tar's PAX format records both (and ctime, which nothing keeps).
      await utimes(join(src, 'read-later'), 1_700_000_000.25, 1_600_000_000.5);
      await utimes(join(src, 'read-before'), 1_500_000_000, 1_600_000_000);
      await utimes(join(src, 'dir'), 1_650_000_000, 1_600_000_000);
      await applyAs('atimes', undefined, execFileSync('tar', ['--format=pax', '--atime-preserve=system', '-C', src, '-cf', '-', 'read-later', 'read-before', 'dir']));
      const upper = snap.lowerDirs('atimes')[0] as string;
      const times = async (name: string): Promise<[bigint, bigint]> => {
        const st = await lstat(join(upper, name), { bigint: true });
        return [st.atimeNs, st.mtimeNs];
      };
      expect(await times('read-later')).to.deep.equal([1_700_000_000_250_000_000n, 1_600_000_000_500_000_000n]);
      expect(await times('read-before'), 'an atime before the mtime is the mtime').to.deep.equal([1_600_000_000_000_000_000n, 1_600_000_000_000_000_000n]);
      expect(await times('dir')).to.deep.equal([1_650_000_000_000_000_000n, 1_600_000_000_000_000_000n]);
    } finally {
      await rm(src, { recursive: true, force: true });
    }
  });

  it('makes a snapshot that changed nothing the empty tar, two zero blocks, as BuildKit\'s differ (Go archive/tar Close)', async () => {
    await layer('base', undefined, async (d) => { await writeFile(join(d, 'a'), 'A'); });
    await layer('same', 'base', async () => undefined);
    const same = await exportLayer(snap, 'same');
    expect([same.diffId, same.descriptor.size]).to.deep.equal(['sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef', 1024]);
  });

  it('refuses to make a lazy layer from a snapshot changed after its commit, with INVALID_LAYER naming the layer and the snapshot', async () => {
    await layer('base', undefined, async (d) => { await writeFile(join(d, 'a'), 'AAAA'); await writeFile(join(d, 'b'), 'BBBB'); });
    const store = await FileContentStore.open(root);
    const a = await exportLayer(snap, 'base');
    const [upper] = snap.lowerDirs('base');
    await writeFile(join(upper ?? '', 'a'), 'XXXX');   // same size: only the digest can tell
    for (const attempt of [() => gzipLayer(store, a), () => store.read(a.diffId)]) {
      const err = await attempt().then(() => undefined, (e: unknown) => e);
      expect(err).to.have.property('code', 'INVALID_LAYER');
      expect(String((err as Error).message)).to.include(a.diffId).and.to.include('snapshot base');
    }
    await writeFile(join(upper ?? '', 'b'), 'longer now');   // a different size fails as clearly
    expect(await store.read(a.diffId).then(() => undefined, (e: unknown) => e)).to.have.property('code', 'INVALID_LAYER');
    expect(await readdir(join(root, 'content', 'blobs', 'sha256'))).to.deep.equal([]);
  });

  it('makes a lazy layer recorded before v2 again with every xattr it was measured with, and a new one with the capability alone', async () => {
    // A cached step's snapshot recorded by an older tsbuild names a layer whose tar held user.* xattrs too: its bytes
    // must still hash to that diffId (lazy-layers.ts, v1 records), or every cached build would fail its export.
    await richTree();
    const store = await FileContentStore.open(root);
    const now = await exportLayer(snap, 'top');
    expect((await toBuffer(await store.read(now.diffId))).includes('user.note')).to.equal(false);
    const old = await toBuffer(await snap.diff('top', { xattrs: 'all' }));
    expect(old.includes('SCHILY.xattr.user.note=kept')).to.equal(true);
    const oldDiffId = sha256(old);
    snap.recordLayer('top', { diffId: oldDiffId, size: old.length, options: JSON.stringify({ v: 1, snapshotter: 'overlayfs' }) });
    expect((await toBuffer(await store.read(oldDiffId))).equals(old)).to.equal(true);
  });

  it('forgets a lazy layer with its snapshot: has() is false and a read fails with IMAGE_NOT_FOUND saying to rebuild', async () => {
    await layer('base', undefined, async (d) => { await writeFile(join(d, 'a'), 'A'); });
    const store = await FileContentStore.open(root);
    const a = await exportLayer(snap, 'base');
    expect(await store.has(a.diffId)).to.equal(true);
    await snap.remove('base');
    expect(await store.has(a.diffId)).to.equal(false);
    for (const attempt of [() => gzipLayer(store, a), () => store.read(a.diffId)]) {
      const err = await attempt().then(() => undefined, (e: unknown) => e);
      expect(err).to.have.property('code', 'IMAGE_NOT_FOUND');
      expect(String((err as Error).message)).to.include(a.diffId);
      expect(err).to.have.property('hint').that.includes('build the image again');
    }
  });

  it('applies gzip and zstd compressed layers to the same diffId as the plain tar', async () => {
    const plain = await packTar([{ name: 'dir/', type: 'directory', mode: 0o755 }, { name: 'dir/file', content: 'hello' }]);
    const zstd = execFileSync('zstd', ['-q', '-c'], { input: plain });
    for (const data of [plain, gzipSync(plain), zstd]) {
      const dir = await mkdtemp(join(root, 'apply-'));
      const { diffId } = await applyLayer(Readable.from([data]), dir);
      expect(diffId).to.equal(sha256(plain));
      expect(await readFile(join(dir, 'dir', 'file'), 'utf8')).to.equal('hello');
    }
  });

  it('marks the dir a layer is applied into as a top of directory hierarchies (chattr +T) where the filesystem has the flag, and leaves no placement names', async () => {
    const dir = await mkdtemp(join(root, 'topdir-'));
    await applyLayer(Readable.from([await packTar([{ name: 'usr/', type: 'directory', mode: 0o755 }, { name: 'usr/f', content: 'x' }])]), dir);
    let flags: string | undefined;
    try {
      flags = execFileSync('lsattr', ['-d', dir], { encoding: 'utf8' }).split(' ')[0];
    } catch (err) {
      // tmpfs and others have no inode flags: the hint is skipped there and the apply must still have worked.
      expect(String(err)).to.match(/Inappropriate ioctl|Operation not supported/);
    }
    if (flags !== undefined) {
      expect(flags).to.include('T');
      // Only the root gets it (the kernel does not inherit it): the layer's own directories keep their flags.
      expect(execFileSync('lsattr', ['-d', join(dir, 'usr')], { encoding: 'utf8' }).split(' ')[0]).to.not.include('T');
    }
    // Top directories are made under a random name and renamed into place: none of those names is left behind.
    expect(await readdir(dir)).to.deep.equal(['usr']);
    expect(await readFile(join(dir, 'usr', 'f'), 'utf8')).to.equal('x');
  });

  it('refuses a truncated gzip layer with INVALID_LAYER', async () => {
    const whole = gzipSync(await packTar([{ name: 'file', content: 'x'.repeat(100000) }]));
    const dir = await mkdtemp(join(root, 'trunc-'));
    const err = await applyLayer(Readable.from([whole.subarray(0, whole.length - 40)]), dir).then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'INVALID_LAYER');
  });

  it('keeps an absolute entry name inside the root, as docker does', async () => {
    const dir = await mkdtemp(join(root, 'abs-'));
    await applyLayer(Readable.from([await packTar([{ name: '/etc/hostname', content: 'inside' }])]), dir);
    expect(await readFile(join(dir, 'etc', 'hostname'), 'utf8')).to.equal('inside');
  });

  it('follows a symlink that leads out of the root inside it (chroot semantics), as containerd and docker do', async () => {
    const parent = await mkdtemp(join(root, 'contained-'));
    const dir = join(parent, 'a', 'b');
    await mkdir(dir, { recursive: true });
    await applyLayer(Readable.from([await packTar([
      { name: 'out', type: 'symlink', linkname: '../../../../../../../../tmp/tsbuild-hostile' },
      { name: 'out/escaped', content: 'x' },
    ])]), dir, { layer: 'sha256:test' });
    expect(await readFile(join(dir, 'tmp', 'tsbuild-hostile', 'escaped'), 'utf8')).to.equal('x');
    expect(await lstat(join(parent, 'escaped')).then(() => true, () => false)).to.equal(false);
    expect(await lstat('/tmp/tsbuild-hostile/escaped').then(() => true, () => false)).to.equal(false);
  });

  it('replaces a symlink with a file of the same name instead of writing through it', async () => {
    const dir = await mkdtemp(join(root, 'repl-'));
    const outside = join(root, 'outside-target');
    await writeFile(outside, 'untouched');
    await applyLayer(Readable.from([await packTar([{ name: 'f', type: 'symlink', linkname: outside }, { name: 'f', content: 'new' }])]), dir);
    expect(await readFile(outside, 'utf8')).to.equal('untouched');
    expect(await readFile(join(dir, 'f'), 'utf8')).to.equal('new');
  });

  describe('a hostile layer', () => {
    const corpus: Array<[string, TestEntry[]]> = [
      ['a `..` that climbs out of the root', [{ name: '../escaped', content: 'x' }]],
      ['an absolute path that climbs out of the root', [{ name: '/../../escaped', content: 'x' }]],
      ['a hardlink to a file outside the root', [{ name: 'passwd', type: 'link', linkname: '../../../../../etc/passwd' }]],
      ['a hardlink to a file not in the layer', [{ name: 'passwd', type: 'link', linkname: 'etc/passwd' }]],
      ['a device node', [{ name: 'dev/sda', type: 'character-device', devmajor: 8, devminor: 0 }]],
      ['a whiteout that names no entry', [{ name: 'dir/.wh..' }]],
    ];
    for (const [what, entries] of corpus) {
      it(`is refused with INVALID_LAYER when it holds ${what}`, async () => {
        const parent = await mkdtemp(join(root, 'hostile-'));
        const dir = join(parent, 'a', 'b');
        await mkdir(dir, { recursive: true });
        const err = await applyLayer(Readable.from([await packTar(entries)]), dir, { layer: 'sha256:test' }).then(() => undefined, (e: unknown) => e);
        expect(err).to.have.property('code', 'INVALID_LAYER');
        expect(String((err as Error).message)).to.contain('sha256:test');
        expect(await lstat(join(parent, 'escaped')).then(() => true, () => false)).to.equal(false);
        expect(await lstat(join(parent, 'a', 'escaped')).then(() => true, () => false)).to.equal(false);
        expect(await lstat('/tmp/tsbuild-hostile/escaped').then(() => true, () => false)).to.equal(false);
      });
    }
  });

  it('round-trips random small trees through diff, apply and diff', async () => {
    const names = fc.constantFrom('a', 'b', 'c', 'dir', 'x.txt');
    const tree = fc.array(fc.record({
      path: fc.array(names, { minLength: 1, maxLength: 3 }),
      kind: fc.constantFrom('file', 'dir', 'symlink'),
      content: fc.string({ maxLength: 20 }),
      mode: fc.constantFrom(0o644, 0o600, 0o755, 0o4755, 0o000),
    }), { maxLength: 8 });
    let run = 0;
    await fc.assert(fc.asyncProperty(tree, async (items) => {
      const src = `src${run}`;
      const dst = `dst${run++}`;
      await layer(src, undefined, async (d) => {
        for (const item of items) {
          const path = join(d, ...item.path);
          const parentOk = await mkdir(join(path, '..'), { recursive: true }).then(() => true, () => false);
          if (!parentOk || await lstat(path).then(() => true, () => false)) continue;
          if (item.kind === 'dir') await mkdir(path);
          else if (item.kind === 'symlink') await symlink(item.content || 'target', path);
          else { await writeFile(path, item.content); await chmod(path, item.mode); }
        }
      });
      const first = await toBuffer(await snap.diff(src));
      await applyAs(dst, undefined, first);
      const second = await toBuffer(await snap.diff(dst));
      expect(second.equals(first)).to.equal(true);
    }), { numRuns: 25 });
  });
});
