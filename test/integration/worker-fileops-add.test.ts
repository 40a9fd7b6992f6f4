import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { CopyOp } from '../../frontend/index.js';
import type { ProgressSink } from '../../solver/index.js';
import { copyInto, Downloads, GitCommits } from '../../worker/fileops/index.js';
import { killNode, mountsMentioning, startTsbuild, waitForBuild } from '../fixtures/crash-points.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// ADD: local archives are extracted (safely), URLs are downloaded from a real local HTTP server.

const progress: ProgressSink = { log: () => undefined, status: () => undefined };
const signal = new AbortController().signal;

/** Polls `check` until it gives a value; fails after 30 s. */
async function until<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const value = await check();
    if (value !== undefined) return value;
  }
  throw new Error('timed out');
}

function addOp(sources: string[], dest: string, extra: Partial<CopyOp> = {}): CopyOp {
  return { kind: 'copy', mode: 'add', from: { kind: 'context' }, sources, dest, link: false, parents: false, exclude: [], ...extra };
}

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; content?: string; linkname?: string; mode?: number; uid?: number };

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    pack.entry({ name: e.name, type: e.type ?? 'file', mode: e.mode ?? 0o644, uid: e.uid ?? 0, gid: e.uid ?? 0, linkname: e.linkname, mtime: new Date('2010-01-01T00:00:00Z') }, e.content ?? '');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

describe('copyInto (ADD)', () => {
  let base: string;
  let ctx: string;
  let root: string;
  let n = 0;
  const context = { kind: 'dir' as const, path: '', excludes: [] as string[] };
  const r = (p: string): string => path.join(root, p);

  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'tsbuild-add-'));
    ctx = path.join(base, 'ctx');
    context.path = ctx;
    await mkdir(ctx);
    const good = await makeTar([
      { name: 'pkg/', type: 'directory', mode: 0o755 },
      { name: 'pkg/bin.sh', content: 'echo', mode: 0o755, uid: 1000 },
      { name: 'pkg/link', type: 'symlink', linkname: 'bin.sh' },
      { name: 'pkg/hard', type: 'link', linkname: 'pkg/bin.sh' },
    ]);
    await writeFile(path.join(ctx, 'plain.tar'), good);
    await writeFile(path.join(ctx, 'app.tgz'), gzipSync(good));
    await writeFile(path.join(ctx, 'app.tar.xz'), execFileSync('xz', ['-c'], { input: good }));
    await writeFile(path.join(ctx, 'not-a-tar.gz'), gzipSync(Buffer.from('just text')));
    await writeFile(path.join(ctx, 'dotdot.tar'), await makeTar([{ name: '../../evil', content: 'x' }]));
    await writeFile(path.join(ctx, 'symlink-escape.tar'), await makeTar([
      { name: 'esc', type: 'symlink', linkname: '/' },
      { name: 'esc/etc/evil', content: 'x' },
    ]));
    await writeFile(path.join(ctx, 'hardlink-escape.tar'), await makeTar([{ name: 'h', type: 'link', linkname: '../../etc/passwd' }]));
    // An absolute target is the destination's own etc/passwd (the root's is outside it): not in the archive.
    await writeFile(path.join(ctx, 'hardlink-absolute.tar'), await makeTar([{ name: 'a.txt', content: 'x' }, { name: 'hl_abs', type: 'link', linkname: '/etc/passwd' }]));
    // The first header is whole, so these are taken for archives; the second header's checksum is off, or the
    // archive ends 2 bytes into pkg/bin.sh's 4-byte body.
    const damaged = Buffer.from(good);
    damaged.writeUInt8(damaged.readUInt8(512 + 3) ^ 0x01, 512 + 3);
    await writeFile(path.join(ctx, 'damaged.tar'), damaged);
    await writeFile(path.join(ctx, 'cut.tar'), good.subarray(0, 1024 + 2));
  });
  beforeEach(async () => {
    root = path.join(base, `root${n++}`);
    await mkdir(path.join(root, 'etc'), { recursive: true });
    await writeFile(path.join(root, 'etc/passwd'), 'root:x:0:0::/:/bin/sh\n');
  });
  after(async () => { await rm(base, { recursive: true, force: true }); });

  it('says what ADD wrote in its last status line: extracted entries and copied files, not "copied 0 files"', async () => {
    const status: string[] = [];
    const seen: ProgressSink = { log: () => undefined, status: (text) => { status.push(text); } };
    await copyInto(addOp(['plain.tar', 'not-a-tar.gz'], '/opt/'), context, root, signal, seen);
    expect(status.at(-1)).to.equal('copied 1 files, extracted 4 entries from 1 archive');
    await copyInto(addOp(['app.tgz'], '/opt2/'), context, root, signal, seen);
    expect(status.at(-1)).to.equal('extracted 4 entries from 1 archive');
  });

  for (const file of ['plain.tar', 'app.tgz', 'app.tar.xz']) {
    it(`extracts ${file} with its modes, owners, symlinks and hardlinks`, async () => {
      await copyInto(addOp([file], '/opt/'), context, root, signal, progress);
      expect(await readFile(r('opt/pkg/bin.sh'), 'utf8')).to.equal('echo');
      const st = await stat(r('opt/pkg/bin.sh'));
      expect(st.mode & 0o7777).to.equal(0o755);
      expect(st.uid).to.equal(1000);
      expect(await readlink(r('opt/pkg/link'))).to.equal('bin.sh');
      expect((await stat(r('opt/pkg/hard'))).ino).to.equal(st.ino);
      expect(st.mtime.toISOString()).to.equal('2010-01-01T00:00:00.000Z');
    });
  }

  it('keeps the xattrs of archive entries, a binary file capability among them, as docker\'s untar does', async () => {
    // Made by GNU tar from real files: security.capability holds bytes >= 0x80 (cap_setfcap), user.note is text.
    const src = path.join(base, 'xattr-src');
    await mkdir(path.join(src, 'x'), { recursive: true });
    await writeFile(path.join(src, 'x/captool'), 'cap');
    execFileSync('setcap', ['cap_setfcap=+ep', path.join(src, 'x/captool')]);
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'kept', path.join(src, 'x')]);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--format=pax', '-cf', path.join(ctx, 'xattrs.tar'), '-C', src, 'x']);
    await copyInto(addOp(['xattrs.tar'], '/opt/'), context, root, signal, progress);
    expect(execFileSync('getcap', [r('opt/x/captool')], { encoding: 'utf8' })).to.contain('cap_setfcap=ep');
    expect(execFileSync('getfattr', ['--only-values', '-n', 'user.note', r('opt/x')], { encoding: 'utf8' })).to.equal('kept');
  });

  it('copies a compressed file that is not a tar as it is', async () => {
    await copyInto(addOp(['not-a-tar.gz'], '/d/'), context, root, signal, progress);
    expect((await readdir(r('d')))).to.deep.equal(['not-a-tar.gz']);
  });

  it('follows an archive symlink to / with the destination as the root (docker\'s chrootarchive), never outside it', async () => {
    await copyInto(addOp(['symlink-escape.tar'], '/x/'), context, root, signal, progress);
    expect(await readFile(r('x/etc/evil'), 'utf8')).to.equal('x');
    expect(await lstat(r('etc/evil')).catch(() => undefined)).to.equal(undefined);
    expect(await lstat(path.join(base, 'evil')).catch(() => undefined)).to.equal(undefined);
    expect(await readFile(r('etc/passwd'), 'utf8')).to.equal('root:x:0:0::/:/bin/sh\n');
  });

  for (const file of ['dotdot.tar', 'hardlink-escape.tar']) {
    it(`refuses the hostile archive ${file} and writes nothing outside the destination`, async () => {
      const err = await copyInto(addOp([file], '/x/'), context, root, signal, progress).catch((e: unknown) => e);
      expect(err).to.have.property('code', 'INVALID_ARGUMENT');
      expect(await lstat(r('etc/evil')).catch(() => undefined)).to.equal(undefined);
      expect(await lstat(path.join(base, 'evil')).catch(() => undefined)).to.equal(undefined);
      expect(await readFile(r('etc/passwd'), 'utf8')).to.equal('root:x:0:0::/:/bin/sh\n');
    });
  }

  it('refuses a hard link to a file the archive did not extract before it, naming the link, and links nothing outside', async () => {
    const err = await copyInto(addOp(['hardlink-absolute.tar'], '/x/'), context, root, signal, progress).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'INVALID_ARGUMENT');
    expect((err as Error).message).to.equal('hard link "hl_abs" names no file written before it');
    expect((await lstat(r('etc/passwd'))).nlink).to.equal(1);
  });

  it('refuses a damaged and a cut-short archive with INVALID_ARGUMENT, naming the archive, the entry and the byte', async () => {
    const damaged = await copyInto(addOp(['damaged.tar'], '/x/'), context, root, signal, progress).catch((e: unknown) => e);
    expect(damaged).to.have.property('code', 'INVALID_ARGUMENT');
    expect(String((damaged as Error).message)).to.equal('archive damaged.tar: not a tar archive, or a damaged one: header checksum mismatch at byte 512');
    const cut = await copyInto(addOp(['cut.tar'], '/y/'), context, root, signal, progress).catch((e: unknown) => e);
    expect(cut).to.have.property('code', 'INVALID_ARGUMENT');
    expect(String((cut as Error).message)).to.equal('archive cut.tar: truncated archive: it ends at byte 1026, in the body of entry "pkg/bin.sh" (header at byte 512), 2 of its 4 bytes read');
  });

  describe('from a URL', () => {
    let server: Server;
    let liar: NetServer;
    let url: string;
    let liarUrl: string;
    /** The state root's temp dir the worker hands a copy (LinuxWorker: <root>/tmp). */
    let state: string;
    /** The host's temp dir as this process sees it (TMPDIR): a download must never land there. */
    let hostTmp: string;
    let savedTmp: string | undefined;
    const body = 'downloaded body\n';
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    /** The state root whose http-sources a build keeps its downloads in (one Downloads per add: one build each). */
    let stateRoot: string;
    const add = (sources: string[], dest: string, extra: Partial<CopyOp> = {}, how = signal): Promise<unknown> =>
      copyInto(addOp(sources, dest, extra), context, root, how, progress, { tempDir: state, remote: { commits: new GitCommits(state), downloads: new Downloads(stateRoot, state) } });
    before(async () => {
      server = createServer((req, res) => {
        if (req.url === '/files/tool.bin') {
          res.writeHead(200, { 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT', 'content-type': 'application/octet-stream' });
          res.end(body);
        } else if (req.url === '/endless') {
          // 200 and zeros for ever, slowly: a download that is under way for as long as the test looks at it.
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          const timer = setInterval(() => res.write(Buffer.alloc(64 * 1024)), 10);
          res.on('close', () => clearInterval(timer));
        } else { res.writeHead(404); res.end(); }
      });
      // Servers that lie about Content-Length, which node's http server will not do: /short closes after 10 of the
      // 100 bytes it announced, anything else announces 10 bytes and then streams zeros until the client goes.
      liar = createNetServer((socket) => {
        socket.on('error', () => undefined);
        socket.once('data', (request: Buffer) => {
          if (request.toString().startsWith('GET /short ')) {
            socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
            return;
          }
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789');
          const pump = (): void => { while (!socket.destroyed && socket.write(Buffer.alloc(64 * 1024))); };
          socket.on('drain', pump);
          pump();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
      state = path.join(base, 'state-tmp');
      stateRoot = path.join(base, 'state-root');
      hostTmp = path.join(base, 'host-tmp');
      await mkdir(state);
      await mkdir(hostTmp, { mode: 0o700 });
      savedTmp = process.env.TMPDIR;
      process.env.TMPDIR = hostTmp;
    });
    after(async () => {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await new Promise((resolve) => liar.close(resolve));
    });
    afterEach(async () => {
      // Whatever a download did, it left nothing behind in either place.
      expect(await readdir(state), 'the state root\'s temp dir').to.deep.equal([]);
      expect(await readdir(hostTmp), 'TMPDIR').to.deep.equal([]);
    });

    it('downloads into a private dir under the state root\'s temp dir, never TMPDIR, and removes it when cancelled', async () => {
      const cancel = new AbortController();
      const adding = add([`${url}/endless`], '/dl/big', {}, cancel.signal).then(() => undefined, (e: unknown) => e);
      // The dir is named <kind>-<pid>-… so that the next worker on the root removes it once this process is gone.
      const file = await until(async () => {
        for (const entry of await readdir(state)) {
          const st = await stat(path.join(state, entry, 'download')).catch(() => undefined);
          if (st !== undefined && st.size > 256 * 1024) return { entry, st };
        }
        expect(await readdir(hostTmp), 'TMPDIR while downloading').to.deep.equal([]);
        return undefined;
      });
      expect(file.entry).to.match(new RegExp(`^download-${process.pid}-`));
      expect((await stat(path.join(state, file.entry))).mode & 0o777).to.equal(0o700);
      expect(file.st.mode & 0o777).to.equal(0o600);
      expect(await readdir(hostTmp), 'TMPDIR while downloading').to.deep.equal([]);
      cancel.abort();
      expect(await adding).to.be.instanceOf(Error);
      expect(await readdir(root)).to.deep.equal(['etc']);
    });

    it('fails a body that ends before its Content-Length, naming the URL, and writes nothing', async () => {
      const err = await add([`${liarUrl}/short`], '/dl/f').catch((e: unknown) => e);
      expect(err).to.have.property('code', 'INVALID_ARGUMENT');
      expect(String((err as Error).message)).to.match(new RegExp(`^ADD ${liarUrl}/short: the download broke off after \\d+ of 100 bytes`));
      expect(await readdir(root)).to.deep.equal(['etc']);
    });

    it('takes exactly Content-Length bytes from a server that sends more (HTTP framing: the rest is not body), never the endless tail', async () => {
      const ten = `sha256:${createHash('sha256').update('0123456789').digest('hex')}`;
      await add([`${liarUrl}/lie`], '/dl/f', { checksum: ten });
      expect(await readFile(r('dl/f'), 'utf8')).to.equal('0123456789');
    });

    it('downloads into a directory under the URL\'s file name, mode 0600, Last-Modified as mtime', async () => {
      await add([`${url}/files/tool.bin`], '/dl/', { checksum: digest });
      expect(await readFile(r('dl/tool.bin'), 'utf8')).to.equal(body);
      const st = await stat(r('dl/tool.bin'));
      expect(st.mode & 0o7777).to.equal(0o600);
      expect(st.mtime.toISOString()).to.equal('2015-10-21T07:28:00.000Z');
    });

    it('refuses a download whose --checksum does not match and leaves nothing in the root', async () => {
      const wrong = `sha256:${'0'.repeat(64)}`;
      const before = await readdir(root);
      const err = await add([`${url}/files/tool.bin`], '/dl/', { checksum: wrong }).catch((e: unknown) => e);
      expect(err).to.have.property('code', 'DIGEST_MISMATCH');
      expect(await readdir(root)).to.deep.equal(before);
    });

    it('reports an HTTP error status', async () => {
      const err = await add([`${url}/missing`], '/dl/f').catch((e: unknown) => e);
      expect(err).to.have.property('code', 'INVALID_ARGUMENT');
    });

    it('names a URL whose download failed with its password redacted (the step\'s error line reaches CI logs)', async () => {
      const withPassword = url.replace('http://', 'http://alice:s3cret@');
      for (const [source, opts] of [[`${withPassword}/missing`, {}], [`${withPassword}/files/tool.bin`, { checksum: `sha256:${'0'.repeat(64)}` }], ['http://alice:s3cret@127.0.0.1:1/x', {}]] as const) {
        const err = await add([source], '/dl/f', opts).catch((e: unknown) => e);
        expect(err).to.have.property('message').that.contains('alice:xxxxx@').and.not.contains('s3cret');
      }
    });

    // ADD of a git repository is BuildKit's git source (worker/fileops/add-git.ts; test/integration/remote-context.test.ts).
    it('fetches git URLs: an unreachable repository fails naming it, credentials redacted', async () => {
      const err = await add(['http://user:s3cret@127.0.0.1:1/o/r.git#main'], '/src/').catch((e: unknown) => e);
      expect(err).to.have.property('code', 'COPY_SOURCE_NOT_FOUND');
      expect(err).to.have.property('message').that.contains('http://user:xxxxx@127.0.0.1:1/o/r.git').and.not.contains('s3cret');
    });
  });
});

// The same through the real command, killed as a CI job kill does it: a download in flight is in the state root's
// temp dir, not the host's TMPDIR (a tmpfs on many hosts, where every byte is RAM and a kill -9's leftover stayed for
// ever), and the next build or prune on the root removes what the killed one left.
describe('tsbuild build: ADD <url> killed with SIGKILL mid-download', function () {
  this.timeout(120_000);
  let dir: string;
  let hostTmp: string;
  let server: Server;
  let url: string;
  const env = (): NodeJS.ProcessEnv => ({ TMPDIR: hostTmp, TSBUILD_DAEMON: '0' });
  const context = async (name: string, dockerfile: string): Promise<string> => {
    const ctx = path.join(dir, name);
    await mkdir(ctx);
    await writeFile(path.join(ctx, 'Dockerfile'), dockerfile);
    return ctx;
  };
  /** Starts a build of the endless download and kills it once 1 MiB of it is on disk; returns its pid. */
  const killMidDownload = async (root: string, ctx: string): Promise<number> => {
    const build = startTsbuild(['build', '--root', root, '--progress', 'plain', ctx], env());
    const where = await waitForBuild(build, `1 MiB of the download on disk`, async () => {
      for (const [top, dirs] of [[hostTmp, await readdir(hostTmp)], [path.join(root, 'tmp'), await readdir(path.join(root, 'tmp')).catch(() => [])]] as const) {
        for (const d of dirs) {
          const st = await stat(path.join(top, d, 'download')).catch(() => undefined);
          if (st !== undefined && st.size > 1024 * 1024) return path.join(top, d);
        }
      }
      return undefined;
    }, 60_000);
    expect(path.dirname(where), 'where the download is written').to.equal(path.join(root, 'tmp'));
    expect(path.basename(where)).to.match(new RegExp(`^download-${build.pid}-`));
    expect(await readdir(hostTmp), 'TMPDIR during the download').to.deep.equal([]);
    killNode(build.pid);
    expect((await build.done).signal).to.equal('SIGKILL');
    // kill -9 skipped every `finally`: the partial download stays until the next process opening the root. It is
    // made while the step's key is computed (the key is the content the URL serves, as BuildKit's http source resolves
    // it before the step runs), so no snapshot of the step is mounted yet.
    const left = (await readdir(path.join(root, 'tmp'))).sort();
    expect(left.map((e) => e.replace(new RegExp(`-${build.pid}-.*`), '')), 'the leftovers this test is about').to.deep.equal(['download']);
    expect(await readdir(hostTmp), 'TMPDIR after the kill').to.deep.equal([]);
    return build.pid;
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tsbuild-add-kill-'));
    hostTmp = path.join(dir, 'host-tmp');
    await mkdir(hostTmp, { mode: 0o700 });
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      if (req.url === '/small') { res.end('small\n'); return; }
      const timer = setInterval(() => res.write(Buffer.alloc(64 * 1024)), 10);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    // A failed test may leave a killed build's snapshot mounted in a root: off before the directory goes.
    for (const line of mountsMentioning([dir]).reverse()) {
      const target = line.split(' ')[4];
      if (target !== undefined) await run('umount', ['-l', target]);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('downloads under the state root, and the next build removes what a killed one left; TMPDIR stays empty', async () => {
    const root = path.join(dir, 'root-build');
    await killMidDownload(root, await context('endless', `FROM scratch\nADD ${url}/endless /big\n`));
    const next = await tsbuild(['build', '--root', root, '--progress', 'plain', await context('small', `FROM scratch\nADD ${url}/small /small\n`)], { env: env() });
    expect(next.code, next.stderr).to.equal(0);
    expect(await readdir(path.join(root, 'tmp'))).to.deep.equal([]);
    expect(mountsMentioning([path.join(root, 'tmp')])).to.deep.equal([]);
    expect(await readdir(hostTmp)).to.deep.equal([]);
  });

  it('tsbuild prune removes what a killed build left in the state root', async () => {
    const root = path.join(dir, 'root-prune');
    await killMidDownload(root, await context('endless-prune', `FROM scratch\nADD ${url}/endless /big\n`));
    const prune = await tsbuild(['prune', '--root', root], { env: env() });
    expect(prune.code, prune.stderr).to.equal(0);
    expect(await readdir(path.join(root, 'tmp'))).to.deep.equal([]);
    expect(mountsMentioning([path.join(root, 'tmp')])).to.deep.equal([]);
    expect(await readdir(hostTmp)).to.deep.equal([]);
  });
});
