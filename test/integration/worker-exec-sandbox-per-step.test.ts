// Issue 15 (per-step cost), through the real command: the worker's RUN helpers are started ahead of need and moved
// into the shared cgroups between steps, and the /etc files and the rootfs mount point live in the helper's private
// tmpfs. None of that may weaken a step's sandbox: every step of a chain, whichever helper ran it, keeps the device
// allow-list, a privileged step in between does not leak its policy to the next, /etc files a step writes never
// reach the next step, and nothing is left behind on the host.
import { expect } from 'chai';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv } from '../fixtures/build-env.js';
import type { BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';
import { BuildCgroups, HelperPool } from '../../worker/exec/index.js';
import { DEFAULT_DEVICE_RULES } from '../../worker/exec/devices.js';
import { helperPath } from '../../worker/exec/helper-process.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

describe('tsbuild build: the RUN sandbox on every step of a chain (issue 15 per-step work)', function () {
  this.timeout(180_000);
  let env: BuildEnv;
  before(async () => { env = await startBuildEnv('tsbuild-per-step-'); });
  after(async () => { await env.stop(); });

  it('refuses a forbidden device on every sandboxed step, also after a privileged one, and keeps /etc writes out of the next step', async () => {
    const ctx = join(env.dir, 'chain');
    await mkdir(ctx, { recursive: true });
    // $((…)) so that the words checked below are printed only by the steps, never by the echoed command lines.
    // Opening is the probe (a read of a terminal would wait for input): `: < node` only opens it.
    const probe = (n: number): string => `RUN mknod /tmp/tty1-${n} c 4 1 && ( (: < /tmp/tty1-${n}) 2>/dev/null && echo "opened-$((${n}*1000))" || echo "refused-$((${n}*1000))"); rm -f /tmp/tty1-${n}`;
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base}`,
      `RUN echo nonce-${Date.now()} > /nonce`,
      probe(1), probe(2),
      'RUN --security=insecure mknod /tmp/tty1-p c 4 1 && ( (: < /tmp/tty1-p) 2>/dev/null && echo "privileged-opened-$((7*6))" || echo "privileged-refused-$((7*6))"); rm -f /tmp/tty1-p',
      probe(3),
      `RUN echo "written-by-a-step" >> /etc/hosts && echo "step-host-$((40+2))" > /etc/hostname`,
      `RUN grep -c written-by-a-step /etc/hosts || echo "hosts-clean-$((40+2))"; cat /etc/hostname`,
      probe(4),
      '',
    ].join('\n'));
    const root = join(env.dir, 'root-chain');
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '--allow', 'security.insecure', ctx]);
    expect(r.code, r.stderr).to.equal(0);
    const out = r.stdout + r.stderr;
    for (const n of [1, 2, 3, 4]) {
      expect(out, `step ${n}`).to.contain(`refused-${n * 1000}`);
      expect(out, `step ${n}`).to.not.contain(`opened-${n * 1000}`);
    }
    expect(out).to.contain('privileged-opened-42');
    expect(out).to.contain('hosts-clean-42');
    expect(out).to.not.contain('step-host-42');
    // Nothing of the helpers' is left: the shared mount point is empty on the host, no state dir stays, and no
    // helper outlives the build.
    expect(await readdir(join(root, 'run-scratch'))).to.deep.equal([]);
    expect(await readdir(join(root, 'tmp'))).to.deep.equal([]);
    const ps = await run('ps', ['-eo', 'args=']);
    expect(ps.stdout.split('\n').filter((l) => l.includes(join(env.dir)) && l.includes('tsbuild-run'))).to.deep.equal([]);
  });

  // The fit rule itself, without timing: a helper moved into the sandboxed set never serves a step with another set
  // (a privileged step's set has no devices cgroup: its container would inherit the sandboxed one).
  it("removes the cgroups a build killed with SIGKILL left (shared and per step), never a live build's", async () => {
    // A pid that is certainly gone: a child that has exited and been reaped.
    const gone = spawnSync('true').pid;
    if (gone === undefined) throw new Error('cannot start `true`');
    const parent = '/sys/fs/cgroup/pids/tsbuild';
    if (!existsSync('/sys/fs/cgroup/pids')) throw new Error('this host has no cgroup v1 pids controller to test the sweep with');
    const dead = [`step-${gone}-0-aa`, `build-${gone}-bb-0`].map((n) => join(parent, n));
    // A step with --cpuset-cpus has a cpuset cgroup too (cgroup.ts v1Cpuset): swept as well.
    if (existsSync('/sys/fs/cgroup/cpuset')) dead.push(join('/sys/fs/cgroup/cpuset/tsbuild', `step-${gone}-0-dd`));
    const live = join(parent, `step-${process.pid}-0-cc`);
    for (const d of [...dead, live]) await mkdir(d, { recursive: true });
    const cgroups = new BuildCgroups();
    try {
      await cgroups.acquire(DEFAULT_DEVICE_RULES);
      for (const d of dead) expect(existsSync(d), d).to.equal(false);
      expect(existsSync(live)).to.equal(true);
    } finally {
      cgroups.close();
      await rmdir(live).catch(() => undefined);
    }
  });

  it('starts a waiting helper when a step begins (prepare), once, and gives that very helper to the step', async () => {
    const pool = new HelperPool();
    const binary = helperPath();
    // This process's own helpers, by pid (other tests and builds on the machine have theirs).
    const helpers = (): string[] => spawnSync('pgrep', ['-P', String(process.pid), '-f', binary], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l !== '').sort();
    const children: ChildProcess[] = [];
    try {
      expect(helpers()).to.deep.equal([]);
      pool.prepare(binary);
      const waiting = helpers();
      expect(waiting).to.have.length(1);
      pool.prepare(binary);   // one waits already: no second fork
      expect(helpers()).to.deep.equal(waiting);
      const taken = pool.take(binary, []).child;
      children.push(taken);
      expect(String(taken.pid)).to.equal(waiting[0]);
      await new Promise((r) => setImmediate(r));   // take() starts the next one to wait
      expect(helpers()).to.have.length(2);
    } finally {
      for (const child of children) await killAndWait(child);
      pool.close();
    }
  });

  it('gives a helper already in the sandboxed cgroups only to a sandboxed step', async () => {
    const cgroups = new BuildCgroups();
    const pool = new HelperPool(cgroups);
    const binary = helperPath();
    const children: ChildProcess[] = [];
    try {
      const sandboxed = (await cgroups.acquire(DEFAULT_DEVICE_RULES))?.procsFiles;
      const privileged = (await cgroups.acquire(undefined))?.procsFiles;
      if (sandboxed === undefined || privileged === undefined) throw new Error('this host has no shared (cgroup v1) RUN cgroups: the pre-joined helper cannot be tested here');
      children.push(pool.take(binary, []).child);   // no helper waits yet: a new one, and one is started to wait
      await new Promise((r) => setImmediate(r));
      pool.settle();
      for (let i = 0; i < 300 && !pool.hasJoined(binary); i++) await sleep(10);
      expect(pool.hasJoined(binary), 'the waiting helper moved into the sandboxed set').to.equal(true);
      const forPrivileged = pool.take(binary, privileged);
      children.push(forPrivileged.child);
      expect(forPrivileged.cgroups).to.deep.equal([]);
      expect(pool.hasJoined(binary), 'the moved helper still waits for a sandboxed step').to.equal(true);
      const forSandboxed = pool.take(binary, sandboxed);
      children.push(forSandboxed.child);
      expect(forSandboxed.cgroups).to.deep.equal(sandboxed);
      expect(forSandboxed.child.pid).to.not.equal(forPrivileged.child.pid);
      for (const file of sandboxed) expect((await readFile(file, 'utf8')).split('\n')).to.include(String(forSandboxed.child.pid));
    } finally {
      for (const child of children) await killAndWait(child);
      pool.close();
      cgroups.close();
    }
  });
});
