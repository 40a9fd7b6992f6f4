import { expect } from 'chai';
import { lstat, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runExec, RunError } from '../../worker/exec/index.js';
import { ExecFixture, RecordingProgress, shell } from './worker-exec-rootfs.js';

async function run(fx: ExecFixture, script: string, over: Parameters<typeof shell>[1] = {}) {
  const env = await fx.step();
  const progress = new RecordingProgress();
  await runExec(shell(script, over), env, new AbortController().signal, progress);
  return { env, out: progress.stdout, err: progress.stderr };
}

describe('runExec: the process and its sandbox', () => {
  let fx: ExecFixture;
  before(async () => { fx = await ExecFixture.create(); });
  after(async () => { await fx.remove(); });

  it('streams the output of echo hello to progress', async () => {
    const { out } = await run(fx, 'echo hello; echo oops >&2');
    expect(out).to.equal('hello\n');
  });

  it('fails with RunError carrying exit code 3 and the last output lines', async () => {
    const env = await fx.step();
    const err = await runExec(shell('for i in $(seq 1 30); do echo line$i; done; exit 3'), env, new AbortController().signal, new RecordingProgress())
      .then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(RunError);
    const runErr = err as RunError;
    expect(runErr.code).to.equal('RUN_FAILED');
    expect(runErr.exitCode).to.equal(3);
    expect(runErr.tail).to.have.length(20);
    expect(runErr.tail.at(-1)).to.equal('line30');
    expect(runErr.message).to.contain('did not complete successfully: exit code: 3');
  });

  it('reports a missing executable as exit code 127 found nowhere in PATH', async () => {
    const env = await fx.step();
    const op = { ...shell(''), argv: ['no-such-tool', '--version'] };
    const err = await runExec(op, env, new AbortController().signal, new RecordingProgress()).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(RunError);
    expect((err as RunError).exitCode).to.equal(127);
  });

  it('says an environment past the kernel\'s limit is an argument list too long (E2BIG), not a permission problem', async () => {
    const env = await fx.step();
    const op = shell('echo ok', { env: ['PATH=/usr/bin:/bin', `BIG=${'b'.repeat(200_000)}`] });
    const err = await runExec(op, env, new AbortController().signal, new RecordingProgress()).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(RunError);
    expect((err as RunError).message).to.contain('exec: "/bin/sh": argument list too long');
    expect((err as RunError).hint).to.contain('128 KiB for one string');
  });

  it('finds a bare argv[0] through the PATH of the container environment', async () => {
    const env = await fx.step();
    const progress = new RecordingProgress();
    await runExec({ ...shell(''), argv: ['echo', 'via', 'path'] }, env, new AbortController().signal, progress);
    expect(progress.stdout).to.equal('via path\n');
  });

  it('writes new files to the upper dir and leaves the lower dir alone', async () => {
    const { env } = await run(fx, 'echo data > /created.txt; mkdir -p /opt/app && echo x > /opt/app/f');
    expect(await readFile(join(env.rootfs.upperDir, 'created.txt'), 'utf8')).to.equal('data\n');
    expect(await readFile(join(env.rootfs.upperDir, 'opt/app/f'), 'utf8')).to.equal('x\n');
    expect((await readdir(fx.lower)).sort()).to.deep.equal(['bin', 'etc', 'tmp']);
  });

  it('records a deleted lower file as an overlay whiteout in the upper dir', async () => {
    const { env } = await run(fx, 'rm /etc/motd');
    const st = await lstat(join(env.rootfs.upperDir, 'etc/motd'));
    expect(st.isCharacterDevice()).to.equal(true);
    expect(st.rdev).to.equal(0);
    expect(await readFile(join(fx.lower, 'etc/motd'), 'utf8')).to.equal('from the lower layer\n');
  });

  it('runs the step as pid 1 of its own pid namespace', async () => {
    const { out } = await run(fx, 'echo $$; cat /proc/1/cmdline | tr "\\0" " "; echo; ls /proc | grep -c "^[0-9]"');
    const [pid, cmdline, count] = out.split('\n');
    expect(pid).to.equal('1');
    expect(cmdline).to.match(/^\/bin\/sh -c echo/);
    expect(Number(count), 'only the step and its own children are visible').to.be.below(5);
  });

  it('sets the hostname and provides /etc/hosts, /etc/hostname and /etc/resolv.conf without leaking them', async () => {
    const { env, out } = await run(fx, 'hostname; cat /etc/hostname; grep -c localhost /etc/hosts; test -e /etc/resolv.conf && echo resolv');
    expect(out).to.equal('buildkitsandbox\nbuildkitsandbox\n2\nresolv\n');
    const upper = await readdir(env.rootfs.upperDir);
    expect(upper, 'no /proc, /dev, /sys stubs either').to.deep.equal([]);
  });

  it('leaves the upper root with its mtime when the step only got mount stubs', async () => {
    const env = await fx.step();
    const before = (await stat(env.rootfs.upperDir, { bigint: true })).mtimeNs;
    await runExec(shell('true'), env, new AbortController().signal, new RecordingProgress());
    const after = (await stat(env.rootfs.upperDir, { bigint: true })).mtimeNs;
    expect(Number(after - before) / 1000, 'microseconds apart').to.be.within(-2, 2);
  });

  it('resolves USER nobody, uid:gid and supplementary groups from the rootfs', async () => {
    expect((await run(fx, 'id -u; id -g', { user: 'nobody' })).out).to.equal('65534\n65534\n');
    expect((await run(fx, 'id -u; id -g', { user: '1000:1000' })).out).to.equal('1000\n1000\n');
    expect((await run(fx, 'id -G', { user: 'app' })).out).to.equal('1000 2000\n');
    expect((await run(fx, 'id -u; id -g', { user: '4242' })).out).to.equal('4242\n0\n');
  });

  it('sets HOME from /etc/passwd when the environment has none', async () => {
    expect((await run(fx, 'echo $HOME')).out).to.equal('/root\n');
    expect((await run(fx, 'echo $HOME', { user: 'app' })).out).to.equal('/home/app\n');
    expect((await run(fx, 'echo $HOME', { env: ['PATH=/bin', 'HOME=/custom'] })).out).to.equal('/custom\n');
  });

  it('keeps every capability and unmasks /proc for security=insecure', async () => {
    const { out } = await run(fx, 'grep CapEff /proc/self/status; head -c1 /proc/interrupts | wc -c', { security: 'insecure' });
    const own = (await readFile('/proc/self/status', 'utf8')).split('\n').find((l) => l.startsWith('CapEff'));
    expect(out).to.equal(`${own}\n1\n`);
  });

  it('fails with RUN_FAILED when the user does not exist in /etc/passwd', async () => {
    const env = await fx.step();
    const err = await runExec(shell('true', { user: 'ghost' }), env, new AbortController().signal, new RecordingProgress()).then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'RUN_FAILED');
  });

  it("keeps exactly Docker's default capabilities for root and none for other users", async () => {
    expect((await run(fx, 'grep -E "^Cap(Eff|Bnd)" /proc/self/status')).out)
      .to.equal('CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n');
    expect((await run(fx, 'grep -E "^Cap(Eff|Bnd)" /proc/self/status', { user: 'app' })).out)
      .to.equal('CapEff:\t0000000000000000\nCapBnd:\t00000000a80425fb\n');
  });

  it('leaves no_new_privs off as BuildKit does, with the seccomp filter still in place', async () => {
    expect((await run(fx, 'grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status')).out).to.equal('NoNewPrivs:\t0\nSeccomp:\t2\n');
  });

  it('gives network=none only a loopback interface that is up', async () => {
    expect((await run(fx, 'ls /sys/class/net; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping')).out).to.equal('lo\nping\n');
  });

  it('shares the host network namespace for network=host', async () => {
    const { out } = await run(fx, 'readlink /proc/1/ns/net', { network: 'host' });
    const { readlink } = await import('node:fs/promises');
    expect(out.trim()).to.equal(await readlink('/proc/self/ns/net'));
  });

  it('masks /proc/interrupts and /proc/acpi and makes /proc/sys and /sys read-only', async () => {
    // /proc/kcore is masked too, but this kernel has none; /proc/interrupts always has content on the host.
    const { out } = await run(fx, 'wc -c < /proc/interrupts; ls /proc/acpi | wc -l; echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo ro; touch /sys/x 2>/dev/null || echo sysro');
    expect(out).to.equal('0\n0\nro\nsysro\n');
  });

  it('creates a missing working directory before starting the process', async () => {
    const { env, out } = await run(fx, 'pwd', { cwd: '/work/dir' });
    expect(out).to.equal('/work/dir\n');
    expect((await stat(join(env.rootfs.upperDir, 'work/dir'))).isDirectory()).to.equal(true);
  });

  it('applies a pids limit through the step cgroup', async () => {
    const env = await fx.step(undefined, { limits: { pidsMax: 3 } });
    const progress = new RecordingProgress();
    const err = await runExec(shell('for i in 1 2 3 4 5 6; do sleep 1 & done; wait'), env, new AbortController().signal, progress)
      .then(() => undefined, (e: unknown) => e);
    expect(err, progress.stderr).to.be.instanceOf(RunError);
    expect(progress.stderr).to.match(/fork/i);
  });

  it('applies a memory limit through the step cgroup: a process over it is killed', async () => {
    const env = await fx.step(undefined, { limits: { memoryBytes: 32 * 1024 * 1024, cpuShares: 512 } });
    const err = await runExec(shell('dd if=/dev/zero of=/dev/null bs=100M count=1 2>/dev/null'), env, new AbortController().signal, new RecordingProgress())
      .then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(RunError);
    expect((err as RunError).exitCode, 'SIGKILL from the OOM killer').to.equal(137);
  });
});
