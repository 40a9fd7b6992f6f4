import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runExec } from '../../worker/exec/index.js';
import { ExecFixture, RecordingProgress, shell, writeBusyboxRootfs } from './worker-exec-rootfs.js';

function pgrep(pattern: string): string {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' });
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
}

describe('runExec: cancellation and deep layer chains', () => {
  let fx: ExecFixture;
  before(async () => { fx = await ExecFixture.create(); });
  after(async () => { await fx.remove(); });

  it('kills the container when aborted and leaves no process and no mount behind', async () => {
    const env = await fx.step();
    const progress = new RecordingProgress();
    const ac = new AbortController();
    progress.onLog = (text) => { if (text.includes('ready')) ac.abort(); };
    const started = Date.now();
    const err = await runExec(shell('echo ready; sleep 100.4242; echo never'), env, ac.signal, progress).then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'CANCELLED');
    expect(Date.now() - started, 'a killed sleep does not run its 100 s').to.be.below(10_000);
    expect(pgrep('sleep 100.4242')).to.equal('');
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    expect(mountinfo).to.not.contain(env.rootfs.upperDir);
    expect(mountinfo).to.not.contain(env.stateDir);
    expect(progress.stdout).to.not.contain('never');
  });

  it('rejects at once with CANCELLED when the signal is already aborted', async () => {
    const env = await fx.step();
    const err = await runExec(shell('true'), env, AbortSignal.abort(), new RecordingProgress()).then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'CANCELLED');
  });

  it('mounts the step root overlay volatile, so fsync inside a RUN is not passed down to the host disk', async () => {
    // dpkg fsyncs every file it unpacks: without volatile each went to the host disk (71 us each against buildah's
    // 4.6 us). Durability comes from the one syncfs per build and the boot check (worker/snapshots/overlay.ts).
    const env = await fx.step();
    const progress = new RecordingProgress();
    await runExec(shell("grep ' / / ' /proc/self/mountinfo"), env, new AbortController().signal, progress);
    expect(progress.stdout).to.match(/ - overlay overlay /);
    expect(progress.stdout).to.contain(`upperdir=${env.rootfs.upperDir}`);
    expect(progress.stdout, 'kernel 6.x prints fsync=volatile, 5.10 to 5.x volatile').to.match(/[,=]volatile(,|\n|$)/);
  });

  it('runs on a 150-deep lower chain whose overlay options exceed a page', async () => {
    // Layers under one long-named parent: absolute lowerdir paths add up to far more than a page, so the helper
    // must chdir into the parent and pass short relative paths, as containerd does.
    const parent = join(fx.root, `snapshots-${'p'.repeat(120)}`);
    const lowers: string[] = [];
    for (let i = 0; i < 150; i++) {
      const dir = join(parent, String(i));
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `f${i}`), String(i));
      lowers.unshift(dir);
    }
    const busybox = join(parent, 'base');
    await writeBusyboxRootfs(busybox);
    lowers.push(busybox);
    expect(lowers.join(':').length).to.be.above(4096 * 4);
    for (const d of ['upper', 'work', 'state']) await mkdir(join(parent, d));
    const env = {
      rootfs: { lowerDirs: lowers, upperDir: join(parent, 'upper'), workDir: join(parent, 'work') },
      sources: {}, cacheDir: join(fx.root, 'cache'), secrets: {}, stateDir: join(parent, 'state'), tempDir: parent,
    };
    const progress = new RecordingProgress();
    await runExec(shell('ls / | grep -c "^f"; cat /f0 /f149; echo'), env, new AbortController().signal, progress);
    expect(progress.stdout).to.equal('150\n0149\n');
  });
});
