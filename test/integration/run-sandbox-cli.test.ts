// Issue 14, part 3, through the real command: RUN's default network is the build's own (no host loopback),
// --network=host needs --allow network.host, and Ctrl-C leaves no slirp4netns behind.
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startBuildEnv } from '../fixtures/build-env.js';
import type { BuildEnv } from '../fixtures/build-env.js';
import { run, TSBUILD, tsbuild } from '../fixtures/tsbuild-cli.js';
import { isProcessAlive } from '../../common/index.js';

const exec = promisify(execFile);

// Every process under root (the CLI may run node through a launcher) whose command name is `name`.
async function descendantsNamed(root: number, name: string): Promise<number[]> {
  const { stdout } = await exec('ps', ['-eo', 'pid=,ppid=,comm=']);
  const rows = stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((r) => r.length >= 3)
    .map(([pid, ppid, comm]) => ({ pid: Number(pid), ppid: Number(ppid), comm }));
  const under = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const r of rows) if (under.has(r.ppid) && !under.has(r.pid)) { under.add(r.pid); grew = true; }
  }
  return rows.filter((r) => r.pid !== root && under.has(r.pid) && r.comm === name).map((r) => r.pid);
}

describe('tsbuild build: the RUN sandbox network (issue 14)', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  let server: Server;
  let port: number;
  before(async () => {
    env = await startBuildEnv('tsbuild-run-sandbox-');
    server = createServer((sock) => sock.end('hello-from-host\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await env.stop();
  });

  async function context(name: string, dockerfile: string): Promise<string> {
    const ctx = join(env.dir, name);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    return ctx;
  }

  it('keeps the host loopback out of reach of a default RUN, and lets --network=host reach it only with the allow', async () => {
    const ctx = await context('net', [
      `FROM ${env.base}`,
      // $((…)) so that the words checked below are printed only by the step, never by the echoed command line.
      `RUN nc -w 3 127.0.0.1 ${port} </dev/null && echo "default-reached-$((40+2))" || echo "default-refused-$((40+2))"`,
      `RUN --network=host nc -w 3 127.0.0.1 ${port} </dev/null`,
      '',
    ].join('\n'));
    const refused = await tsbuild(['build', '--root', join(env.dir, 'root-net'), '--progress', 'plain', ctx]);
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.contain('network.host is not allowed');
    const r = await tsbuild(['build', '--root', join(env.dir, 'root-net'), '--progress', 'plain', '--allow', 'network.host', ctx]);
    expect(r.code, r.stderr).to.equal(0);
    const out = r.stdout + r.stderr;
    expect(out).to.contain('default-refused-42');
    expect(out).to.not.contain('default-reached-42');
    expect(out).to.contain('hello-from-host');
    // `--network host` on the command line grants it to every step, as buildx adds the network.host entitlement.
    const every = await context('net-flag', `FROM ${env.base}\nRUN nc -w 3 127.0.0.1 ${port} </dev/null\n`);
    const granted = await tsbuild(['build', '--root', join(env.dir, 'root-net'), '--progress', 'plain', '--network', 'host', every]);
    expect(granted.code, granted.stderr).to.equal(0);
    expect(granted.stdout + granted.stderr).to.contain('hello-from-host');
  });

  for (const fd of [40, 4]) it(`keeps the fds tsbuild inherited out of RUN: a host directory fd (${fd}) is no way out through /proc/self/fd or WORKDIR`, async () => {
    // fd 4 too: the helper keeps it until its spec says whether it is `tsbuild debug`'s terminal (native/main.c).
    // Whoever starts tsbuild may leave fds open without close-on-exec (a CI runner's pipe, a shell's directory fd).
    // One reaching the step was a way out of the rootfs: read and write the host directory through
    // /proc/self/fd/N, or make it the step's cwd with WORKDIR (runc's CVE-2024-21626).
    const host = join(env.dir, `host-dir-${fd}`);
    await mkdir(host);
    await writeFile(join(host, 'secret.txt'), 'host-secret-42\n');
    const ctx = await context(`leaked-fd-${fd}`, [
      `FROM ${env.base}`,
      `RUN ls /proc/self/fd; cat /proc/self/fd/${fd}/secret.txt; touch /proc/self/fd/${fd}/written-through-fd; true`,
      `WORKDIR /proc/self/fd/${fd}`,
      'RUN cat secret.txt; touch written-from-workdir',
      '',
    ].join('\n'));
    // A shell's redirection opens the directory without close-on-exec; tsbuild's node inherits it as fd 40.
    const r = await run('bash', ['-c', `exec ${fd}<"$1"; shift; exec "$@"`, 'sh', host, TSBUILD, 'build', '--root', join(env.dir, `root-fd-${fd}`), '--progress', 'plain', ctx]);
    const out = r.stdout + r.stderr;
    expect(out).to.not.contain('host-secret-42');
    expect(out).to.match(new RegExp(`Dockerfile:4: setting up the RUN container failed: mkdir\\("/proc/self/fd/${fd}"\\)`));
    expect(r.code).to.not.equal(0);
    expect(await readdir(host)).to.deep.equal(['secret.txt']);
  });

  it('stops slirp4netns and the namespace when the build is interrupted with Ctrl-C (SIGINT)', async () => {
    const ctx = await context('interrupt', `FROM ${env.base}\nRUN echo "step-started-$((40+2))"; sleep 60\n`);
    const child = spawn(TSBUILD, ['build', '--root', join(env.dir, 'root-int'), '--progress', 'plain', ctx], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const onData = (c: Buffer): void => {
        output += c.toString('utf8');
        if (output.includes('step-started-42')) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      void exited.then(() => reject(new Error(`the build ended before its RUN started:\n${output}`)));
    });
    const slirp = await descendantsNamed(child.pid as number, 'slirp4netns');
    const holder = await descendantsNamed(child.pid as number, 'cat');
    expect(slirp, 'one slirp4netns for the build').to.have.length(1);
    expect(holder, 'one namespace holder').to.have.length(1);
    child.kill('SIGINT');
    expect(await exited).to.not.equal(0);
    const pids = [...slirp, ...holder];
    for (let i = 0; i < 100 && pids.some(isProcessAlive); i++) await new Promise((r) => setTimeout(r, 20));
    expect(pids.filter(isProcessAlive), 'left running after Ctrl-C').to.deep.equal([]);
  });

  it('ends with 141 and no stack trace when the reader of an image written to stdout goes away (-o type=tar,dest=- | head -c 100)', async () => {
    const ctx = await context('closed-tar', `FROM ${env.base}\nRUN echo hi > /hi\n`);
    const child = spawn(TSBUILD, ['build', '--root', join(env.dir, 'root-tar-pipe'), '--progress', 'quiet', '-o', 'type=tar,dest=-', ctx], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    // The tar of the Debian base is far larger than a pipe holds: the writer is still writing when its reader goes.
    await new Promise<void>((resolve) => child.stdout.once('data', () => { child.stdout.destroy(); resolve(); }));
    expect(await exited, stderr).to.equal(141);
    expect(stderr).to.not.match(/AbortError|\n\s+at /);
  });

  it('stops the build as Ctrl-C does, and ends with 141, when the reader of its output goes away', async () => {
    // `tsbuild build … 2>&1 | head`: the pipe closes under a running RUN step, which goes on printing (a closed pipe
    // is seen at the next write, as by any program: SIGPIPE comes with a write too).
    const ctx = await context('closed-pipe', `FROM ${env.base}\nRUN echo "step-started-$((40+2))"; for i in $(seq 300); do echo tick; sleep 0.2; done\n`);
    const root = join(env.dir, 'root-pipe');
    const child = spawn(TSBUILD, ['build', '--root', root, '--progress', 'plain', ctx], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        output += c.toString('utf8');
        if (output.includes('step-started-42')) resolve();
      });
      void exited.then(() => reject(new Error(`the build ended before its RUN started:\n${output}`)));
    });
    const shells = await descendantsNamed(child.pid as number, 'sh');
    expect(shells, 'the step runs').to.have.length.above(0);
    child.stdout.destroy();
    child.stderr.destroy();
    const started = Date.now();
    expect(await exited).to.equal(141);
    expect(Date.now() - started, 'ended long before the step would have').to.be.below(30_000);
    expect(shells.filter(isProcessAlive), 'the step left running').to.deep.equal([]);
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    expect(mounts.split('\n').filter((l) => l.includes(root)), 'mounts left under the root').to.deep.equal([]);
  });
});
