import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultProxy, type FaultProxy } from '../fixtures/fault-proxy.js';
import { packTar } from '../fixtures/pack-tar.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { killNode, mountsMentioning, startTsbuild, storeProblems, waitForBuild, type RunningBuild } from '../fixtures/crash-points.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// Nothing a build does is left in the host's $TMPDIR (a tmpfs on many CI hosts, and shared with other users): what it
// keeps for a while (snapshot mount points, the empty directory of an empty output, remote build contexts, --load's
// archive, bake's layouts) is in `<root>/tmp/<kind>-<pid>-…` (worker/temp-dirs.ts), and the next build on the root
// removes what a build killed with SIGKILL left there, unmounting a mount point first. Each case holds the build at the
// point where its temp dir is in use (an output FIFO nobody reads yet, an HTTP answer the server holds back, a `docker
// load` that waits), looks at both places, and then lets it finish, or kills it and runs the next build. TMPDIR is a
// fresh empty directory of the test's own.

/** An HTTP server that holds back the answers to the paths a test asks it to, until the test answers them. */
class HoldingServer {
  readonly #server: Server;
  readonly #files = new Map<string, Buffer>();
  readonly #waiting = new Map<string, (held: { req: IncomingMessage; res: ServerResponse }) => void>();
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      const path = req.url ?? '/';
      const hold = this.#waiting.get(path);
      if (hold !== undefined) {
        this.#waiting.delete(path);
        hold({ req, res });
        return;
      }
      const body = this.#files.get(path);
      if (body === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-length': String(body.length) }).end(body);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  serve(path: string, body: Buffer): void {
    this.#files.set(path, body);
  }

  /**
   * The next request for `path`, answered with the status line and the first `head` bytes of `body` only: the client
   * has its answer under way (its download file made) until the test calls `finish`.
   */
  hold(path: string, body: Buffer, head = 1): Promise<{ finish(): void }> {
    return new Promise((resolve) => {
      this.#waiting.set(path, ({ res }) => {
        res.writeHead(200, { 'content-length': String(body.length) });
        res.write(body.subarray(0, head));
        resolve({ finish: () => res.end(body.subarray(head)) });
      });
    });
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

describe('a build keeps its temp dirs in the state root, never in TMPDIR, and the next build removes a killed one\'s', function () {
  this.timeout(180_000);
  let dir = '';
  let hostTmp = '';
  const server = new HoldingServer();
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
  const inUse = async (root: string, kind: string, running: RunningBuild, after?: string): Promise<string> => {
    const tmp = join(root, 'tmp');
    const found = await waitForBuild(running, `a ${kind} temp dir${after === undefined ? '' : ` after ${JSON.stringify(after)}`}`, async () => {
      if (after !== undefined && !running.output().includes(after)) return undefined;
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

  let registry: RunningRegistry | undefined;
  let proxy: FaultProxy | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-state-tmp-'));
    hostTmp = join(dir, 'host-tmp');
    await mkdir(hostTmp, { mode: 0o700 });
    await server.start();
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.host);
  });
  afterEach(async () => {
    for (const running of started.splice(0)) {
      try { process.kill(running.pid, 'SIGKILL'); } catch { /* ended */ }
    }
    // A killed build's own TMPDIR leftovers (the old code) must not fail the next test too.
    for (const entry of await readdir(hostTmp)) await unmountUnder(join(hostTmp, entry)).then(() => rm(join(hostTmp, entry), { recursive: true, force: true }));
  });
  after(async () => {
    await proxy?.close();
    await registry?.stop();
    await server.close();
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
    // The COPY step mounts its own snapshot on an mnt-<pid>-… dir for a moment: the output's is the one made once the
    // step is done (the test once waited on the COPY's dir, gone a moment later, and timed out).
    const mnt = await inUse(root, 'mnt', first, '#2 DONE');
    // The mount point is made before the snapshot is mounted on it.
    const mounted = (entry: string, running: RunningBuild): Promise<boolean> => waitForBuild(running, `the snapshot mounted on ${entry}`, () => isMountPoint(join(root, 'tmp', entry)));
    await mounted(mnt, first);
    const tarred = await readFile(fifo);
    const done = await first.done;
    expect(done.code, done.stderr).to.equal(0);
    expect(tarred.includes(Buffer.from('a.txt'))).to.equal(true);
    await expectNothingLeft(root);

    const killed = build(root, ['-o', `type=tar,dest=${fifo}`, ctx]);
    const left = await inUse(root, 'mnt', killed, '#2 CACHED');
    await mounted(left, killed);
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

  it('fetches a remote build context (a tarball URL) into the state root (remote-<pid>-…), removed after a SIGKILL by the next build', async () => {
    const tarball = await packTar([
      { name: 'Dockerfile', content: 'FROM scratch\nCOPY ctx.txt /ctx.txt\n' },
      { name: 'ctx.txt', content: 'from the tarball\n' },
    ]);
    const root = newRoot();
    const out = join(dir, 'remote-out');
    const held = server.hold('/ctx.tar', tarball);
    const first = build(root, ['-o', `type=local,dest=${out}`, `${server.url}/ctx.tar`]);
    await held;
    await inUse(root, 'remote', first);
    (await held).finish();
    const done = await first.done;
    expect(done.code, done.stderr).to.equal(0);
    expect(await readFile(join(out, 'ctx.txt'), 'utf8')).to.equal('from the tarball\n');
    await expectNothingLeft(root);

    const heldAgain = server.hold('/ctx.tar', tarball);
    const killed = build(root, [`${server.url}/ctx.tar`]);
    await heldAgain;
    await inUse(root, 'remote', killed);
    await kill(killed);
    expect(await readdir(join(root, 'tmp'))).to.have.length(1);
    expect(await readdir(hostTmp)).to.deep.equal([]);
    await nextBuild(root);
    await expectNothingLeft(root);
  });

  it('fetches --build-context NAME=<http url> into the state root too, removed after a SIGKILL by the next build', async () => {
    const ctx = await context({ Dockerfile: 'FROM scratch\nCOPY --from=data context /data.bin\n' });
    const body = Buffer.from('named context\n');
    const root = newRoot();
    const out = join(dir, 'named-out');
    const held = server.hold('/data.bin', body);
    const first = build(root, ['--build-context', `data=${server.url}/data.bin`, '-o', `type=local,dest=${out}`, ctx]);
    await inUse(root, 'remote', first);
    (await held).finish();
    const done = await first.done;
    expect(done.code, done.stderr).to.equal(0);
    expect(await readFile(join(out, 'data.bin'), 'utf8')).to.equal('named context\n');
    await expectNothingLeft(root);

    const heldAgain = server.hold('/data.bin', body);
    const killed = build(root, ['--build-context', `data=${server.url}/data.bin`, ctx]);
    await heldAgain;
    await inUse(root, 'remote', killed);
    await kill(killed);
    await nextBuild(root);
    await expectNothingLeft(root);
  });

  it('keeps an --secret env= value in memory: no temp dir or file of it in the state root or TMPDIR while the build runs', async () => {
    const ctx = await context({ Dockerfile: `FROM scratch\nADD ${server.url}/secret-wait.bin /w.bin\n` });
    const root = newRoot();
    const body = Buffer.from('waited\n');
    const held = server.hold('/secret-wait.bin', body);
    const first = track(startTsbuild(['build', '--root', root, '--progress', 'plain', '--secret', 'id=tok,env=TSBUILD_TEST_TOKEN', '--no-cache', ctx],
      { ...env(), TSBUILD_TEST_TOKEN: 'token-value' }));
    await held;
    expect((await readdir(join(root, 'tmp'))).filter((e) => e.startsWith('secrets-')), 'secrets temp dirs').to.deep.equal([]);
    expect(await readdir(hostTmp), 'TMPDIR').to.deep.equal([]);
    const grep = await run('grep', ['-rlaF', 'token-value', root]);
    expect(grep.stdout, 'files holding the value').to.equal('');
    (await held).finish();
    const done = await first.done;
    expect(done.code, done.stderr).to.equal(0);
    await expectNothingLeft(root);
  });

  it('writes --load\'s archive in the state root (load-<pid>-…), removed after a SIGKILL during the load by the next build', async () => {
    const ctx = await context({ Dockerfile: 'FROM scratch\nCOPY f /f\n', f: 'loaded\n' });
    const root = newRoot();
    // A stand-in `docker` on PATH: `info` answers, `load` writes down what it sees in TMPDIR and the root's temp dir
    // and the size of what it was given, waiting first while the test's hold file is there.
    const bin = join(dir, 'fake-docker');
    const seen = join(dir, 'docker-saw');
    const hold = join(dir, 'docker-hold');
    await mkdir(bin);
    await writeFile(join(bin, 'docker'), [
      '#!/bin/sh',
      '[ "$1" = info ] && exit 0',
      '[ "$1" = load ] || exit 1',
      `{ echo "TMPDIR: $(ls -A "$TMPDIR")"; echo "root: $(ls -A '${join(root, 'tmp')}')"; } > '${seen}.part'`,
      `mv '${seen}.part' '${seen}'`,
      `while [ -e '${hold}' ]; do sleep 0.05; done`,
      `echo "bytes: $(wc -c | tr -d ' ')" >> '${seen}'`,
      'echo "Loaded image: example/loaded:1"',
      '',
    ].join('\n'));
    await chmod(join(bin, 'docker'), 0o755);
    const loadEnv = { ...env(), PATH: `${bin}:${process.env.PATH ?? ''}` };
    const args = ['build', '--root', root, '--progress', 'plain', '--load', '-t', 'example/loaded:1', ctx];
    const r = await tsbuild(args, { env: loadEnv });
    expect(r.code, r.stderr).to.equal(0);
    const saw = await readFile(seen, 'utf8');
    expect(saw).to.match(new RegExp(`^TMPDIR: \nroot: load-\\d+-\\S+\nbytes: [1-9]\\d*\n$`));
    await expectNothingLeft(root);

    await rm(seen);
    await writeFile(hold, '');
    const killed = track(startTsbuild(args, loadEnv));
    await waitForBuild(killed, `docker load to start`, () => readFile(seen, 'utf8').catch(() => undefined));
    expect(await readFile(seen, 'utf8')).to.match(new RegExp(`^TMPDIR: \nroot: load-${killed.pid}-\\S+\n$`));
    await kill(killed);
    await rm(hold);
    expect(await readdir(join(root, 'tmp'))).to.have.length(1);
    await nextBuild(root);
    await expectNothingLeft(root);
  });

  it('writes bake\'s layouts of linked targets in the state root (bake-<pid>-…), removed after a SIGKILL by the next build', async () => {
    const project = join(dir, 'bake');
    await mkdir(join(project, 'base'), { recursive: true });
    await mkdir(join(project, 'app'), { recursive: true });
    await writeFile(join(project, 'base', 'Dockerfile'), 'FROM scratch\nCOPY base.txt /base.txt\n');
    await writeFile(join(project, 'base', 'base.txt'), 'base\n');
    await writeFile(join(project, 'app', 'Dockerfile'), `FROM base\nADD ${server.url}/app.bin /app.bin\n`);
    const root = newRoot();
    const out = join(project, 'out');
    await writeFile(join(project, 'docker-bake.json'), JSON.stringify({
      target: {
        base: { context: 'base' },
        app: { context: 'app', contexts: { base: 'target:base' }, output: ['type=local,dest=out'] },
      },
    }));
    const body = Buffer.from('app\n');
    const held = server.hold('/app.bin', body);
    const first = track(startBakeIn(project, root, env()));
    await held;
    const entry = await inUse(root, 'bake', first);
    // The base target's result, read by the app target as its `base` context, is in it.
    expect(await readdir(join(root, 'tmp', entry))).to.include('base.oci');
    (await held).finish();
    const done = await first.done;
    expect(done.code, done.stderr).to.equal(0);
    expect(await readFile(join(out, 'base.txt'), 'utf8')).to.equal('base\n');
    expect(await readFile(join(out, 'app.bin'), 'utf8')).to.equal('app\n');
    await expectNothingLeft(root);

    const heldAgain = server.hold('/app.bin', body, 0);
    const killed = track(startBakeIn(project, root, env(), ['--no-cache']));
    await heldAgain;
    await inUse(root, 'bake', killed);
    await kill(killed);
    await nextBuild(root);
    await expectNothingLeft(root);
  });

  it('writes the report --attach-report pushes, and the one `tsbuild report IMAGE` reads, in the state root (report-<pid>-…), removed after a SIGKILL by the next build', async () => {
    if (proxy === undefined) throw new Error('the registry did not start');
    const registryProxy = proxy;
    const ctx = await context({ Dockerfile: 'FROM scratch\nCOPY f /f\n', f: 'pushed\n' });
    const root = newRoot();
    const image = `${registryProxy.host}/reported:1`;
    // Registry requests made while a report's temp dir is in use (or while anything is in TMPDIR, where the old code
    // wrote it) wait for the test: `holding(release)` resolves at the first such request, which goes on at `release`.
    let hold: { seen: () => void; release: Promise<void> } | undefined;
    for (const [method, path] of [['PUT', /\/manifests\//], ['GET', /\/blobs\/sha256:/]] as const) {
      registryProxy.add({
        method, path, times: 1_000_000,
        fault: {
          kind: 'before', action: async () => {
            const h = hold;
            if (h === undefined) return;
            if ((await readdir(hostTmp)).length === 0 && !(await readdir(join(root, 'tmp'))).some((e) => e.startsWith('report-'))) return;
            h.seen();
            await h.release;
          },
        },
      });
    }
    const holding = (release: Promise<void>): Promise<void> => new Promise((seen) => { hold = { seen, release }; });
    // The push: the report's files are written, then pushed as a referrer of the image.
    let release = (): void => undefined;
    let seen = holding(new Promise<void>((r) => { release = r; }));
    const first = build(root, ['-t', image, '--push', '--attach-report', ctx]);
    await seen;
    await inUse(root, 'report', first);
    release();
    const done = await first.done;
    expect(done.code, done.stderr).to.equal(0);
    await expectNothingLeft(root);
    // `tsbuild report IMAGE` reads it back (a command, not a build: it holds the root all the same).
    seen = holding(new Promise<void>((r) => { release = r; }));
    const reading = track(startTsbuild(['report', '--root', root, '--format', 'json', image], env()));
    await seen;
    await inUse(root, 'report', reading);
    release();
    const read = await reading.done;
    expect(read.code, read.stderr).to.equal(0);
    expect(JSON.parse(read.stdout)).to.have.nested.property('schemaVersion', 1);
    await expectNothingLeft(root);

    seen = holding(new Promise<void>(() => undefined));
    const killed = build(root, ['-t', image, '--push', '--attach-report', ctx]);
    await seen;
    await inUse(root, 'report', killed);
    await kill(killed);
    await nextBuild(root);
    await expectNothingLeft(root);
  });
});

/** `tsbuild bake app` in `project` (its docker-bake.json) on `root`, without waiting. */
function startBakeIn(project: string, root: string, env: NodeJS.ProcessEnv, extra: string[] = []): RunningBuild {
  return startTsbuild(['bake', '--root', root, '--progress', 'plain', ...extra, 'app'], env, project);
}

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
