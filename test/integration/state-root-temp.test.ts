import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killNode, mountsMentioning, startTsbuild, storeProblems, waitFor, type RunningBuild } from '../fixtures/crash-points.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// Nothing a build does is left in the host's $TMPDIR (a tmpfs on many CI hosts, and shared with other users): what it
// keeps for a while (snapshot mount points, the empty directory of an empty output) is in `<root>/tmp/<kind>-<pid>-…`
// (worker/temp-dirs.ts), and the next build on the root removes what a build killed with SIGKILL left there,
// unmounting a mount point first. Each case holds the build at the point where its temp dir is in use (an output FIFO
// nobody reads yet), looks at both places, and then lets it finish, or kills it and runs the next build. TMPDIR is a
// fresh empty directory of the test's own.

describe('a build keeps its temp dirs in the state root, never in TMPDIR, and the next build removes a killed one\'s', function () {
  this.timeout(180_000);
  let dir = '';
  let hostTmp = '';
  let n = 0;
  const env = (): NodeJS.ProcessEnv => ({ TMPDIR: hostTmp, TSBUILD_DAEMON: '0' });
  const newRoot = (): string => join(dir, `root${++n}`);
  const context = async (files: Record<string, string>): Promise<string> => {
    const ctx = join(dir, `ctx${++n}`);
    await mkdir(ctx);
    for (const [name, text] of Object.entries(files)) await writeFile(join(ctx, name), text);
    return ctx;
  };
  /** Builds started without waiting: a failed test's are killed (one blocked on an output FIFO would never end). */
  const started: RunningBuild[] = [];
  const track = (running: RunningBuild): RunningBuild => { started.push(running); return running; };
  const build = (root: string, args: string[]): RunningBuild => track(startTsbuild(['build', '--root', root, '--progress', 'plain', ...args], env()));
  /** A build of a small local context on `root` that must succeed: the next build after a killed one. */
  const nextBuild = async (root: string): Promise<void> => {
    const out = join(dir, `out${++n}`);
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '-o', `type=local,dest=${out}`, await context({ Dockerfile: 'FROM scratch\nCOPY f /f\n', f: 'next\n' })], { env: env() });
    expect(r.code, r.stderr).to.equal(0);
    expect(await readFile(join(out, 'f'), 'utf8')).to.equal('next\n');
  };
  const isMountPoint = (path: string): boolean => mountsMentioning([` ${path} `]).length > 0;
  /**
   * Waits until `running` has a temp dir of `kind` in `root`'s temp dir (or anything in TMPDIR, where the old code put
   * it), then checks it is in the state root, private and named for the build's pid, and that TMPDIR is empty.
   */
  const inUse = async (root: string, kind: string, running: RunningBuild): Promise<string> => {
    const tmp = join(root, 'tmp');
    const found = await waitFor(`a ${kind} temp dir (${running.output()})`, async () => {
      const inHostTmp = await readdir(hostTmp);
      if (inHostTmp.length > 0) return { inHostTmp };
      const entry = (await readdir(tmp).catch(() => [])).find((e) => e.startsWith(`${kind}-`));
      return entry === undefined ? undefined : { entry };
    });
    expect(found.inHostTmp ?? [], 'TMPDIR while the build uses its temp dir').to.deep.equal([]);
    const entry = found.entry ?? '';
    expect(entry).to.match(new RegExp(`^${kind}-${running.pid}-`));
    // (A mount point shows the mode of what is mounted on it.)
    if (!isMountPoint(join(tmp, entry))) expect((await stat(join(tmp, entry))).mode & 0o777).to.equal(0o700);
    return entry;
  };
  const expectNothingLeft = async (root: string): Promise<void> => {
    expect(await readdir(join(root, 'tmp')), 'the state root\'s temp dir').to.deep.equal([]);
    expect(await readdir(hostTmp), 'TMPDIR').to.deep.equal([]);
    expect(mountsMentioning([join(root, 'tmp')]), 'mounts in the temp dir').to.deep.equal([]);
  };
  const kill = async (running: RunningBuild): Promise<void> => {
    killNode(running.pid);
    expect((await running.done).signal).to.equal('SIGKILL');
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-state-tmp-'));
    hostTmp = join(dir, 'host-tmp');
    await mkdir(hostTmp, { mode: 0o700 });
  });
  afterEach(async () => {
    for (const running of started.splice(0)) {
      try { process.kill(running.pid, 'SIGKILL'); } catch { /* ended */ }
    }
    // A killed build's own TMPDIR leftovers (the old code) must not fail the next test too.
    for (const entry of await readdir(hostTmp)) await unmountUnder(join(hostTmp, entry)).then(() => rm(join(hostTmp, entry), { recursive: true, force: true }));
  });
  after(async () => {
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('mounts the snapshot an output reads in the state root (mnt-<pid>-…); after a SIGKILL the next build unmounts it, then removes it', async () => {
    const ctx = await context({ Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' });
    const root = newRoot();
    // A FIFO as the tar output: the build mounts the image's filesystem, then waits for a reader.
    const fifo = join(dir, 'mnt.fifo');
    execFileSync('mkfifo', [fifo]);
    const first = build(root, ['-o', `type=tar,dest=${fifo}`, ctx]);
    const mnt = await inUse(root, 'mnt', first);
    expect(isMountPoint(join(root, 'tmp', mnt)), 'the snapshot is mounted there').to.equal(true);
    const tarred = await readFile(fifo);
    const done = await first.done;
    expect(done.code, done.stderr).to.equal(0);
    expect(tarred.includes(Buffer.from('a.txt'))).to.equal(true);
    await expectNothingLeft(root);

    const killed = build(root, ['-o', `type=tar,dest=${fifo}`, ctx]);
    const left = await inUse(root, 'mnt', killed);
    await kill(killed);
    // kill -9 skipped the unmount: the committed snapshot stays mounted there until the next build takes it down.
    expect(isMountPoint(join(root, 'tmp', left)), 'the mount this test is about').to.equal(true);
    expect(await readdir(hostTmp)).to.deep.equal([]);
    await nextBuild(root);
    await expectNothingLeft(root);
    // The snapshot under the stale mount is whole: the cached step gives the same file.
    const out = join(dir, 'mnt-out');
    const again = await tsbuild(['build', '--root', root, '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx], { env: env() });
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stderr).to.not.contain('MISS');
    expect(await readFile(join(out, 'a.txt'), 'utf8')).to.equal('a\n');
    expect(await storeProblems(root)).to.deep.equal([]);
  });

  it('gives an empty output (FROM scratch) its empty directory in the state root (empty-<pid>-…), removed after a SIGKILL by the next build', async () => {
    const ctx = await context({ Dockerfile: 'FROM scratch\n' });
    const root = newRoot();
    const fifo = join(dir, 'empty.fifo');
    execFileSync('mkfifo', [fifo]);
    const first = build(root, ['-o', `type=tar,dest=${fifo}`, ctx]);
    await inUse(root, 'empty', first);
    await readFile(fifo);
    const done = await first.done;
    expect(done.code, done.stderr).to.equal(0);
    await expectNothingLeft(root);

    const killed = build(root, ['-o', `type=tar,dest=${fifo}`, ctx]);
    await inUse(root, 'empty', killed);
    await kill(killed);
    expect(await readdir(join(root, 'tmp'))).to.have.length(1);
    await nextBuild(root);
    await expectNothingLeft(root);
  });

  it('never deletes through what is mounted in a dead build\'s temp dir: it unmounts first, and leaves a live build\'s alone', async () => {
    const root = newRoot();
    await nextBuild(root);
    const tmp = join(root, 'tmp');
    const dead = await deadPid();
    // What a bind mount shows is someone's files (a committed snapshot, whose read-only remount is a second mount(2)
    // a kill can come before): the sweep must take the mount down, never delete through it.
    const shown = join(dir, 'shown');
    await mkdir(join(shown, 'sub'), { recursive: true });
    await writeFile(join(shown, 'keep.txt'), 'keep\n');
    await writeFile(join(shown, 'sub', 'keep.txt'), 'keep\n');
    const targets = {
      rw: join(tmp, `mnt-${dead}-rw`),
      ro: join(tmp, `mnt-${dead}-ro`),
      stacked: join(tmp, `mnt-${dead}-stacked`),
      nested: join(tmp, `exec-${dead}-nested`, 'rootfs'),
      live: join(tmp, `mnt-${process.pid}-live`),
    };
    for (const t of Object.values(targets)) await mkdir(t, { recursive: true });
    // And plain leftovers: a rootless overlay probe's (a kind with a dash in its name) and an exec state dir.
    await mkdir(join(tmp, `overlay-probe-${dead}-p`, 'upper'), { recursive: true });
    await writeFile(join(tmp, `exec-${dead}-nested`, 'spec.json'), '{}');
    const mount = (...args: string[]): void => { execFileSync('mount', args); };
    mount('--bind', shown, targets.rw);
    mount('-o', 'bind,ro', shown, targets.ro);
    mount('--bind', shown, targets.stacked);
    mount('--bind', shown, targets.stacked);
    mount('--bind', shown, targets.nested);
    mount('--bind', shown, targets.live);
    try {
      const prune = await tsbuild(['prune', '--root', root], { env: env() });
      expect(prune.code, prune.stderr).to.equal(0);
      expect(await readFile(join(shown, 'keep.txt'), 'utf8')).to.equal('keep\n');
      expect(await readFile(join(shown, 'sub', 'keep.txt'), 'utf8')).to.equal('keep\n');
      expect(await readdir(tmp), 'only the live process\'s entry stays').to.deep.equal([`mnt-${process.pid}-live`]);
      expect(isMountPoint(targets.live), 'a live process\'s mount stays').to.equal(true);
      expect(mountsMentioning([`-${dead}-`]), 'the dead build\'s mounts').to.deep.equal([]);
    } finally {
      await unmountUnder(tmp);
    }
  });
});

/** The pid of a process that has just ended (never reused this soon on a machine that is not out of pids). */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  const pid = child.pid ?? 0;
  await new Promise((resolve) => child.on('close', resolve));
  return pid;
}

/** Unmounts everything mounted at or under `dir`, the newest first (a failed test's leftovers). */
async function unmountUnder(dir: string): Promise<void> {
  const targets = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '')
    .filter((t) => t === dir || t.startsWith(`${dir}/`));
  for (const t of targets.reverse()) await run('umount', ['-l', t]);
}
