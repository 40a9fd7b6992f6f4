import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfinedFsError, RootSession } from './index.js';

const run = promisify(execFile);

// A session that ends cleanly gives its writer back (writer-pool.ts) and the writer execs itself afresh
// (root.c, E): the next session, on another root, must get a writer that holds nothing of the last one.

// The fds of an idle writer. It answered E and is exec'ing itself into `serve`: while it starts, its loader opens
// and closes files of its own (fd 3: ld.so.cache, libc). So this waits until it is `serve` again with exactly its
// three pipes, and returns every fd target it saw on the way as well: none may be of the session before.
async function idleFds(pid: number): Promise<{ fds: string[]; seen: string[] }> {
  const seen: string[] = [];
  let fds: string[] = [];
  for (let i = 0; i < 200; i++) {
    fds = [];
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        seen.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
        fds.push(fd);
      } catch {
        // closed between the listing and the look
      }
    }
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline === 'tsbuild-fsattr\0serve\0' && fds.sort().join(',') === '0,1,2') break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return { fds, seen };
}

// Until `pid` has exited (gone, or a zombie) or two seconds have passed.
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    let state: string | undefined;
    try {
      state = /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    } catch {
      return true;
    }
    if (state === 'Z' || state === 'X') return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

describe('confined writers served one session after another', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'tsbuild-writer-pool-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the next session, on another root, from a writer that kept no fd of the last one, with its directory times set', async () => {
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    mkdirSync(a);
    mkdirSync(b);
    const first = RootSession.open(a, { lowerRoots: [b] });
    // Directory times are held on open fds until the session ends: E must set them before the writer moves on.
    for (let i = 0; i < 20; i++) {
      first.dir(`d${i}`, false);
      first.meta({ uid: 0, gid: 0, mode: 0o750, mtimeNs: 1_000_000_000n * BigInt(i + 1) });
    }
    const pid = first.writerPid;
    await first.close();
    expect(statSync(join(a, 'd7')).mtimeMs).to.equal(8000);
    expect(statSync(join(a, 'd7')).mode & 0o777).to.equal(0o750);
    // Idle: only its pipes, no root, lower or held directory of the session before.
    expect(pid).to.be.a('number');
    const idle = await idleFds(pid ?? 0);
    expect(idle.fds).to.deep.equal(['0', '1', '2']);
    expect(idle.seen.join('\n')).to.not.include(dir);

    const second = RootSession.open(b);
    expect(second.writerPid).to.equal(pid);
    await second.file('f', Buffer.from('second'));
    expect(await second.stat('f')).to.equal('file');
    // The first root is not this session's: its entries are not visible here.
    expect(await second.stat('d7')).to.equal(undefined);
    // close() twice at once sends one E: the writer is given back once, and serves the next session.
    await Promise.all([second.close(), second.close()]);
    expect(readdirSync(b)).to.deep.equal(['f']);
    const third = RootSession.open(a);
    expect(await third.stat('d7')).to.equal('dir');
    await third.close();
  });

  it('has let go of the root when close() returns: the root can be unmounted at once', async () => {
    // A writer answers E only once every fd of the session is closed; before that, unmounting the root right after
    // close() raced with it (EBUSY, "target is busy").
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    for (let round = 0; round < 20; round++) {
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', mnt]);
      try {
        const session = RootSession.open(mnt);
        for (let i = 0; i < 50; i++) {
          session.dir(`d${i}/e`, false);
          session.meta({ uid: 0, gid: 0, mtimeNs: 1_000_000_000n });
        }
        await session.close();
      } finally {
        execFileSync('umount', [mnt]);
      }
    }
  });

  it('never gives back a writer whose session failed or was aborted', async () => {
    const root = join(dir, 'r');
    mkdirSync(root);
    writeFileSync(join(root, 'file'), 'x');
    const failing = RootSession.open(root);
    failing.policy('copy');
    failing.dir('file', false);   // a directory where a file is, under the copy policy: ENOTDIR or EEXIST
    const failedPid = failing.writerPid;
    let err: unknown;
    try { await failing.close(); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(ConfinedFsError);
    expect(await gone(failedPid ?? 0)).to.equal(true);

    const aborted = RootSession.open(root);
    expect(aborted.writerPid).to.not.equal(failedPid);
    expect(await aborted.stat('file')).to.equal('file');
    const abortedPid = aborted.writerPid;
    await aborted.abort();
    expect(await gone(abortedPid ?? 0)).to.equal(true);

    const next = RootSession.open(root);
    expect([failedPid, abortedPid]).to.not.include(next.writerPid);
    expect(await next.stat('file')).to.equal('file');
    await next.close();
  });

  it('keeps writing through the signals a terminal or CI runner sends the whole process group; the build ends it', async () => {
    // Ctrl-C reaches the writer and the build at once: a writer that died of it failed the build ("tsbuild-fsattr
    // root failed (exit null)") before the build had seen the signal and cancelled.
    const root = join(dir, 'r');
    mkdirSync(root);
    const session = RootSession.open(root);
    session.dir('before', false);
    expect(await session.stat('before')).to.equal('dir');
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.kill(session.writerPid ?? 0, sig);
    await new Promise((r) => setTimeout(r, 50));
    session.dir('after', false);
    await session.close();
    expect(readdirSync(root).sort()).to.deep.equal(['after', 'before']);
  });

  it('lets Node exit with writers idle, and the writers go with it', async () => {
    const root = join(dir, 'r');
    mkdirSync(root);
    const script = join(dir, 'exits.mjs');
    const module = join(fileURLToPath(new URL('.', import.meta.url)), 'index.js');
    writeFileSync(script, [
      `import { RootSession } from ${JSON.stringify(module)};`,
      `const s = RootSession.open(${JSON.stringify(root)});`,
      `s.dir('made', false);`,
      'const pid = s.writerPid;',
      'await s.close();',
      'console.log(pid);',
    ].join('\n'));
    const { stdout } = await run(process.execPath, [script], { timeout: 20_000 });
    expect(readdirSync(root)).to.deep.equal(['made']);
    expect(await gone(Number(stdout.trim()))).to.equal(true);
  });
});
