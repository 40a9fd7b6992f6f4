import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFile, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { CopyOp } from '../../frontend/index.js';
import type { ProgressSink } from '../../solver/index.js';
import { removeStubs } from '../../worker/exec/stubs.js';
import { copyInto, Downloads, GitCommits } from '../../worker/fileops/index.js';
import { applyLayer } from '../../worker/index.js';
import { mkdirInRoot } from '../../worker/mkdir-in-root.js';
import { snapshotTree } from '../fixtures/host-marker.js';
import { packTar } from '../fixtures/pack-tar.js';

// Issue 14: a build (its Dockerfile, context, base layers, earlier RUN steps) must never change the host. Every case
// plants a way out (a symlink to a host marker tree, a race, a pre-made temp name), runs the real worker code, and
// checks that the marker tree is byte for byte, mode for mode, xattr for xattr what it was, and that the build either
// failed with a clear error or kept the write inside the root.

const progress: ProgressSink = { log: () => undefined, status: () => undefined };
const signal = new AbortController().signal;

function op(sources: string[], dest: string, extra: Partial<CopyOp> = {}): CopyOp {
  return { kind: 'copy', mode: 'copy', from: { kind: 'context' }, sources, dest, link: false, parents: false, exclude: [], ...extra };
}

describe('issue 14: nothing a build controls can write outside its root', function () {
  this.timeout(120_000);
  let base: string;
  let host: string;          // the marker tree: files, a directory, a binary
  let marker: string[];
  let root: string;
  let ctx: string;
  let n = 0;

  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'tsbuild-issue14-'));
    host = path.join(base, 'host');
    await mkdir(path.join(host, 'dir'), { recursive: true });
    await writeFile(path.join(host, 'file'), 'host file\n', { mode: 0o644 });
    await writeFile(path.join(host, 'dir', 'inner'), 'inner\n', { mode: 0o600 });
    await writeFile(path.join(host, 'f'), 'same name as a copied file\n', { mode: 0o755 });
    await copyFile('/bin/true', path.join(host, 'true'));
    marker = await snapshotTree(host);
  });
  beforeEach(async () => {
    root = path.join(base, `root${n}`);
    ctx = path.join(base, `ctx${n}`);
    n++;
    await mkdir(path.join(root, 'etc'), { recursive: true });
    await writeFile(path.join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n');
    await writeFile(path.join(root, 'etc/group'), 'root:x:0:\napp:x:1001:\n');
    await mkdir(ctx, { recursive: true });
  });
  afterEach(async () => {
    expect(await snapshotTree(host)).to.deep.equal(marker);
  });
  after(async () => { await rm(base, { recursive: true, force: true }); });

  it('applies xattrs and a setuid fifo to the directory they were written in, not to the host dir the parent became', async () => {
    const upper = path.join(base, `upper${n}`);
    await mkdir(upper);
    const layer = await packTar([
      { name: 'd/', type: 'directory', mode: 0o755 },
      { name: 'd/x', type: 'file', mode: 0o644, content: 'x', pax: { 'SCHILY.xattr.user.tsbuild': 'evil' } },
      { name: 'd/p', type: 'fifo', mode: 0o4777 },
      { name: 'd', type: 'symlink', linkname: host },
    ]);
    const err = await applyLayer(Readable.from([layer]), upper, { layer: 'sha256:hostile' }).then(() => undefined, (e: unknown) => e);
    // Either refused as INVALID_LAYER or contained: `d` is now the symlink, the host dir is untouched (afterEach).
    if (err !== undefined) expect(err).to.have.property('code', 'INVALID_LAYER');
    else expect(await readlink(path.join(upper, 'd'))).to.equal(host);
  });

  it('keeps a layer entry written through a symlink to a host dir inside the root (chroot semantics)', async () => {
    const upper = path.join(base, `upper${n}`);
    await mkdir(upper);
    const layer = await packTar([
      { name: 'd', type: 'symlink', linkname: host },
      { name: 'd/file', type: 'file', mode: 0o4755, content: 'evil' },
    ]);
    await applyLayer(Readable.from([layer]), upper, { layer: 'sha256:hostile' });
    // As containerd's fs.RootPath and docker's chrootarchive resolve it: <root><host>/file; the host is untouched.
    expect(await readFile(path.join(upper, host, 'file'), 'utf8')).to.equal('evil');
    expect(await readlink(path.join(upper, 'd'))).to.equal(host);
  });

  it('never lets two COPY sources race one destination into a host file (--chmod=4755, several runs)', async () => {
    await mkdir(path.join(ctx, 'a'));
    await mkdir(path.join(ctx, 'b'));
    await writeFile(path.join(ctx, 'a', 'f'), Buffer.alloc(8 << 20, 1));
    await symlink(path.join(host, 'f'), path.join(ctx, 'b', 'f'));
    for (let i = 0; i < 4; i++) {
      await copyInto(op(['a/', 'b/'], '/d/', { chmod: '4755' }), { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress);
      // b/ comes after a/: its symlink replaces the copied file, and the link's target is only a string in the image.
      expect(await readlink(path.join(root, 'd', 'f'))).to.equal(path.join(host, 'f'));
      expect(await snapshotTree(host)).to.deep.equal(marker);
    }
  });

  describe('a destination that is a symlink to a host path', () => {
    let server: Server;
    let url: string;
    before(async () => {
      server = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(`downloaded ${req.url ?? ''}\n`);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => { await new Promise<void>((resolve) => server.close(() => resolve())); });
    beforeEach(async () => {
      await symlink(host, path.join(root, 'out'));
      await writeFile(path.join(ctx, 'f'), 'from the context\n');
    });
    // The image's /out -> <host> is followed as a chroot would: the write lands in <root><host>, never in <host>.
    const inRoot = (name: string): string => path.join(root, host, name);

    it('COPY writes inside the root', async () => {
      await copyInto(op(['f'], '/out/'), { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress);
      expect(await readFile(inRoot('f'), 'utf8')).to.equal('from the context\n');
    });
    it('COPY onto the symlink itself writes through it as BuildKit does, to the target inside the root', async () => {
      await symlink(path.join(host, 'file'), path.join(root, 'file-link'));
      await mkdir(path.join(root, host), { recursive: true });
      await copyInto(op(['f'], '/file-link'), { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress);
      expect(await readFile(inRoot('file'), 'utf8')).to.equal('from the context\n');
      expect(await readlink(path.join(root, 'file-link'))).to.equal(path.join(host, 'file'));
    });
    it('COPY onto a symlink to a host file whose directory the image lacks fails, and writes nothing', async () => {
      await symlink(path.join(host, 'file'), path.join(root, 'file-link'));
      const err = await copyInto(op(['f'], '/file-link'), { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress).then(() => undefined, (e: unknown) => e);
      expect(String(err)).to.include("cannot copy to /file-link: it is a symlink whose target's directory does not exist in the image");
      expect(await readlink(path.join(root, 'file-link'))).to.equal(path.join(host, 'file'));
    });
    it('COPY --from (another stage, owners kept) writes inside the root', async () => {
      const stage = path.join(base, `stage${n}`);
      await mkdir(path.join(stage, 'app'), { recursive: true });
      await writeFile(path.join(stage, 'app', 'f'), 'from a stage\n', { mode: 0o4755 });
      await copyInto(op(['/app/'], '/out/', { from: { kind: 'vertex', id: 's1' } }), { kind: 'dir', path: stage, excludes: [] }, root, signal, progress);
      expect(await readFile(inRoot('f'), 'utf8')).to.equal('from a stage\n');
    });
    it('heredoc COPY writes inside the root', async () => {
      await copyInto(op(['f'], '/out/f'), { kind: 'inline', files: [{ name: 'f', content: 'heredoc\n' }] }, root, signal, progress);
      expect(await readFile(inRoot('f'), 'utf8')).to.equal('heredoc\n');
    });
    it('ADD of an archive writes inside the root, and an archive symlink out of the destination is followed inside it', async () => {
      await writeFile(path.join(ctx, 'a.tar'), await packTar([{ name: 'f', type: 'file', mode: 0o4755, content: 'from the archive\n' }]));
      await copyInto(op(['a.tar'], '/out/', { mode: 'add' }), { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress);
      expect(await readFile(inRoot('f'), 'utf8')).to.equal('from the archive\n');
      await writeFile(path.join(ctx, 'b.tar'), await packTar([
        { name: 'esc', type: 'symlink', linkname: host },
        { name: 'esc/file', type: 'file', mode: 0o644, content: 'evil' },
        { name: 'up', type: 'symlink', linkname: '../../../../../../..' },
        { name: 'up/climbed', type: 'file', mode: 0o644, content: 'evil' },
      ]));
      await copyInto(op(['b.tar'], '/x/', { mode: 'add' }), { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress);
      // The destination is the archive's root, as docker's chrootarchive makes it: /x<host>/file and /x/climbed.
      expect(await readFile(path.join(root, 'x', host, 'file'), 'utf8')).to.equal('evil');
      expect(await readFile(path.join(root, 'x', 'climbed'), 'utf8')).to.equal('evil');
      expect(await readlink(path.join(root, 'x', 'esc'))).to.equal(host);
    });
    it('ADD <url> writes inside the root', async () => {
      await copyInto(op([`${url}/f`], '/out/', { mode: 'add' }), { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress, { tempDir: base, remote: { commits: new GitCommits(base), downloads: new Downloads(path.join(base, 'state-root'), base) } });
      expect(await readFile(inRoot('f'), 'utf8')).to.equal('downloaded /f\n');
    });
    it('ADD <url> ignores a planted temp name next to the target', async () => {
      await mkdir(path.join(root, 'dl'));
      // The name the old downloader used; an earlier RUN could plant it.
      await symlink(path.join(host, 'file'), path.join(root, 'dl', `tool.bin.tsbuild-download-${process.pid}`));
      await copyInto(op([`${url}/tool.bin`], '/dl/', { mode: 'add' }), { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress, { tempDir: base, remote: { commits: new GitCommits(base), downloads: new Downloads(path.join(base, 'state-root'), base) } });
      expect(await readFile(path.join(root, 'dl', 'tool.bin'), 'utf8')).to.equal('downloaded /tool.bin\n');
    });
    it('WORKDIR through the symlink creates the directory inside the root', async () => {
      await mkdirInRoot(root, '/out/work/sub', 'app');
      const st = await lstat(inRoot('work/sub'));
      expect(st.isDirectory()).to.equal(true);
      expect([st.uid, st.gid]).to.deep.equal([1000, 1001]);
    });
  });

  it('RUN stub clean-up leaves a host dir alone when the step replaced /etc and /run/secrets with symlinks to it', async () => {
    const upper = path.join(base, `upper${n}`);
    const hostEtc = path.join(base, `host-etc${n}`);
    await mkdir(path.join(upper, 'run'), { recursive: true });
    await mkdir(path.join(hostEtc, 'secrets'), { recursive: true });
    // What the step left: /etc and /run/secrets are symlinks to a host dir holding files named like the stubs.
    await symlink(hostEtc, path.join(upper, 'etc'));
    await symlink(path.join(hostEtc, 'secrets'), path.join(upper, 'run', 'secrets'));
    await writeFile(path.join(hostEtc, 'hosts'), '');
    await writeFile(path.join(hostEtc, 'secrets', 'token'), '');
    const marked = await snapshotTree(hostEtc);
    const t: [number, number] = [1_700_000_000, 0];
    await removeStubs(upper, [], [
      { path: '/etc/hosts', isDir: false, before: t, after: t },
      { path: '/run/secrets/token', isDir: false, before: t, after: t },
      { path: '/run/secrets', isDir: true, before: t, after: t },
    ], { rootMtimeNs: 0n, absent: new Set(['/run/secrets', '/etc']) }, t);
    expect(await snapshotTree(hostEtc)).to.deep.equal(marked);
  });

  it('resolves COPY sources inside the context: a link out of it is not found, a loop is refused', async () => {
    await symlink(path.join(host, 'file'), path.join(ctx, 'abs-out'));
    await symlink('../../../../../../../..' + path.join(host, 'file'), path.join(ctx, 'rel-out'));
    await symlink('loop2', path.join(ctx, 'loop1'));
    await symlink('loop1', path.join(ctx, 'loop2'));
    for (const source of ['abs-out', 'rel-out']) {
      const err = await copyInto(op([source], '/x'), { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress).catch((e: unknown) => e);
      expect(err, source).to.have.property('code', 'COPY_SOURCE_NOT_FOUND');
    }
    const err = await copyInto(op(['loop1'], '/x'), { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'INVALID_ARGUMENT');
    expect(await lstat(path.join(root, 'x')).catch(() => undefined)).to.equal(undefined);
  });

  it('copies a directory\'s contents to / (the root itself keeps its metadata)', async () => {
    await mkdir(path.join(ctx, 'tree', 'sub'), { recursive: true });
    await writeFile(path.join(ctx, 'tree', 'sub', 'f'), 'at the root\n');
    await copyInto(op(['tree/'], '/'), { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress);
    expect(await readFile(path.join(root, 'sub', 'f'), 'utf8')).to.equal('at the root\n');
  });

  it('COPY --chown=app takes app\'s primary gid for the files and the parent directories it creates', async () => {
    await mkdir(path.join(ctx, 'src'));
    await writeFile(path.join(ctx, 'src', 'app.sh'), 'echo\n');
    await copyInto(op(['src/'], '/home/app/new/', { chown: 'app' }), { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress);
    for (const p of ['home', 'home/app', 'home/app/new', 'home/app/new/app.sh']) {
      const st = await lstat(path.join(root, p));
      expect([st.uid, st.gid], p).to.deep.equal([1000, 1001]);
    }
  });
});
