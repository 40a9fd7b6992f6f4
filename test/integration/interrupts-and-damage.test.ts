import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild, TSBUILD, type CliResult } from '../fixtures/tsbuild-cli.js';

// What a user meets when a build is interrupted, the disk fills or the state root is damaged: a message that says so,
// the exit status a shell expects, nothing of theirs lost, and a root that still works. Each case failed before: an
// internal error with a stack (exit 70), a truncated output in place of the user's file, a prune that crashed.

describe('interrupts, full disks and damaged state', function () {
  this.timeout(180_000);
  let env: BuildEnv;
  let n = 0;
  const mounted: string[] = [];

  before(async () => { env = await startBuildEnv('tsbuild-damage-'); });
  after(async () => {
    for (const dir of mounted) await run('umount', [dir]);
    await env?.stop();
  });

  const context = async (dockerfile: string): Promise<string> => {
    const ctx = join(env.dir, `ctx${++n}`);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    return ctx;
  };
  /** A tmpfs of `size` at a new directory, unmounted after the suite. */
  const smallDisk = async (size: string): Promise<string> => {
    const dir = join(env.dir, `disk${++n}`);
    await mkdir(dir);
    const r = await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
    expect(r.code, r.stderr).to.equal(0);
    mounted.push(dir);
    return dir;
  };
  /** Runs tsbuild with `args`, sends `signal` once `ready` (a text on its output, or a delay) is seen, and waits. */
  const interrupted = async (args: string[], ready: string | number, signal: NodeJS.Signals): Promise<CliResult> => {
    const child = spawn(TSBUILD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const send = (): void => { if (!sent) { sent = true; child.kill(signal); } };
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); if (typeof ready === 'string' && stdout.includes(ready)) send(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); if (typeof ready === 'string' && stderr.includes(ready)) send(); });
    if (typeof ready === 'number') setTimeout(send, ready);
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    expect(sent, `the signal was never sent:\n${stdout}${stderr}`).to.equal(true);
    return { code, stdout, stderr };
  };

  it('exits 143 for SIGTERM during a RUN, and 130 for Ctrl-C while the base image is looked up, without an internal error', async () => {
    const sleeping = await context(`FROM ${env.base}\nRUN echo "step-started-$((40+2))"; sleep 60\n`);
    const term = await interrupted(['build', '--root', join(env.dir, 'root-sig'), '--progress', 'plain', sleeping], 'step-started-42', 'SIGTERM');
    expect(term.code, term.stderr).to.equal(143);
    expect(term.stderr).to.contain('ERROR: failed to solve: build cancelled');

    // A registry that accepts and never answers: the interrupt lands in the FROM lookup, outside any step.
    const sockets: Socket[] = [];
    const stalled: Server = createServer((s) => { sockets.push(s); });
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    try {
      const ctx = await context(`FROM 127.0.0.1:${(stalled.address() as AddressInfo).port}/stalled:1\n`);
      const int = await interrupted(['build', '--root', join(env.dir, 'root-sig'), ctx], 1500, 'SIGINT');
      expect(int.code, int.stderr).to.equal(130);
      expect(int.stderr).to.contain('ERROR: cancelled: interrupted by SIGINT').and.not.contain('internal error');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => stalled.close(() => resolve()));
    }
  });

  it('cancels once, exit 130, when Ctrl-C reaches the whole process group (the helpers as well) during a RUN', async () => {
    // A terminal's Ctrl-C is sent to every process of the foreground group: tsbuild, its RUN helper and its confined
    // writers get it at the same moment. The helpers leave the cancelling to tsbuild; before, one that stopped its
    // step (or died) first could end the build as a failed step or an internal error instead of a cancel.
    const sleeping = await context(`FROM ${env.base}\nRUN echo "group-started-$((40+2))"; sleep 60\n`);
    for (let round = 0; round < 3; round++) {
      const child = spawn(TSBUILD, ['build', '--root', join(env.dir, 'root-group'), '--no-cache', '--progress', 'plain', sleeping],
        { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
      const closed = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
      for (let i = 0; i < 300 && !stderr.includes('group-started-42'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(stderr).to.contain('group-started-42');
      process.kill(-(child.pid ?? 0), 'SIGINT');
      const code = await closed;
      expect(code, stderr).to.equal(130);
      expect(stderr).to.contain('ERROR: failed to solve: build cancelled').and.not.contain('internal error').and.not.contain('interrupted again');
      expect(stderr).not.to.match(/\n\s+at /);
    }
  });

  it('keeps the old file of -o type=tar when the new one cannot be written, and leaves no temp file', async () => {
    const disk = await smallDisk('400k');
    const dest = join(disk, 'fs.tar');
    await writeFile(dest, 'PRECIOUS\n');
    const ctx = await context(`FROM ${env.base}\n`);
    const r = await tsbuild(['build', '--root', join(env.dir, 'root-tar'), '-o', `type=tar,dest=${dest}`, ctx]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.contain('writing failed: ENOSPC');
    expect(await readFile(dest, 'utf8')).to.equal('PRECIOUS\n');
    expect(await readdir(disk)).to.deep.equal(['fs.tar']);
  });

  it('says the disk is full when the state root fills up, exit 1, and the build record never hides the cause', async () => {
    const disk = await smallDisk('1500k');
    const ctx = await context(`FROM ${env.base}\n`);
    const r = await tsbuild(['build', '--root', join(disk, 'root'), ctx]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.contain('no space left on device').and.contain('tsbuild prune').and.not.contain('internal error');
  });

  it('names a damaged cache database and the way out; a damaged file-hash cache is started anew', async () => {
    const ctx = await context(`FROM ${env.base}\nCOPY Dockerfile /d\n`);
    const root = join(env.dir, 'root-damaged');
    expect((await tsbuild(['build', '--root', root, ctx])).code).to.equal(0);
    await writeFile(join(root, 'file-hashes.db'), 'not a database, not a single page of one\n');
    for (const f of ['file-hashes.db-wal', 'file-hashes.db-shm']) await run('rm', ['-f', join(root, f)]);
    const rehashed = await tsbuild(['build', '--root', root, ctx]);
    expect(rehashed.code, rehashed.stderr).to.equal(0);

    await writeFile(join(root, 'cache.db'), 'not a database, not a single page of one\n');
    for (const f of ['cache.db-wal', 'cache.db-shm']) await run('rm', ['-f', join(root, f)]);
    for (const args of [['build', '--root', root, ctx], ['du', '--root', root]]) {
      const r = await tsbuild(args);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.contain(`the state database ${join(root, 'cache.db')} is damaged: file is not a database`)
        .and.contain('move the state root aside').and.not.contain('internal error');
    }
  });

  it('prunes everything after two builds ran the same step at once (the replaced result stands on a parent listed first)', async () => {
    const ctx = await context(`FROM ${env.base}\nRUN sleep 1; echo a > /a\n`);
    const root = join(env.dir, 'root-race');
    const both = await Promise.all([tsbuild(['build', '--root', root, ctx]), tsbuild(['build', '--root', root, ctx])]);
    for (const r of both) expect(r.code, r.stderr).to.equal(0);
    const prune = await tsbuild(['prune', '--root', root, '-a', '-f']);
    expect(prune.code, prune.stderr).to.equal(0);
    expect((await readdir(join(root, 'snapshots'))).filter((e) => /^\d+$/.test(e)), 'no snapshot directory left').to.deep.equal([]);
    const du = await tsbuild(['du', '--root', root]);
    expect(du.stdout).to.match(/Total:\s+0B/);
  });

  it('rebuilds a cached step whose snapshot directory was removed by hand, instead of failing at its mount', async () => {
    const ctx = await context(`FROM ${env.base}\nRUN echo a > /a\n`);
    const root = join(env.dir, 'root-gone');
    expect((await tsbuild(['build', '--root', root, ctx])).code).to.equal(0);
    const dirs = (await readdir(join(root, 'snapshots'))).filter((e) => /^\d+$/.test(e)).map(Number).sort((a, b) => a - b);
    await run('rm', ['-rf', join(root, 'snapshots', String(dirs.at(-1)))]);   // the RUN's: the newest
    const out = join(env.dir, `out${++n}`);
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain('the result was pruned');
    expect(await readFile(join(out, 'a'), 'utf8')).to.equal('a\n');
  });

  it('names the --from that matched no stage, its line, and the stages there are', async () => {
    const ctx = await context(`FROM ${env.base} AS base\nRUN true\nFROM ${env.base}\nCOPY --from=bsae /etc/passwd /x\n`);
    const r = await tsbuild(['build', '--root', join(env.dir, 'root-typo'), ctx]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(`Dockerfile:4: bsae: failed to resolve source metadata:`)
      .and.contain('COPY --from=bsae').and.contain('no stage is named "bsae" (the stages: base), so it was looked up as an image');
  });
});
