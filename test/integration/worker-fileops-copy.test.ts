import { expect } from 'chai';
import { chown, link, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CopyOp } from '../../frontend/index.js';
import type { ProgressSink } from '../../solver/index.js';
import { copyInto, type CopySourceDir } from '../../worker/fileops/index.js';

// COPY semantics against real directories: a context tree and an image root, as the LinuxWorker hands them over.

const progress: ProgressSink = { log: () => undefined, status: () => undefined };
const signal = new AbortController().signal;

function copyOp(sources: string[], dest: string, extra: Partial<CopyOp> = {}): CopyOp {
  return { kind: 'copy', mode: 'copy', from: { kind: 'context' }, sources, dest, link: false, parents: false, exclude: [], ...extra };
}

const OLD = new Date('2001-02-03T04:05:06Z');

async function makeContext(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'src/lib'), { recursive: true });
  await mkdir(path.join(dir, 'empty'), { recursive: true });
  await mkdir(path.join(dir, 'x'), { recursive: true });
  await mkdir(path.join(dir, 'y'), { recursive: true });
  await writeFile(path.join(dir, 'src/app.ts'), 'app');
  await writeFile(path.join(dir, 'src/util.ts'), 'util');
  await writeFile(path.join(dir, 'src/notes.md'), 'notes');
  await writeFile(path.join(dir, 'src/lib/deep.ts'), 'deep');
  await writeFile(path.join(dir, 'README.md'), 'readme', { mode: 0o640 });
  await writeFile(path.join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  await writeFile(path.join(dir, 'secret.env'), 'TOKEN=1');
  await writeFile(path.join(dir, 'x/a.txt'), 'xa');
  await writeFile(path.join(dir, 'y/a.txt'), 'ya');
  await symlink('app.ts', path.join(dir, 'src/link.ts'));
  await symlink('src/app.ts', path.join(dir, 'toplink'));
  await link(path.join(dir, 'src/app.ts'), path.join(dir, 'src/hard.ts'));
  await chown(path.join(dir, 'README.md'), 1234, 5678);
  await utimes(path.join(dir, 'README.md'), OLD, OLD);
  await utimes(path.join(dir, 'src/lib'), OLD, OLD);
}

async function makeRoot(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'etc'), { recursive: true });
  await mkdir(path.join(dir, 'opt/app'), { recursive: true });
  await writeFile(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1001::/home/node:/bin/sh\n');
  await writeFile(path.join(dir, 'etc/group'), 'root:x:0:\nstaff:x:50:\n');
  await symlink('/opt/app', path.join(dir, 'app'));
  await symlink('/etc', path.join(dir, 'etclink'));
}

describe('copyInto (COPY)', () => {
  let base: string;
  let ctx: string;
  let root: string;
  let n = 0;
  const context = (excludes: string[] = []): CopySourceDir => ({ kind: 'dir', path: ctx, excludes });

  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'tsbuild-copy-'));
    ctx = path.join(base, 'ctx');
    await makeContext(ctx);
  });
  beforeEach(async () => {
    root = path.join(base, `root${n++}`);
    await makeRoot(root);
  });
  after(async () => { await rm(base, { recursive: true, force: true }); });

  const r = (p: string): string => path.join(root, p);

  it('copies a file to a new file path', async () => {
    await copyInto(copyOp(['src/app.ts'], '/out/app.js'), context(), root, signal, progress);
    expect(await readFile(r('out/app.js'), 'utf8')).to.equal('app');
  });

  it('copies a file into a destination ending in a slash', async () => {
    await copyInto(copyOp(['/src/app.ts'], '/out/'), context(), root, signal, progress);
    expect(await readFile(r('out/app.ts'), 'utf8')).to.equal('app');
  });

  it('copies a file into an existing directory without a slash', async () => {
    await copyInto(copyOp(['src/app.ts'], '/etc'), context(), root, signal, progress);
    expect(await readFile(r('etc/app.ts'), 'utf8')).to.equal('app');
  });

  it('copies a directory\'s contents, not the directory itself', async () => {
    await copyInto(copyOp(['src'], '/srv'), context(), root, signal, progress);
    expect((await readdir(r('srv'))).sort()).to.deep.equal(['app.ts', 'hard.ts', 'lib', 'link.ts', 'notes.md', 'util.ts']);
    expect(await readFile(r('srv/lib/deep.ts'), 'utf8')).to.equal('deep');
  });

  it('expands wildcards per segment and needs a directory destination', async () => {
    await copyInto(copyOp(['src/*.ts'], '/w/'), context(), root, signal, progress);
    expect((await readdir(r('w'))).sort()).to.deep.equal(['app.ts', 'hard.ts', 'link.ts', 'util.ts']);
  });

  it('copies several sources to a destination that is no directory in turn: the last one wins, as in BuildKit', async () => {
    // BuildKit has no 'must be a directory' check: each source is its own copy (file/backend.go docopy), and fsutil's
    // prepareTargetDir looks at the destination again each time.
    await copyInto(copyOp(['src/app.ts', 'src/util.ts'], '/one'), context(), root, signal, progress);
    expect(await readFile(r('one'), 'utf8')).to.equal(await readFile(path.join(ctx, 'src/util.ts'), 'utf8'));
  });

  it('names a missing source and says it is not in the build context', async () => {
    const err = await copyInto(copyOp(['src/nope.ts'], '/x/'), context(), root, signal, progress).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'COPY_SOURCE_NOT_FOUND');
    expect(String((err as Error).message)).to.contain('"src/nope.ts" not found in build context');
  });

  it('hints at the .dockerignore pattern that hides a source', async () => {
    const err = await copyInto(copyOp(['src/app.ts'], '/x/'), context(['*.md', 'src/*.ts']), root, signal, progress).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'COPY_SOURCE_NOT_FOUND');
    expect(err).to.have.property('hint').that.contains('"src/*.ts"');
  });

  it('leaves files hidden by .dockerignore out of a directory copy', async () => {
    await copyInto(copyOp(['.'], '/all/'), context(['*.env', 'src/lib']), root, signal, progress);
    expect((await readdir(r('all'))).includes('secret.env')).to.equal(false);
    expect((await readdir(r('all/src'))).includes('lib')).to.equal(false);
    expect(await readFile(r('all/README.md'), 'utf8')).to.equal('readme');
  });

  it('reads a source that climbs above the context from the context root, as BuildKit cleans it (`../a` is the context\'s `a`), never from the host', async () => {
    const sources = ['../README.md', './../../README.md', 'src/../../README.md', '/../README.md', '../src/../README.md'];
    for (const [i, source] of sources.entries()) {
      await copyInto(copyOp([source], `/up${i}/`), context(), root, signal, progress);
      expect(await readdir(r(`up${i}`)), source).to.deep.equal(['README.md']);
      expect(await readFile(r(`up${i}/README.md`), 'utf8')).to.equal('readme');
    }
    await copyInto(copyOp(['../src/*.md'], '/glob/', { mode: 'add' }), context(), root, signal, progress);
    expect(await readdir(r('glob'))).to.deep.equal(['notes.md']);
    await copyInto(copyOp(['..'], '/all/'), context(), root, signal, progress);
    expect(await readFile(r('all/src/app.ts'), 'utf8')).to.equal('app');
    // The context has no etc/passwd: the host's is not what `../etc/passwd` names.
    const err = await copyInto(copyOp(['../etc/passwd'], '/x/'), context(), root, signal, progress).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'COPY_SOURCE_NOT_FOUND');
    expect(String((err as Error).message)).to.contain('"../etc/passwd" not found in build context');
  });

  it('cleans `..` in a COPY --from source within that stage\'s root, and each side of a --parents pivot on its own', async () => {
    await copyInto(copyOp(['../../README.md'], '/s/', { from: { kind: 'vertex', id: 's0.1' } }), { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress);
    expect(await readFile(r('s/README.md'), 'utf8')).to.equal('readme');
    await copyInto(copyOp(['../x/a.txt'], '/p/', { parents: true }), context(), root, signal, progress);
    expect(await readFile(r('p/x/a.txt'), 'utf8')).to.equal('xa');
    // dispatchCopy: the part before `/./` is the source root, the part after the kept path, each cleaned from "/".
    await copyInto(copyOp(['../src/./lib/deep.ts', 'src/./../lib/deep.ts'], '/q/', { parents: true }), context(), root, signal, progress);
    expect(await readFile(r('q/lib/deep.ts'), 'utf8')).to.equal('deep');
    expect(await readdir(r('q'))).to.deep.equal(['lib']);
  });

  it('applies .dockerignore to the cleaned source: `../secret.env` is hidden when secret.env is', async () => {
    const err = await copyInto(copyOp(['../secret.env'], '/x/'), context(['*.env']), root, signal, progress).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'COPY_SOURCE_NOT_FOUND');
    expect(err).to.have.property('hint').that.contains('"*.env"');
  });

  it('writes through an absolute symlink in the image but stays inside the root', async () => {
    await copyInto(copyOp(['src/app.ts'], '/app/'), context(), root, signal, progress);
    expect(await readFile(r('opt/app/app.ts'), 'utf8')).to.equal('app');
    await copyInto(copyOp(['README.md'], '/etclink/motd'), context(), root, signal, progress);
    expect(await readFile(r('etc/motd'), 'utf8')).to.equal('readme');
    expect(await readFile('/etc/motd', 'utf8').catch(() => '')).to.not.equal('readme');
  });

  it('writes through a destination symlink to its target inside the root (as BuildKit), never to the host', async () => {
    await symlink('/etc/hostname', r('trap'));
    const hostBefore = await readFile('/etc/hostname', 'utf8');
    await copyInto(copyOp(['README.md'], '/trap'), context(), root, signal, progress);
    expect((await lstat(r('trap'))).isSymbolicLink()).to.equal(true);
    expect(await readFile(r('etc/hostname'), 'utf8')).to.equal(await readFile(path.join(ctx, 'README.md'), 'utf8'));
    expect(await readFile('/etc/hostname', 'utf8')).to.equal(hostBefore);
  });

  it('owns copied files by root by default, whatever the context owner', async () => {
    await copyInto(copyOp(['README.md'], '/r/'), context(), root, signal, progress);
    const st = await stat(r('r/README.md'));
    expect([st.uid, st.gid]).to.deep.equal([0, 0]);
  });

  it('applies --chown by name through the image\'s passwd and group files', async () => {
    await copyInto(copyOp(['src'], '/home/node/src', { chown: 'node:staff' }), context(), root, signal, progress);
    for (const p of ['home/node/src/app.ts', 'home/node/src/lib', 'home/node/src', 'home/node']) {
      const st = await lstat(r(p));
      expect([st.uid, st.gid], p).to.deep.equal([1000, 50]);
    }
  });

  it('applies --chown by number, using the uid as gid when no group is given', async () => {
    await copyInto(copyOp(['README.md'], '/n/', { chown: '4242' }), context(), root, signal, progress);
    const st = await stat(r('n/README.md'));
    expect([st.uid, st.gid]).to.deep.equal([4242, 4242]);
  });

  it('gives an unknown --chown name 0 as BuildKit\'s readUser does, and says so in the step\'s log', async () => {
    const logged: string[] = [];
    const logging: ProgressSink = { log: (_s, chunk) => { logged.push(Buffer.from(chunk).toString()); }, status: () => undefined };
    await copyInto(copyOp(['README.md'], '/u/', { chown: 'nobody' }), context(), root, signal, logging);
    await copyInto(copyOp(['README.md'], '/g/', { chown: 'node:nogroup' }), context(), root, signal, logging);
    await copyInto(copyOp(['README.md'], '/e/', { chown: 'node:' }), context(), root, signal, logging);
    const owner = async (p: string): Promise<number[]> => { const st = await stat(r(p)); return [st.uid, st.gid]; };
    expect(await owner('u/README.md')).to.deep.equal([0, 0]);
    expect(await owner('g/README.md'), 'an unknown group keeps the user\'s gid').to.deep.equal([1000, 1001]);
    expect(await owner('e/README.md'), '`user:` is group 0').to.deep.equal([1000, 0]);
    expect(logged.join('')).to.contain('warning: --chown=nobody: user "nobody" (not in /etc/passwd); owned by 0:0, as BuildKit does')
      .and.contain('warning: --chown=node:nogroup: group "nogroup" (not in /etc/group); owned by 1000:1001');
    const err = await copyInto(copyOp(['README.md'], '/n/', { chown: 'a:b:c' }), context(), root, signal, progress).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'INVALID_ARGUMENT');
  });

  it('keeps source modes and applies --chmod when given', async () => {
    await copyInto(copyOp(['run.sh', 'README.md'], '/m/'), context(), root, signal, progress);
    expect((await stat(r('m/run.sh'))).mode & 0o7777).to.equal(0o755);
    expect((await stat(r('m/README.md'))).mode & 0o7777).to.equal(0o640);
    await copyInto(copyOp(['src'], '/c/', { chmod: '700' }), context(), root, signal, progress);
    expect((await stat(r('c/app.ts'))).mode & 0o7777).to.equal(0o700);
    expect((await stat(r('c/lib'))).mode & 0o7777).to.equal(0o700);
  });

  it('preserves modification times of files and directories', async () => {
    await copyInto(copyOp(['.'], '/t/'), context(), root, signal, progress);
    expect((await stat(r('t/README.md'))).mtime.getTime()).to.equal(OLD.getTime());
    expect((await stat(r('t/src/lib'))).mtime.getTime()).to.equal(OLD.getTime());
  });

  it('copies symlinks inside a directory as symlinks', async () => {
    await copyInto(copyOp(['src'], '/l/'), context(), root, signal, progress);
    expect((await lstat(r('l/link.ts'))).isSymbolicLink()).to.equal(true);
    expect(await readlink(r('l/link.ts'))).to.equal('app.ts');
  });

  it('follows a symlink given directly as a source and names the copy after the link', async () => {
    await copyInto(copyOp(['toplink'], '/f/'), context(), root, signal, progress);
    expect((await lstat(r('f/toplink'))).isFile()).to.equal(true);
    expect(await readFile(r('f/toplink'), 'utf8')).to.equal('app');
  });

  it('keeps hardlinks that the source had within one copy', async () => {
    await copyInto(copyOp(['src'], '/h/'), context(), root, signal, progress);
    expect((await stat(r('h/app.ts'))).ino).to.equal((await stat(r('h/hard.ts'))).ino);
  });

  it('leaves out --exclude matches', async () => {
    await copyInto(copyOp(['src'], '/e/', { exclude: ['*.md', 'lib'] }), context(), root, signal, progress);
    expect((await readdir(r('e'))).sort()).to.deep.equal(['app.ts', 'hard.ts', 'link.ts', 'util.ts']);
  });

  it('keeps the source\'s parent path with --parents, from a /./ pivot when there is one', async () => {
    await copyInto(copyOp(['x/a.txt', 'y/a.txt'], '/p/', { parents: true }), context(), root, signal, progress);
    expect(await readFile(r('p/x/a.txt'), 'utf8')).to.equal('xa');
    expect(await readFile(r('p/y/a.txt'), 'utf8')).to.equal('ya');
    await copyInto(copyOp(['./src/./lib/deep.ts'], '/q/', { parents: true }), context(), root, signal, progress);
    expect(await readFile(r('q/lib/deep.ts'), 'utf8')).to.equal('deep');
  });

  it('copies an empty directory as an empty directory', async () => {
    await copyInto(copyOp(['.'], '/all/'), context(), root, signal, progress);
    expect(await readdir(r('all/empty'))).to.deep.equal([]);
  });

  it('writes inline heredoc files with mode 0644', async () => {
    const inline: CopySourceDir = { kind: 'inline', files: [{ name: 'hello.sh', content: 'echo hi\n' }] };
    await copyInto(copyOp(['hello.sh'], '/usr/local/bin/', { from: { kind: 'inline', files: [] } }), inline, root, signal, progress);
    expect(await readFile(r('usr/local/bin/hello.sh'), 'utf8')).to.equal('echo hi\n');
    expect((await stat(r('usr/local/bin/hello.sh'))).mode & 0o7777).to.equal(0o644);
    await copyInto(copyOp(['x'], '/named.txt', { from: { kind: 'inline', files: [] } }), inline, root, signal, progress);
    expect(await readFile(r('named.txt'), 'utf8')).to.equal('echo hi\n');
  });

  it('keeps the owners of files copied from another stage', async () => {
    const op = copyOp(['README.md'], '/s/', { from: { kind: 'vertex', id: 's0.1' } });
    await copyInto(op, { kind: 'dir', path: ctx, excludes: [] }, root, signal, progress);
    const st = await stat(r('s/README.md'));
    expect([st.uid, st.gid]).to.deep.equal([1234, 5678]);
  });
});
