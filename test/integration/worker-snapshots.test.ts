import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import tar from 'tar-stream';
import { OverlaySnapshotter, withMountedSnapshot, withMounts } from '../../worker/index.js';

const run = promisify(execFile);

async function tarNames(snap: OverlaySnapshotter, name: string): Promise<string[]> {
  const extract = tar.extract();
  const names: string[] = [];
  (await snap.diff(name)).pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    names.push(entry.header.name);
    entry.resume();
  }
  return names;
}

// Mount points are <root>/tmp/mnt-<pid>-… (worker/temp-dirs.ts): only this process's count, so another build on the
// machine cannot make the check fail.
async function mountedRows(): Promise<string> {
  return (await readFile('/proc/self/mounts', 'utf8')).split('\n').filter((l) => l.includes(`/tmp/mnt-${process.pid}-`)).join('\n');
}

describe('OverlaySnapshotter on real overlay mounts', () => {
  let root: string;
  let snap: OverlaySnapshotter;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-snap-'));
    snap = await OverlaySnapshotter.open(root);
  });
  afterEach(async () => {
    snap.close();
    expect(await mountedRows()).to.equal('');
    await rm(root, { recursive: true, force: true });
  });

  async function layer(name: string, parent: string | undefined, fn: (dir: string) => Promise<void>): Promise<void> {
    await snap.prepare(`${name}-key`, parent);
    await withMountedSnapshot(snap, `${name}-key`, fn);
    await snap.commit(name, `${name}-key`);
  }

  it('prepares, commits and views a chain of two snapshots', async () => {
    await layer('base', undefined, async (d) => { await writeFile(join(d, 'a'), 'A'); });
    await layer('top', 'base', async (d) => {
      expect(await readFile(join(d, 'a'), 'utf8')).to.equal('A');
      await writeFile(join(d, 'b'), 'B');
    });
    expect(snap.stat('top')).to.include({ kind: 'committed', parent: 'base' });
    await snap.view('v', 'top');
    await withMountedSnapshot(snap, 'v', async (d) => {
      expect((await readdir(d)).sort()).to.deep.equal(['a', 'b']);
      const err = await writeFile(join(d, 'c'), 'C').then(() => undefined, (e: unknown) => e);
      expect(err).to.have.property('code', 'EROFS');
    });
    await snap.remove('v');
    expect(snap.list().map((s) => s.name)).to.deep.equal(['base', 'top']);
  });

  it('refuses a 501st layer by count, as overlayfs mounts at most 500 lower dirs, instead of failing at the mount', async () => {
    let parent: string | undefined;
    for (let i = 0; i < 500; i++) {
      await snap.prepare(`l${i}-key`, parent);
      await snap.commit(`l${i}`, `l${i}-key`);
      parent = `l${i}`;
    }
    const err = await snap.prepare('l500-key', parent).then(() => undefined, (e: unknown) => e);
    expect(String(err)).to.contain('the filesystem would stack 501 layers, more than overlayfs can mount');
    expect((err as { code?: string }).code).to.equal('INVALID_LAYER');
  });

  it('never lets an active snapshot be a parent', async () => {
    await snap.prepare('active');
    const err = await snap.prepare('child', 'active').then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
    await snap.remove('active');
  });

  it('refuses to remove a snapshot that is still a parent', async () => {
    await layer('base', undefined, async (d) => { await writeFile(join(d, 'a'), 'A'); });
    await layer('top', 'base', async () => undefined);
    const err = await snap.remove('base').then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
    await snap.remove('top');
    await snap.remove('base');
    expect(snap.list()).to.deep.equal([]);
    expect((await readdir(join(root, 'snapshots'))).filter((e) => /^\d+$/.test(e))).to.deep.equal([]);
  });

  it('shows a file deleted in an upper snapshot as a whiteout in its diff', async () => {
    await layer('base', undefined, async (d) => {
      await mkdir(join(d, 'etc'));
      await writeFile(join(d, 'etc', 'gone'), 'x');
      await writeFile(join(d, 'etc', 'kept'), 'y');
    });
    await layer('top', 'base', async (d) => { await unlink(join(d, 'etc', 'gone')); });
    expect(await tarNames(snap, 'top')).to.deep.equal(['etc/', 'etc/.wh.gone']);
  });

  it('marks a directory replaced in an upper snapshot as opaque in its diff', async () => {
    await layer('base', undefined, async (d) => {
      await mkdir(join(d, 'app'));
      await writeFile(join(d, 'app', 'old'), 'x');
    });
    await layer('top', 'base', async (d) => {
      await rm(join(d, 'app'), { recursive: true });
      await mkdir(join(d, 'app'));
      await writeFile(join(d, 'app', 'new'), 'y');
    });
    expect(await tarNames(snap, 'top')).to.deep.equal(['app/', 'app/.wh..wh..opq', 'app/new']);
  });

  it('mounts a 150-layer chain and reads the bottom file', async () => {
    let parent: string | undefined;
    for (let i = 0; i < 150; i++) {
      const name = `layer-with-a-long-name-to-fill-the-page-${i}`;
      await snap.prepare(`${name}-key`, parent);
      await writeFile(join(snap.activeDirs(`${name}-key`).upperDir, `f${i}`), String(i));
      await snap.commit(name, `${name}-key`);
      parent = name;
    }
    expect(snap.lowerDirs(parent as string).join(':').length).to.be.greaterThan(4096);
    await snap.prepare('top-key', parent);
    await withMountedSnapshot(snap, 'top-key', async (d) => {
      expect(await readFile(join(d, 'f0'), 'utf8')).to.equal('0');
      expect(await readFile(join(d, 'f149'), 'utf8')).to.equal('149');
    });
    await withMounts(await snap.mounts(parent as string), snap.tempDir, async (d) => {
      expect((await readdir(d)).length).to.equal(150);
    });
    await snap.remove('top-key');
  });

  it('drops snapshots a killed process left active when it is reopened', async () => {
    await snap.prepare('left-behind');
    const dir = snap.activeDirs('left-behind').upperDir;
    snap.close();
    // Pretend the owner died: rewrite the owner pid to one that cannot exist.
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(join(root, 'snapshots', 'metadata.db'));
    db.prepare('UPDATE snapshots SET owner = ? WHERE name = ?').run(2 ** 22 + 1, 'left-behind');
    db.close();
    snap = await OverlaySnapshotter.open(root);
    expect(snap.stat('left-behind')).to.equal(undefined);
    const gone = await stat(dir).then(() => false, () => true);
    expect(gone).to.equal(true);
  });

  it('makes the next snapshot\'s directory ahead of its prepare, takes it by rename, and removes an unused one at close', async () => {
    const dir = join(root, 'snapshots');
    const spares = async (): Promise<string[]> => (await readdir(dir)).filter((e) => e.startsWith('spare.')).sort();
    // Made in the thread pool after a prepare returns; `work` is its last mkdir. Named spare.<pid>.<n>, n counted
    // over the process (the tests before this one made spares too).
    const made = async (): Promise<{ name: string; ino: number }> => {
      for (let i = 0; i < 200; i++) {
        const [name] = await spares();
        const found = name !== undefined && await stat(join(dir, name, 'work')).then(() => true, () => false);
        if (name !== undefined && found) return { name, ino: (await stat(join(dir, name))).ino };
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('no spare was made');
    };
    expect(await spares()).to.deep.equal([]);
    await snap.prepare('a-key');
    const first = await made();
    expect(first.name).to.match(new RegExp(`^spare\\.${process.pid}\\.\\d+$`));
    await snap.prepare('b-key');
    const upper = snap.activeDirs('b-key');
    expect((await stat(join(upper.upperDir, '..'))).ino).to.equal(first.ino);   // the spare itself, renamed to b's id
    expect((await stat(upper.workDir)).mode & 0o777).to.equal(0o700);
    expect((await stat(upper.upperDir)).mode & 0o777).to.equal(0o755);
    const second = await made();
    expect(second.name).to.not.equal(first.name);
    expect(await spares()).to.deep.equal([second.name]);
    // b's directory works as any other: written through its mount, committed, diffed.
    await withMountedSnapshot(snap, 'b-key', async (d) => { await writeFile(join(d, 'f'), 'F'); });
    await snap.commit('b', 'b-key');
    expect(await tarNames(snap, 'b')).to.deep.equal(['f']);
    snap.close();
    expect(await spares()).to.deep.equal([]);
    snap = await OverlaySnapshotter.open(root);
  });

  it('gives two snapshotters of one process on one root spares of their own (a bake\'s targets build at once)', async () => {
    const other = await OverlaySnapshotter.open(root);
    try {
      // Each prepare makes its snapshotter's next spare; each second prepare takes its own. Named per snapshotter,
      // both were spare.<pid>.1, and the second rename found it gone (ENOENT).
      await snap.prepare('a1');
      await other.prepare('b1');
      // Both spares made (in the thread pool) before either is taken, as when the targets' steps run a while.
      await new Promise((r) => setTimeout(r, 50));
      await snap.prepare('a2');
      await other.prepare('b2');
      expect(snap.activeDirs('a2').upperDir).to.not.equal(other.activeDirs('b2').upperDir);
    } finally {
      other.close();
    }
  });

  it('removes a dead process\'s spare directory when opened, and keeps a live process\'s', async () => {
    const dir = join(root, 'snapshots');
    const dead = `spare.${2 ** 22 + 1}.1`;   // above any pid_max: no such process
    const live = `spare.${process.pid}.9`;
    for (const name of [dead, live]) await mkdir(join(dir, name, 'fs'), { recursive: true });
    snap.close();
    snap = await OverlaySnapshotter.open(root);
    expect((await readdir(dir)).filter((e) => e.startsWith('spare.'))).to.deep.equal([live]);
    await rm(join(dir, live), { recursive: true });
  });

  it('asks ext2/3/4 to spread the snapshot directories over block groups (FS_TOPDIR_FL on snapshots/), once per root', async () => {
    const dir = join(root, 'snapshots');
    const fsType = (await run('stat', ['-f', '-c', '%T', dir])).stdout.trim();
    const flags = async (): Promise<string> => (await run('lsattr', ['-d', dir])).stdout.split(' ')[0] ?? '';
    // Only ext2/3/4 know the flag (their `stat -f` type is ext2/ext3, "ext2/ext3" for all three); elsewhere it is
    // refused or ignored, and the open carries on all the same.
    if (/^ext/.test(fsType)) expect(await flags()).to.include('T');
    await stat(join(dir, 'spread'));   // the marker: the next open does not ask again
    // Take the flag away: a reopen sees the marker and leaves it so (no chattr on every open).
    if (/^ext/.test(fsType)) {
      snap.close();
      await run('chattr', ['-T', dir]);
      snap = await OverlaySnapshotter.open(root);
      expect(await flags()).not.to.include('T');
    }
  });

  it('measures a committed snapshot\'s size (as du -sb) when listed, without a process at commit', async () => {
    await layer('sized', undefined, async (d) => { await writeFile(join(d, 'f'), Buffer.alloc(10_000)); });
    expect(snap.stat('sized')?.size).to.equal(-1);
    const [listed] = snap.list();
    // the upper dir itself (a directory's st_size) plus the 10,000-byte file
    expect(listed?.size).to.equal((await stat(join(root, 'snapshots', '1', 'fs'))).size + 10_000);
    expect(snap.usage()).to.deep.equal({ count: 1, size: listed?.size });
  });

  it('keeps snapshots synced at close across a reboot, and drops unsynced ones of an earlier boot with their children', async () => {
    await layer('synced', undefined, async (d) => { await writeFile(join(d, 'a'), 'A'); });
    snap.close();   // syncs once and marks 'synced'
    snap = await OverlaySnapshotter.open(root);
    await layer('torn', 'synced', async (d) => { await writeFile(join(d, 'b'), 'B'); });
    await layer('child', 'torn', async (d) => { await writeFile(join(d, 'c'), 'C'); });
    // Pretend the machine went down before close(): the rows are from another boot and were never synced.
    const db = new DatabaseSync(join(root, 'snapshots', 'metadata.db'));
    db.exec("UPDATE snapshots SET boot = 'an-earlier-boot' WHERE synced = 0");
    db.close();
    const reopened = await OverlaySnapshotter.open(root);
    try {
      expect(reopened.list().map((s) => s.name)).to.deep.equal(['synced']);
      expect((await readdir(join(root, 'snapshots'))).filter((e) => /^\d+$/.test(e))).to.deep.equal(['1']);
    } finally {
      reopened.close();
    }
  });

  it('syncs in the background at close: the rows are marked synced when the snapshotter is next opened after the sync finished', async () => {
    await layer('flushed', undefined, async (d) => { await writeFile(join(d, 'a'), 'A'); });
    snap.close('background');
    const syncDir = join(root, 'snapshots', 'sync');
    // The row waits for that sync under its token. The file itself may already be gone: on a quiet filesystem the
    // detached sync can finish before the next line runs, so only the row is checked here.
    const pending = new DatabaseSync(join(root, 'snapshots', 'metadata.db'));
    const row = pending.prepare("SELECT synced, sync_token FROM snapshots WHERE name = 'flushed'").get();
    pending.close();
    expect(row?.['synced']).to.equal(0);
    expect(String(row?.['sync_token'])).to.match(/^[0-9a-f-]+\.\d+\.\d+$/);
    // The detached `sync -f` removes its file when it has finished.
    for (let i = 0; i < 200 && (await readdir(syncDir)).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await readdir(syncDir)).to.deep.equal([]);
    snap = await OverlaySnapshotter.open(root);
    snap.close();
    const db = new DatabaseSync(join(root, 'snapshots', 'metadata.db'));
    expect(db.prepare("SELECT synced FROM snapshots WHERE name = 'flushed'").get()?.['synced']).to.equal(1);
    // Synced, so a reboot keeps it: pretend one happened (the row's boot is another one).
    db.exec("UPDATE snapshots SET boot = 'an-earlier-boot'");
    db.close();
    snap = await OverlaySnapshotter.open(root);
    expect(snap.list().map((s) => s.name)).to.deep.equal(['flushed']);
  });

  it('does not count a sync as finished while its file is there, nor one of an earlier boot', async () => {
    await layer('pending', undefined, async (d) => { await writeFile(join(d, 'a'), 'A'); });
    snap.close();   // synced and marked: the updates below make it a row waiting for a sync
    const syncDir = join(root, 'snapshots', 'sync');
    await mkdir(syncDir, { recursive: true });
    const bootNow = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    await writeFile(join(syncDir, `${bootNow}.1.2`), '');
    const db = new DatabaseSync(join(root, 'snapshots', 'metadata.db'));
    db.exec(`UPDATE snapshots SET synced = 0, sync_token = '${bootNow}.1.2'`);
    db.close();
    snap = await OverlaySnapshotter.open(root);
    snap.close();
    const synced = (): unknown => {
      const d = new DatabaseSync(join(root, 'snapshots', 'metadata.db'));
      try { return d.prepare("SELECT synced FROM snapshots WHERE name = 'pending'").get()?.['synced']; } finally { d.close(); }
    };
    expect(synced()).to.equal(0);   // still running (or killed): not proven
    // An earlier boot's token with its file gone proves nothing either: that boot's unsynced rows are dropped.
    const db2 = new DatabaseSync(join(root, 'snapshots', 'metadata.db'));
    db2.exec("UPDATE snapshots SET boot = 'an-earlier-boot', sync_token = 'an-earlier-boot.1.2'");
    db2.close();
    await writeFile(join(syncDir, 'an-earlier-boot.3.4'), '');
    snap = await OverlaySnapshotter.open(root);
    expect(snap.list().map((s) => s.name)).to.deep.equal([]);
    expect(await readdir(syncDir)).to.deep.equal([`${bootNow}.1.2`]);
  });
});
