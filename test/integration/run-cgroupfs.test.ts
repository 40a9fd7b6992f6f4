// A RUN step sees its own cgroups at /sys/fs/cgroup, as Docker's, runc's and BuildKit's containers do: cgroup2 there
// on a v2 host; on a v1 or hybrid host a tmpfs with each v1 hierarchy the step has a cgroup of its own in, under its
// name (a link per controller of a combined one); no other hierarchy, whose root would be tsbuild's own cgroup (the
// host's tree). Read-only unless the step is privileged, and each mount rooted at the step's own cgroup (the helper
// joins it, then unshares the cgroup namespace): a JVM or the Go runtime reads the step's limit there. Real helper, real cgroups, and the real CLI for the Dockerfile a user writes.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecOp } from '../../frontend/index.js';
import { BuildCgroups, runExec } from '../../worker/exec/index.js';
import type { ExecEnvironment } from '../../worker/exec/index.js';
import { startBuildEnv } from '../fixtures/build-env.js';
import type { BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';
import { ExecFixture, RecordingProgress, shell } from './worker-exec-rootfs.js';

const CGROUP_ROOT = '/sys/fs/cgroup';
const isV2 = existsSync(join(CGROUP_ROOT, 'cgroup.controllers'));
// Where a step's memory cgroup is: on v2 the cgroup itself, on v1 the memory hierarchy's directory.
const MEMORY = isV2 ? CGROUP_ROOT : join(CGROUP_ROOT, 'memory');
const LIMIT_FILE = join(MEMORY, isV2 ? 'memory.max' : 'memory.limit_in_bytes');

/** This host's v1 hierarchies as /proc/self/cgroup names them ("memory", "cpu,cpuacct", "name=systemd"). */
function hostHierarchies(): string[] {
  return readFileSync('/proc/self/cgroup', 'utf8').split('\n').map((l) => l.split(':')[1] ?? '').filter((c) => c !== '');
}

/** The mounts at and under /sys/fs/cgroup a step printed (mountinfo's mount point, options and fstype). */
const MOUNTS_SCRIPT = 'awk \'$5 ~ "^/sys/fs/cgroup" { for (i = 7; $i != "-"; i++); print "mount", $5, $6, $(i+1) }\' /proc/self/mountinfo';

function mountsIn(out: string): { at: string; opts: string[]; fstype: string }[] {
  return out.split('\n').map((l) => /^mount (\S+) (\S+) (\S+)$/.exec(l)).filter((m) => m !== null)
    .map((m) => ({ at: m[1] ?? '', opts: (m[2] ?? '').split(','), fstype: m[3] ?? '' }));
}

async function step(env: ExecEnvironment, script: string, over: Partial<ExecOp> = {}, progress = new RecordingProgress()): Promise<string> {
  await runExec(shell(script, over), env, new AbortController().signal, progress);
  return progress.stdout;
}

/** This process's step or build cgroups (by the pid in their name) under the memory controller's tsbuild dir. */
async function ourCgroups(): Promise<string[]> {
  const parent = join(MEMORY, 'tsbuild');
  const names = await readdir(parent).catch(() => []);
  return names.filter((n) => new RegExp(`^(step|build)-${process.pid}-`).test(n)).map((n) => join(parent, n));
}

describe('RUN: the step\'s own cgroups at /sys/fs/cgroup', function () {
  this.timeout(60_000);
  let fx: ExecFixture;
  before(async () => { fx = await ExecFixture.create(); });
  after(async () => { await fx.remove(); });

  it('shows the step\'s own memory cgroup: the step\'s limit in it, and `/` for it in /proc/self/cgroup', async () => {
    const env = await fx.step(undefined, { limits: { memoryBytes: 48 * 1024 * 1024 } });
    const out = await step(env, `cat ${LIMIT_FILE}; grep ${isV2 ? '"^0::"' : '":memory:"'} /proc/self/cgroup`);
    expect(out).to.match(isV2 ? /^50331648\n0::\/\n$/ : /^50331648\n\d+:memory:\/\n$/);
  });

  it('lays the step\'s hierarchies out as runc does: each under its name, links for combined ones; no hierarchy the step has no cgroup in', async () => {
    const out = await step(await fx.step(), `cd ${CGROUP_ROOT} && for e in *; do if [ -L "$e" ]; then echo "link $e $(readlink "$e")"; else echo "dir $e"; fi; done; ${MOUNTS_SCRIPT}`);
    const mounts = mountsIn(out);
    if (isV2) {
      expect(mounts.map((m) => [m.at, m.fstype])).to.deep.equal([[CGROUP_ROOT, 'cgroup2']]);
      return;
    }
    // The driver puts a step in memory, pids, cpu and devices (worker/exec/cgroup.ts v1Dirs); blkio, freezer,
    // name=systemd … and the hybrid host's `unified` would show tsbuild's own cgroup and what is under it.
    const own = hostHierarchies().filter((h) => h.split(',').some((c) => ['memory', 'pids', 'cpu', 'devices'].includes(c)));
    expect(own.length, 'this host has v1 memory, pids, cpu or devices hierarchies').to.be.greaterThan(0);
    const expected: string[] = [];
    for (const controllers of own) {
      const named = controllers.startsWith('name=') && !controllers.includes(',');
      expected.push(`dir ${named ? controllers.slice('name='.length) : controllers}`);
      if (!named && controllers.includes(',')) {
        for (const c of controllers.split(',')) if (!c.startsWith('name=')) expected.push(`link ${c} ${controllers}`);
      }
    }
    expect(out.split('\n').filter((l) => /^(dir|link) /.test(l)).sort()).to.deep.equal(expected.sort());
    expect(mounts.find((m) => m.at === CGROUP_ROOT)?.fstype).to.equal('tmpfs');
    expect(mounts.find((m) => m.at === join(CGROUP_ROOT, 'memory'))?.fstype).to.equal('cgroup');
    expect(mounts.map((m) => m.at)).not.to.include(join(CGROUP_ROOT, 'unified')).and.not.to.include(join(CGROUP_ROOT, 'systemd'));
    expect(mounts).to.have.length(1 + own.length);
  });

  it('mounts all of it read-only, nosuid, nodev, noexec: no new cgroup, no file, no limit written', async () => {
    const pidsMax = isV2 ? join(CGROUP_ROOT, 'pids.max') : join(CGROUP_ROOT, 'pids', 'pids.max');
    const out = await step(await fx.step(), [
      `mkdir ${join(MEMORY, 'x')} 2>/dev/null && echo made || echo mkdir-refused`,
      `touch ${CGROUP_ROOT}/x 2>/dev/null && echo touched || echo touch-refused`,
      `(echo 10 > ${LIMIT_FILE}) 2>/dev/null && echo limit-written || echo limit-refused`,
      `(echo 10 > ${pidsMax}) 2>/dev/null && echo pids-written || echo pids-refused`,
      MOUNTS_SCRIPT,
    ].join('; '));
    expect(out).to.match(/^mkdir-refused\ntouch-refused\nlimit-refused\npids-refused\n/);
    const mounts = mountsIn(out);
    expect(mounts.length).to.be.greaterThan(0);
    for (const m of mounts) expect(m.opts, m.at).to.include.members(['ro', 'nosuid', 'nodev', 'noexec']);
  });

  it('mounts it writable for a privileged step, as Docker does, and still removes the step\'s cgroup and the child it made', async () => {
    const env = await fx.step(undefined, { limits: { memoryBytes: 64 * 1024 * 1024 } });
    const progress = new RecordingProgress();
    let seen: string[] = [];
    const looked = new Promise<void>((resolve) => {
      progress.onLog = (text) => {
        if (!text.includes('made')) return;
        // While the step runs: its cgroup on the host, with the child it just made.
        void ourCgroups().then((dirs) => { seen = dirs.filter((d) => existsSync(join(d, 'child'))); }).finally(resolve);
      };
    });
    const running = step(env, `mkdir ${join(MEMORY, 'child')} && echo made; sleep 1; touch ${CGROUP_ROOT}/x && echo touched; ${MOUNTS_SCRIPT}`, { security: 'insecure' }, progress);
    // A step that never says `made` ends the wait too: the assertions below say what went wrong.
    const [out] = await Promise.all([running, Promise.race([looked, running.catch(() => undefined)])]);
    expect(out).to.match(/^made\ntouched\n/);
    expect(seen, 'the step\'s memory cgroup with its child, on the host').to.have.length(1);
    for (const m of mountsIn(out)) expect(m.opts, m.at).to.include('rw').and.not.include('ro');
    expect(await ourCgroups()).to.deep.equal([]);
  });

  it('removes the build\'s shared cgroups on close() after a privileged step made a child cgroup in them', async () => {
    if (isV2) throw new Error('this host is cgroup v2: steps share no cgroups there (build-cgroups.ts), the test above covers it');
    const cgroups = new BuildCgroups();
    try {
      const out = await step({ ...await fx.step(), cgroups }, `mkdir ${join(MEMORY, 'child')} && echo made`, { security: 'insecure' });
      expect(out).to.equal('made\n');
      const shared = await ourCgroups();
      expect(shared).to.have.length(1);
      expect(existsSync(join(shared[0] ?? '', 'child'))).to.equal(true);
    } finally {
      cgroups.close();
    }
    expect(await ourCgroups()).to.deep.equal([]);
  });

  describe('through the CLI', () => {
    let env: BuildEnv;
    before(async () => { env = await startBuildEnv('tsbuild-cgroupfs-'); });
    after(async () => { await env.stop(); });

    it('lets `RUN cat` read the step\'s memory limit file, and refuses a write to it but for --security=insecure', async () => {
      const ctx = join(env.dir, 'ctx');
      await mkdir(ctx, { recursive: true });
      // $((…)) so that the words checked below are printed only by the steps, never by the echoed command lines.
      await writeFile(join(ctx, 'Dockerfile'), [
        `FROM ${env.base}`,
        `RUN test -n "$(cat ${LIMIT_FILE})" && echo "limit-read-$((40+2))"`,
        `RUN mkdir ${join(MEMORY, 'x')} || echo "sandboxed-refused-$((40+2))"`,
        `RUN --security=insecure mkdir ${join(MEMORY, 'x')} && echo "privileged-made-$((40+2))"`,
        '',
      ].join('\n'));
      const r = await tsbuild(['build', '--root', join(env.dir, 'root'), '--progress', 'plain', '--allow', 'security.insecure', ctx]);
      expect(r.code, r.stderr).to.equal(0);
      const out = r.stdout + r.stderr;
      for (const word of ['limit-read-42', 'sandboxed-refused-42', 'privileged-made-42']) expect(out).to.contain(word);
      expect(out, out).to.contain('Read-only file system');
      // The CLI is another process: no cgroup of any build is left holding the privileged step's child.
      const parent = join(MEMORY, 'tsbuild');
      const left = (await readdir(parent).catch(() => [])).filter((n) => existsSync(join(parent, n, 'x')));
      expect(left).to.deep.equal([]);
    });
  });
});
