// `--resource` (buildx) and docker build's `-m`, `--cpu-*` flags: cgroup limits of every RUN, applied by the kernel,
// never part of a step's key (BuildKit's OpMetadata.linux_resources).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

describe('tsbuild build --resource: cgroup limits of every RUN', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  let n = 0;
  before(async () => { env = await startBuildEnv('tsbuild-run-resources-'); });
  after(async () => { await env.stop(); });

  async function context(dockerfile: string[]): Promise<string> {
    const ctx = join(env.dir, `ctx-${++n}`);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), [`FROM ${env.base}`, ...dockerfile, ''].join('\n'));
    return ctx;
  }
  const build = (root: string, args: string[], ctx: string): Promise<CliResult> =>
    tsbuild(['build', '--root', join(env.dir, root), '--progress', 'plain', ...args, ctx]);

  it('kills a RUN over --memory (the OOM killer), which runs without it; the limit is not in the step\'s key', async () => {
    // $((…)): the word is printed by the step only, never by the echoed command line.
    const ctx = await context(['RUN dd if=/dev/zero of=/dev/null bs=100M count=1 2>/dev/null && echo "fits-$((40+2))"']);
    const limited = await build('mem', ['--memory', '32m'], ctx);
    expect(limited.code, limited.stderr).to.equal(1);
    expect(limited.stderr).to.contain('exit code: 137').and.not.contain('fits-42');
    const free = await build('mem', [], ctx);
    expect(free.code, free.stderr).to.equal(0);
    expect(free.stderr).to.contain('fits-42');
    // Now cached: a limit (even the one that failed it) does not make it miss.
    const again = await build('mem', ['--resource', 'memory=32m'], ctx);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stderr).to.contain('CACHED').and.not.contain('fits-42');
  });

  it('shows the limits in the step\'s own /sys/fs/cgroup (BuildKit\'s testLinuxResources: memory=67108864)', async () => {
    const isV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    const files = isV2 ? ['memory.max', 'cpu.max'] : ['memory/memory.limit_in_bytes', 'cpu/cpu.cfs_quota_us', 'cpu/cpu.cfs_period_us'];
    const ctx = await context([`RUN cd /sys/fs/cgroup && for f in ${files.join(' ')}; do echo "$f=$(cat $f)"; done`]);
    const r = await build('visible', ['--resource', 'memory=67108864', '--cpu-quota', '50000', '--cpu-period', '100000'], ctx);
    expect(r.code, r.stderr).to.equal(0);
    const expected = isV2 ? ['memory.max=67108864', 'cpu.max=50000 100000'] : ['memory/memory.limit_in_bytes=67108864', 'cpu/cpu.cfs_quota_us=50000', 'cpu/cpu.cfs_period_us=100000'];
    for (const line of expected) expect(r.stderr).to.contain(line);
  });

  it('pins RUN to --cpuset-cpus, the later of --resource and the legacy flag winning', async () => {
    const ctx = await context(['RUN grep Cpus_allowed_list /proc/self/status']);
    const r = await build('cpuset', ['--cpuset-cpus', '0-1', '--resource', 'cpuset-cpus=0', '--no-cache'], ctx);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/Cpus_allowed_list:\s+0\n/);
  });

  it('fails a step whose limit this host cannot apply (a CPU it lacks) naming the limit, not as an internal error', async () => {
    const ctx = await context(['RUN echo "ran-$((40+2))"']);
    const r = await build('host-refused', ['--cpuset-cpus', '1023'], ctx);
    expect(r.code, r.stderr).to.not.equal(0);
    expect(r.stderr).to.contain('RUN resource limit cpuset.cpus=1023: the host\'s cgroup refused it').and.not.contain('internal error').and.not.contain('ran-42');
  });

  it('refuses a bad limit by name before building: an unknown key, a size, swap without memory, a CPU list', async () => {
    const ctx = await context(['RUN echo "ran-$((40+2))"']);
    for (const [args, words] of [
      [['--resource', 'disk=1g'], 'unknown resource "disk"'],
      [['-m', 'lots'], 'invalid --resource "memory=lots"'],
      [['--memory-swap', '1g'], 'needs a memory limit'],
      [['--memory', '1g', '--memory-swap', '512m'], 'below the memory limit'],
      [['--cpuset-cpus', '0;1'], 'not a list of CPUs'],
      [['--cpu-quota', '10'], 'at least 1000 microseconds'],
    ] as [string[], string][]) {
      const r = await build('bad', args, ctx);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr).to.contain(words).and.not.contain('ran-42');
    }
  });
  it('applies a bake target\'s `resources` (and a --set over it) to its RUN steps, as buildx bake passes them on', async () => {
    const isV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    const files = isV2 ? ['memory.max', 'cpu.max'] : ['memory/memory.limit_in_bytes', 'cpu/cpu.cfs_quota_us'];
    const ctx = await context([`RUN cd /sys/fs/cgroup && for f in ${files.join(' ')}; do echo "$f=$(cat $f)"; done`]);
    await writeFile(join(ctx, 'docker-bake.hcl'), 'target "base" {\n  resources = { memory = "64m" }\n}\ntarget "app" {\n  inherits = ["base"]\n  resources = { cpu-quota = 50000, cpu-period = "100000" }\n}\n');
    const r = await tsbuild(['bake', '--root', join(env.dir, 'bake'), '--progress', 'plain', '--set', 'app.resources.memory=48m', 'app'], { cwd: ctx });
    expect(r.code, r.stderr).to.equal(0);
    const expected = isV2 ? ['memory.max=50331648', 'cpu.max=50000 100000'] : ['memory/memory.limit_in_bytes=50331648', 'cpu/cpu.cfs_quota_us=50000'];
    for (const line of expected) expect(r.stderr).to.contain(line);
    const bad = await tsbuild(['bake', '--root', join(env.dir, 'bake'), '--progress', 'plain', '--set', 'app.resources.memory=lots', 'app'], { cwd: ctx });
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.contain('"memory=lots"').and.not.contain('    at ');
  });
  describe('--cgroup-parent', () => {
    // A name of this test's own, removed after it (the levels made for it stay after a build, as runc leaves them).
    const parent = `tsbuild-test-${process.pid}/ci`;
    const isV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    const hierarchies = isV2 ? ['/sys/fs/cgroup'] : ['pids', 'memory', 'cpu', 'devices', 'cpuset'].map((c) => `/sys/fs/cgroup/${c}`).filter((d) => existsSync(d));
    after(() => {
      for (const h of hierarchies) {
        for (const d of [`${parent}/tsbuild`, parent, parent.split('/')[0] ?? '']) if (existsSync(join(h, d))) rmdirSync(join(h, d));
      }
    });

    it('makes each RUN\'s cgroup under PARENT/tsbuild (limits and the cpuset levels too), and a build without it misses naming it', async () => {
      const level = join(hierarchies[0] ?? '', parent, 'tsbuild');
      // What a build killed with SIGKILL left under this parent (its pid gone) is swept when the parent is next used.
      const gone = spawnSync('true').pid ?? 0;
      const dead = join(level, `step-${gone}-0-dead`);
      mkdirSync(dead, { recursive: true });
      const ctx = await context(['RUN sleep 1 && grep Cpus_allowed_list /proc/self/status && echo "under-$((40+2))"']);
      const seen: string[] = [];
      const watch = setInterval(() => { if (existsSync(level)) for (const d of readdirSync(level)) if (d.startsWith('step-') && d !== `step-${gone}-0-dead` && !seen.includes(d)) seen.push(d); }, 50);
      const r = await build('parent', ['--cgroup-parent', `/${parent}/`, '--cpuset-cpus', '0', '--memory', '64m'], ctx).finally(() => clearInterval(watch));
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.contain('under-42').and.match(/Cpus_allowed_list:\s+0\n/);
      expect(seen, `no step cgroup seen in ${level}`).to.have.length(1);
      expect(readdirSync(level).filter((d) => d.startsWith('step-')), 'the step\'s cgroup is removed after it, the dead one too').to.deep.equal([]);
      if (!isV2) expect(readFileSync(`/sys/fs/cgroup/cpuset/${parent}/tsbuild/cpuset.cpus`, 'utf8').trim()).to.not.equal('');
      const again = await build('parent', ['--cgroup-parent', parent], ctx);
      expect(again.code, again.stderr).to.equal(0);
      expect(again.stderr).to.contain('CACHED').and.not.contain('under-42');
      const without = await build('parent', [], ctx);
      expect(without.code, without.stderr).to.equal(0);
      expect(without.stderr).to.contain('under-42').and.contain('--cgroup-parent');
    });

    it('refuses a path that leaves the cgroup root, and systemd\'s slice: form, before building', async () => {
      const ctx = await context(['RUN echo "ran-$((40+2))"']);
      for (const [value, want] of [['a/../../b', '".." is not a cgroup name'], ['builds.slice:tsbuild:x', 'slice:prefix form is not supported']]) {
        const r = await build('parent-bad', ['--cgroup-parent', value ?? ''], ctx);
        expect(r.code, r.stderr).to.equal(2);
        expect(r.stderr).to.contain(want).and.not.contain('ran-42').and.not.contain('    at ');
      }
    });
  });
});
