// Issue 14, part 3: a RUN step gets Docker's default sandbox — device allow-list, no controlling terminal,
// seccomp profile, its own network namespace behind a user-mode stack, recursive read-only binds. Real helper,
// real mounts, real slirp4netns.
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ExecOp } from '../../frontend/index.js';
import { DEFAULT_DEVICE_RULES, deviceRuleLine } from '../../worker/exec/devices.js';
import { runHelper } from '../../worker/exec/helper-process.js';
import { BuildCgroups, NetworkSetupError, runExec, RunError, UserNetwork, UserNetworkPool } from '../../worker/exec/index.js';
import { OutputTail } from '../../worker/exec/output-tail.js';
import type { ExecEnvironment } from '../../worker/exec/index.js';
import { ExecFixture, RecordingProgress, shell } from './worker-exec-rootfs.js';
import { isProcessAlive } from '../../common/index.js';

const run = promisify(execFile);

async function step(env: ExecEnvironment, script: string, over: Partial<ExecOp> = {}): Promise<{ out: string; err: string }> {
  const progress = new RecordingProgress();
  await runExec(shell(script, over), env, new AbortController().signal, progress);
  return { out: progress.stdout, err: progress.stderr };
}

async function pidsOf(name: string): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-x', name]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter((l) => l !== '').map(Number);
}

/** True when `pid` descends from this process: other builds on the machine start slirp4netns too. */
async function isOurs(pid: number): Promise<boolean> {
  for (let p = pid; p > 1;) {
    const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    // Fields after the command's `(...)`, which may itself hold spaces: state, then the parent's pid.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(parent) || parent <= 0) return false;
    if (parent === process.pid) return true;
    p = parent;
  }
  return false;
}

// A TCP service on the host's loopback that greets and hangs up: what a RUN step must not reach.
async function hostLoopbackService(): Promise<{ server: Server; port: number }> {
  const server = createServer((sock) => sock.end('hello-from-host\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('runExec: the default sandbox (issue 14)', function () {
  this.timeout(60_000);
  let fx: ExecFixture;
  before(async () => { fx = await ExecFixture.create(); });
  after(async () => { await fx.remove(); });

  describe('devices', () => {
    it('lets a step mknod a block device but not read it, nor open a tty node the allow-list lacks', async () => {
      const { out, err } = await step(await fx.step(),
        'mknod /tmp/sda b 8 0 && echo made; head -c1 /tmp/sda >/dev/null || echo sda-refused; mknod /tmp/tty1 c 4 1; cat /tmp/tty1 || echo tty1-refused');
      expect(out).to.equal('made\nsda-refused\ntty1-refused\n');
      expect(err).to.contain("/tmp/sda: Operation not permitted");
      expect(err).to.contain("/tmp/tty1': Operation not permitted");
    });

    it('keeps /dev/null, /dev/zero and /dev/urandom working', async () => {
      const { out } = await step(await fx.step(), 'echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 16 /dev/urandom | wc -c');
      expect(out).to.equal('4\n16\n');
    });

    it('gives the step device nodes of its own: chmod, chown and touch of /dev/full leave the host\'s node alone', async () => {
      // The nodes were bind mounts of the host's: the step's root changed the host's inode, and `chmod 0600
      // /dev/null` in a RUN would have locked every unprivileged process on the machine out of it.
      const before = await stat('/dev/full');
      try {
        const { out } = await step(await fx.step(),
          'touch -d "2001-02-03 04:05:06" /dev/full && chmod 0600 /dev/full && chown 65534:65534 /dev/full && stat -c "%a %u %Y %t:%T" /dev/full; head -c 2 /dev/full | wc -c');
        expect(out).to.equal('600 65534 981173106 1:7\n2\n');
        const after = await stat('/dev/full');
        expect([after.mode, after.uid, after.gid, after.mtimeMs]).to.deep.equal([before.mode, before.uid, before.gid, before.mtimeMs]);
      } finally {
        // The old code's damage, undone so the machine is left as found.
        await chown('/dev/full', before.uid, before.gid);
        await chmod('/dev/full', before.mode & 0o7777);
        await utimes('/dev/full', before.atime, before.mtime);
      }
    });

    it('refuses to open a device node that came with a base layer', async () => {
      const devLower = join(fx.root, 'dev-lower');
      await mkdir(devLower, { recursive: true });
      await run('mknod', [join(devLower, 'disk'), 'b', '8', '0']);
      const { out } = await step(await fx.step([devLower, fx.lower]), 'test -b /disk && echo present; head -c1 /disk >/dev/null 2>&1 || echo refused');
      expect(out).to.equal('present\nrefused\n');
    });

    it('puts the step in a v1 devices cgroup whose list is exactly Docker\'s allow-list', async () => {
      const root = '/sys/fs/cgroup/devices/tsbuild';
      if (!existsSync('/sys/fs/cgroup/devices')) throw new Error('no cgroup v1 devices controller on this host: only the v2 (BPF) test below applies');
      const env = await fx.step();
      const progress = new RecordingProgress();
      let lists: string[] = [];
      const seen = new Promise<void>((resolve) => {
        progress.onLog = (text) => {
          if (!text.includes('running')) return;
          // While the step runs, its cgroup exists: read every step cgroup's list (other steps may run too).
          void readdir(root).then(async (ids) => {
            lists = await Promise.all(ids.map((id) => readFile(join(root, id, 'devices.list'), 'utf8').catch(() => '')));
          }).finally(resolve);
        };
      });
      await Promise.all([runExec(shell('echo running; sleep 1'), env, new AbortController().signal, progress), seen]);
      const expected = DEFAULT_DEVICE_RULES.map(deviceRuleLine).sort();
      expect(lists.map((l) => l.trim().split('\n').sort())).to.deep.include(expected);
    });
  });

  describe('devices with the build\'s shared cgroups (steps without limits)', () => {
    it('gives every step the same allow-list, enforced, in one cgroup made once and removed by close()', async () => {
      if (!existsSync('/sys/fs/cgroup/devices')) throw new Error('no cgroup v1 devices controller on this host: the shared cgroups are v1 only');
      const cgroups = new BuildCgroups();
      const mine = async (controller = 'devices'): Promise<string[]> => (await readdir(`/sys/fs/cgroup/${controller}/tsbuild`)).filter((d) => d.startsWith(`build-${process.pid}-`));
      const before = [...await mine(), ...await mine('memory')];
      const made = async (controller = 'devices'): Promise<string[]> => (await mine(controller)).filter((d) => !before.includes(d));
      try {
        const script = 'head -c 4 /dev/zero | wc -c; mknod /tmp/tty1 c 4 1; cat /tmp/tty1 || echo tty1-refused';
        const first = await step({ ...await fx.step(), cgroups }, script);
        const second = await step({ ...await fx.step(), cgroups }, script);
        const dirs = await made();
        expect(dirs).to.have.length(1);
        const list = await readFile(join('/sys/fs/cgroup/devices/tsbuild', dirs[0] ?? '', 'devices.list'), 'utf8');
        expect(list.trim().split('\n').sort()).to.deep.equal(DEFAULT_DEVICE_RULES.map(deviceRuleLine).sort());
        for (const { out } of [first, second]) expect(out).to.equal('4\ntty1-refused\n');
        // A privileged step never shares the sandboxed steps' cgroups: it gets a set of its own, with no device list.
        const privileged = await step({ ...await fx.step(), cgroups }, 'mknod /tmp/tty1 c 4 1; test -c /tmp/tty1 && echo made', { security: 'insecure' });
        expect(privileged.out).to.equal('made\n');
        expect(await made()).to.deep.equal(dirs);
        expect(await made('memory')).to.have.length(2);
      } finally {
        cgroups.close();
      }
      expect([...await made(), ...await made('memory')]).to.deep.equal([]);
    });
  });

  describe('devices on cgroup v2', () => {
    // This host is cgroup v1 (hybrid): runExec writes devices.deny/allow there. The v2 path, a BPF_CGROUP_DEVICE
    // program the helper attaches itself, is exercised on the v2 hierarchy that hybrid hosts also mount.
    it('enforces the allow-list with the BPF device program on a cgroup v2 directory', async () => {
      const v2Root = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((d) => existsSync(join(d, 'cgroup.procs')) && existsSync(join(d, 'cgroup.subtree_control')));
      if (v2Root === undefined) throw new Error('no cgroup v2 hierarchy mounted at /sys/fs/cgroup/unified or /sys/fs/cgroup: cannot test the BPF device program');
      const dir = join(v2Root, `tsbuild-test-${process.pid}`);
      await mkdir(dir);
      try {
        const env = await fx.step();
        const rootDir = join(env.stateDir, 'rootfs');
        await mkdir(rootDir, { recursive: true });
        const progress = new RecordingProgress();
        const result = await runHelper({
          argv: ['/bin/sh', '-c', 'mknod /tmp/sda b 8 0 && echo made; head -c1 /tmp/sda || echo sda-refused; mknod /tmp/t c 4 1; cat /tmp/t || echo tty1-refused; head -c 4 /dev/zero | wc -c'],
          env: ['PATH=/bin'], cwd: '/', hostname: 'h', uid: 0, gid: 0, groups: [], network: 'none', isPrivileged: false,
          devices: { cgroupDir: dir, rules: DEFAULT_DEVICE_RULES }, cgroups: [join(dir, 'cgroup.procs')], locks: [],
          rootfs: { dst: rootDir, ...env.rootfs }, overlays: [], mounts: [],
        }, new AbortController().signal, progress, new OutputTail(5));
        expect(result.failure).to.equal(undefined);
        expect(progress.stdout).to.equal('made\nsda-refused\ntty1-refused\n4\n');
      } finally {
        await rmdir(dir);
      }
    });
  });

  describe('terminal', () => {
    it('gives no controlling terminal: /dev/tty is ENXIO even when the build runs in a pseudo-terminal', async () => {
      // python3's pty.spawn runs a driver script as the session leader of a new pseudo-terminal; the driver first
      // proves it can open /dev/tty itself, then runs a step that tries the same.
      const here = fileURLToPath(new URL('.', import.meta.url));
      const driver = join(fx.root, 'tty-driver.mjs');
      await writeFile(driver, [
        `import { openSync, closeSync } from 'node:fs';`,
        `import { runExec } from ${JSON.stringify(join(here, '../../worker/exec/index.js'))};`,
        `import { ExecFixture, RecordingProgress, shell } from ${JSON.stringify(join(here, 'worker-exec-rootfs.js'))};`,
        `closeSync(openSync('/dev/tty', 'r'));`,
        `console.log('driver-has-tty');`,
        `const fx = await ExecFixture.create();`,
        `const p = new RecordingProgress();`,
        `try { await runExec(shell('cat /dev/tty; echo rc=$?'), await fx.step(), new AbortController().signal, p); }`,
        `finally { await fx.remove(); }`,
        `console.log('STEP-OUT', JSON.stringify(p.stdout + p.stderr));`,
      ].join('\n'));
      const py = `import pty, sys; pty.spawn([sys.argv[1], sys.argv[2]])`;
      const { stdout } = await run('python3', ['-c', py, process.execPath, driver], { timeout: 30_000 });
      expect(stdout).to.contain('driver-has-tty');
      expect(stdout).to.contain('No such device or address');
      expect(stdout).to.contain('rc=1');
    });
  });

  describe('seccomp', () => {
    it('runs the step under a seccomp filter that refuses unshare -U', async () => {
      const { out, err } = await step(await fx.step(), 'grep "^Seccomp:" /proc/self/status; unshare -U true || echo unshare-refused');
      expect(out).to.equal('Seccomp:\t2\nunshare-refused\n');
      expect(err).to.contain('Operation not permitted');
    });

    // chroot is in the profile only under "includes caps CAP_SYS_CHROOT": it works only if the capability
    // conditions are evaluated against Docker's default set, which grants it (and not CAP_SYS_ADMIN for mount).
    it('evaluates the profile\'s capability conditions: chroot allowed, mount refused', async () => {
      const { out } = await step(await fx.step(), 'mount -t tmpfs t /mnt 2>/dev/null || echo mount-refused; mkdir /x; chroot / true && echo chroot-ok');
      expect(out).to.equal('mount-refused\nchroot-ok\n');
    });

    it('lifts the filter for RUN --security=insecure (granted by the builder)', async () => {
      const { out } = await step(await fx.step(), 'grep "^Seccomp:" /proc/self/status; unshare -U true && echo unshare-ok', { security: 'insecure' });
      expect(out).to.equal('Seccomp:\t0\nunshare-ok\n');
    });
  });

  describe('network', () => {
    let host: { server: Server; port: number };
    const pool = new UserNetworkPool();
    before(async () => { host = await hostLoopbackService(); });
    after(async () => {
      pool.close();
      await new Promise((r) => host.server.close(r));
    });

    async function shared(): Promise<ExecEnvironment> {
      return fx.step(undefined, { networks: pool });
    }

    it('cannot reach the host loopback with the default network, through 127.0.0.1 or the slirp gateway', async () => {
      const { out } = await step(await shared(),
        `nc -w 3 127.0.0.1 ${host.port} </dev/null || echo lo-refused; nc -w 3 10.0.2.2 ${host.port} </dev/null || echo gw-refused`,
        { network: 'default' });
      expect(out).to.equal('lo-refused\ngw-refused\n');
    });

    it('reaches the host loopback with network=host', async () => {
      const { out } = await step(await fx.step(), `nc -w 3 127.0.0.1 ${host.port} </dev/null`, { network: 'host' });
      expect(out).to.equal('hello-from-host\n');
    });

    it('has its own interfaces (eth0 and lo) and resolves names through the stack\'s DNS forwarder', async () => {
      const { out } = await step(await shared(), 'ls /sys/class/net | tr "\\n" " "; echo; grep nameserver /etc/resolv.conf', { network: 'default' });
      expect(out).to.equal('eth0 lo \nnameserver 10.0.2.3\n');
    });

    it('reaches Debian\'s archive by name over the default network', async () => {
      const apt = await readFile('/etc/apt/sources.list.d/debian.sources', 'utf8').catch(() => '');
      const mirror = /URIs:\s*https?:\/\/([^/\s]+)/.exec(apt)?.[1] ?? 'deb.debian.org';
      const { out } = await step(await shared(),
        `(printf "HEAD /debian/ HTTP/1.1\\r\\nHost: ${mirror}\\r\\nConnection: close\\r\\n\\r\\n"; sleep 3) | nc -w 10 ${mirror} 80 | head -1`,
        { network: 'default' });
      expect(out).to.match(/^HTTP\/1\.[01] [23]\d\d /);
    });

    it('does not share abstract unix sockets or interfaces with the host', async () => {
      const { out } = await step(await shared(), 'grep -c . /proc/net/unix; readlink /proc/1/ns/net', { network: 'default' });
      const [count, ns] = out.trim().split('\n');
      expect(Number(count), 'only the header line of /proc/net/unix: no host sockets').to.equal(1);
      expect(ns).to.not.equal(await run('readlink', ['/proc/self/ns/net']).then((r) => r.stdout.trim()));
    });

    it('fails a default-network step with NetworkSetupError (a hint, no stack) when the network cannot start', async () => {
      const closed = new UserNetworkPool();
      closed.close();
      const env = await fx.step(undefined, { networks: closed });
      const err = await step(env, 'true', { network: 'default' }).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(NetworkSetupError);
      expect((err as NetworkSetupError).code).to.equal('RUN_FAILED');
      expect((err as NetworkSetupError).hint).to.contain('slirp4netns');
    });

    it('gives concurrent steps networks of their own and reuses them afterwards', async () => {
      const ns = async (): Promise<string> => (await step(await shared(), 'sleep 0.5; readlink /proc/self/ns/net', { network: 'default' })).out.trim();
      const [a, b] = await Promise.all([ns(), ns()]);
      expect(a, 'two steps at once: two namespaces').to.not.equal(b);
      const c = await ns();
      expect([a, b], 'a later step reuses one of them').to.include(c);
    });

    it('starts and stops a private network for a step given none, leaving no slirp4netns behind', async () => {
      const before = new Set(await pidsOf('slirp4netns'));
      const { out } = await step(await fx.step(), 'ls /sys/class/net | tr "\\n" " "', { network: 'default' });
      expect(out).to.equal('eth0 lo ');
      const started = (await pidsOf('slirp4netns')).filter((p) => !before.has(p) && isProcessAlive(p));
      const leaked = (await Promise.all(started.map(async (p) => ((await isOurs(p)) ? [p] : [])))).flat();
      expect(leaked).to.deep.equal([]);
    });
  });

  describe('network cleanup', () => {
    it('stops slirp4netns and the namespace holder on close()', async () => {
      // Only the children the network starts: this process has others (e.g. the worker's long-lived xattr reader).
      // pgrep exits 1 when this process has no child at all (run alone, or after tests that leave none).
      const children = async (): Promise<number[]> => (await run('pgrep', ['-P', String(process.pid)]).catch(() => ({ stdout: '' }))).stdout.split('\n').filter((l) => l !== '').map(Number);
      const before = new Set(await children());
      const net = await UserNetwork.start();
      const pids = (await children()).filter((pid) => !before.has(pid));
      expect(pids.length).to.be.greaterThanOrEqual(2);
      await net.stop();
      expect(pids.filter(isProcessAlive)).to.deep.equal([]);
      expect(net.isAlive).to.equal(false);
    });

    it('leaves no slirp4netns when the process that started it is killed with SIGKILL', async () => {
      const here = fileURLToPath(new URL('.', import.meta.url));
      const script = join(fx.root, 'net-holder.mjs');
      await writeFile(script, [
        `import { UserNetwork } from ${JSON.stringify(join(here, '../../worker/exec/index.js'))};`,
        `const net = await UserNetwork.start();`,
        `console.log('ready ' + net.netns);`,
        `setInterval(() => {}, 1000);`,
      ].join('\n'));
      const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (c: Buffer) => resolve(c.toString('utf8')));
        child.once('exit', (code) => reject(new Error(`net-holder exited early (${code})`)));
      });
      expect(line).to.match(/^ready \/proc\/\d+\/ns\/net/);
      const pids = (await run('pgrep', ['-P', String(child.pid)])).stdout.split('\n').filter((l) => l !== '').map(Number);
      expect(pids.length, 'unshare/cat and slirp4netns').to.equal(2);
      child.kill('SIGKILL');
      for (let i = 0; i < 150 && pids.some(isProcessAlive); i++) await new Promise((r) => setTimeout(r, 20));
      expect(pids.filter(isProcessAlive), 'orphans of the killed process').to.deep.equal([]);
    });
  });

  describe('bind mounts', () => {
    it('makes a read-only bind read-only all the way down, and nosuid,nodev', async () => {
      const ctx = join(fx.root, 'ctx-with-submount');
      await mkdir(join(ctx, 'sub'), { recursive: true });
      await run('mount', ['-t', 'tmpfs', 'tsbuild-test', join(ctx, 'sub')]);
      try {
        const env = await fx.step(undefined, { sources: { context: { kind: 'dir', path: ctx } } });
        const { out } = await step(env,
          'touch /ctx/top 2>/dev/null || echo top-ro; touch /ctx/sub/x 2>/dev/null || echo sub-ro; grep " /ctx " /proc/mounts | grep -o "nosuid,nodev" | head -1',
          { mounts: [{ type: 'bind', target: '/ctx', from: { kind: 'context' }, source: '/', readwrite: false }] });
        expect(out).to.equal('top-ro\nsub-ro\nnosuid,nodev\n');
      } finally {
        await run('umount', [join(ctx, 'sub')]);
      }
    });

    it('still fails a step with RunError when the process fails inside the sandbox', async () => {
      const err = await step(await fx.step(), 'exit 4').then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(RunError);
    });
  });
});
