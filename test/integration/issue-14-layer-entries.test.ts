import { expect } from 'chai';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Header } from 'tar-stream';
import { OverlaySnapshotter, applyLayer, withMountedSnapshot } from '../../worker/index.js';
import { makeHostMarker, snapshotTree } from '../fixtures/host-marker.js';
import { packTar as packEntries, type TarEntry } from '../fixtures/pack-tar.js';

/** Layer entries default to mode 0644 here. */
const packTar = (entries: TarEntry[]): Promise<Buffer> => packEntries(entries, { mode: 0o644 });

// Issue 14, layer-entry semantics: parents of layer entries resolve with chroot semantics over the merged view of the
// snapshot (containerd's archive.Apply with fs.RootPath, docker's chrootarchive): symlinks a real image makes, in
// the same layer or a lower one, relative or absolute, are followed inside the root; nothing leaves it.

describe('issue 14: layer entries follow image symlinks inside the root, as docker and containerd apply them', function () {
  this.timeout(60_000);
  let root: string;
  let snap: OverlaySnapshotter;
  let host: string;
  let marked: string[];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-issue14-entries-'));
    snap = await OverlaySnapshotter.open(join(root, 'snapshots'));
    host = join(root, 'host-marker');
    marked = await makeHostMarker(host);
  });
  afterEach(async () => {
    expect(await snapshotTree(host)).to.deep.equal(marked);
    snap.close();
    await rm(root, { recursive: true, force: true });
  });

  async function unpack(name: string, parent: string | undefined, entries: Array<Partial<Header> & { name: string; content?: string }>): Promise<string> {
    await snap.prepare(`${name}-key`, parent);
    const { upperDir, lowerDirs } = snap.activeDirs(`${name}-key`);
    await applyLayer(Readable.from([await packTar(entries)]), upperDir, { layer: `sha256:${name}`, lowerDirs });
    await snap.commit(name, `${name}-key`);
    return upperDir;
  }

  it('puts bin/tool and lib64/x.so of an upper layer into usr/bin and usr/lib64 of a base with bin -> usr/bin and lib64 -> /usr/lib64', async () => {
    await unpack('base', undefined, [
      { name: 'usr/', type: 'directory', mode: 0o755 },
      { name: 'usr/bin/', type: 'directory', mode: 0o755 },
      { name: 'usr/lib64/', type: 'directory', mode: 0o755 },
      { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
      { name: 'lib64', type: 'symlink', linkname: '/usr/lib64' },
      { name: 'var/', type: 'directory', mode: 0o755 },
      { name: 'run/', type: 'directory', mode: 0o755 },
      { name: 'var/run', type: 'symlink', linkname: '/run' },
      { name: 'home/app/', type: 'directory', mode: 0o700, uid: 1000, gid: 1000 },
      { name: 'escape', type: 'symlink', linkname: host },
    ]);
    const upper = await unpack('top', 'base', [
      { name: 'bin/tool', content: 'tool\n', mode: 0o755 },
      { name: 'lib64/x.so', content: 'lib\n' },
      { name: 'var/run/x.pid', content: '1\n' },
      { name: 'home/app/.profile', content: 'profile\n' },
      { name: 'escape/passwd', content: 'evil\n' },
    ]);
    expect(await readFile(join(upper, 'usr/bin/tool'), 'utf8')).to.equal('tool\n');
    expect(await readFile(join(upper, 'usr/lib64/x.so'), 'utf8')).to.equal('lib\n');
    expect(await readFile(join(upper, 'run/x.pid'), 'utf8')).to.equal('1\n');
    expect(await readFile(join(upper, host, 'passwd'), 'utf8')).to.equal('evil\n');
    // The links stay links in the merged view: the upper layer did not hide them behind new directories.
    for (const p of ['bin', 'lib64', 'var/run', 'escape']) expect(await lstat(join(upper, p)).catch(() => undefined), p).to.equal(undefined);
    // A directory only the base had is made in the upper with the base's owner and mode, so overlayfs merges it.
    const home = await lstat(join(upper, 'home/app'));
    expect([home.uid, home.gid, home.mode & 0o7777]).to.deep.equal([1000, 1000, 0o700]);
    await withMountedSnapshot(snap, 'top', async (merged) => {
      expect(await readlink(join(merged, 'lib64'))).to.equal('/usr/lib64');
      expect(await readFile(join(merged, 'usr/lib64/x.so'), 'utf8')).to.equal('lib\n');
      expect(await readFile(join(merged, 'usr/bin/tool'), 'utf8')).to.equal('tool\n');
    });
  });

  it('follows a symlink made earlier in the same layer (lib64 -> /usr/lib64, then lib64/ld.so)', async () => {
    const upper = await unpack('one', undefined, [
      { name: 'lib64', type: 'symlink', linkname: '/usr/lib64' },
      { name: 'lib64/ld.so', content: 'ld\n' },
      { name: 'up', type: 'symlink', linkname: '../../../../../..' },
      { name: 'up/etc/climbed', content: 'x\n' },
    ]);
    expect(await readFile(join(upper, 'usr/lib64/ld.so'), 'utf8')).to.equal('ld\n');
    expect(await readFile(join(upper, 'etc/climbed'), 'utf8')).to.equal('x\n');
    expect(await readlink(join(upper, 'lib64'))).to.equal('/usr/lib64');
  });

  it('resolves a parent again after a later entry replaced one of its components with a link', async () => {
    const upper = await unpack('one', undefined, [
      { name: 'a/b/', type: 'directory', mode: 0o755 },
      { name: 'a/b/f1', content: '1\n' },
      { name: 'a', type: 'symlink', linkname: '/t' },
      { name: 'a/b/f2', content: '2\n' },
    ]);
    expect(await readlink(join(upper, 'a'))).to.equal('/t');
    expect(await readFile(join(upper, 't/b/f2'), 'utf8')).to.equal('2\n');
  });

  it('does not look through a lower directory that an opaque marker or a whiteout hid', async () => {
    await unpack('base', undefined, [
      { name: 'a/', type: 'directory', mode: 0o755 },
      { name: 'a/link', type: 'symlink', linkname: '/target' },
      { name: 'b', type: 'symlink', linkname: '/target' },
    ]);
    await unpack('mid', 'base', [
      { name: 'a/', type: 'directory', mode: 0o755 },
      { name: 'a/.wh..wh..opq', content: '' },
      { name: '.wh.b', content: '' },
    ]);
    const upper = await unpack('top', 'mid', [
      { name: 'a/link/f', content: 'through the opaque dir\n' },
      { name: 'b/f', content: 'through the whiteout\n' },
    ]);
    // a/link and b are gone in the merged view: new directories, not the base's links to /target.
    expect(await readFile(join(upper, 'a/link/f'), 'utf8')).to.equal('through the opaque dir\n');
    expect(await readFile(join(upper, 'b/f'), 'utf8')).to.equal('through the whiteout\n');
    expect(await lstat(join(upper, 'target')).catch(() => undefined)).to.equal(undefined);
  });

  it('still refuses a name that climbs out with `..` and a symlink loop', async () => {
    await mkdir(join(root, 'x'));
    for (const entries of [
      [{ name: '../escaped', content: 'x' }],
      [{ name: 'l1', type: 'symlink' as const, linkname: 'l2' }, { name: 'l2', type: 'symlink' as const, linkname: 'l1' }, { name: 'l1/f', content: 'x' }],
    ]) {
      const dir = await mkdtemp(join(root, 'x', 'r-'));
      const err = await applyLayer(Readable.from([await packTar(entries)]), dir, { layer: 'sha256:test' }).then(() => undefined, (e: unknown) => e);
      expect(err).to.have.property('code', 'INVALID_LAYER');
    }
    expect(await lstat(join(root, 'x', 'escaped')).catch(() => undefined)).to.equal(undefined);
  });
});
