import { expect } from 'chai';
import { mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirs } from './make-dirs.js';

describe('makeDirs (mkdir -p for the paths a user names)', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-make-dirs-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('makes every missing level with the mode given, and takes an existing directory or a link to one', async () => {
    await makeDirs(join(dir, 'a/b/c'), 0o700);
    for (const level of ['a', 'a/b', 'a/b/c']) expect((await stat(join(dir, level))).mode & 0o777).to.equal(0o700);
    await makeDirs(join(dir, 'a/b/c'));
    await symlink(join(dir, 'a'), join(dir, 'link'));
    await makeDirs(join(dir, 'link/b/d'));
    expect((await stat(join(dir, 'a/b/d'))).isDirectory()).to.equal(true);
  });

  it('fails on a file in the way, as mkdir -p does', async () => {
    await writeFile(join(dir, 'f'), '');
    const err = await makeDirs(join(dir, 'f')).then(() => undefined, (e: NodeJS.ErrnoException) => e);
    expect(err?.code).to.equal('EEXIST');
    const under = await makeDirs(join(dir, 'f/g')).then(() => undefined, (e: NodeJS.ErrnoException) => e);
    expect(under?.code).to.equal('ENOTDIR');
  });

  it('fails with ENOENT under /proc, where Node\'s recursive mkdir loops for ever', async () => {
    // /proc/self exists and mkdir in it answers ENOENT: each level is tried at most twice.
    const err = await makeDirs('/proc/self/tsbuild-x/y').then(() => undefined, (e: NodeJS.ErrnoException) => e);
    expect(err?.code).to.equal('ENOENT');
  });
});
