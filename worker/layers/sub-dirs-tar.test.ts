import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { link, lstat, mkdir, mkdtemp, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { subDirsTar } from '../index.js';

// subDirsTar puts several trees in one tar, each under its own directory, as fsutil's SubDirFS does for BuildKit's
// multi-platform tar output. GNU tar, not our own reader, says what the tar holds.
describe('subDirsTar', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-sub-dirs-tar-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  /** A tree with a file, a hard link to it, an absolute and a relative symlink, dated 2001-09-09 (1000000000). */
  const tree = async (name: string, content: string): Promise<string> => {
    const root = join(dir, name);
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc', 'f'), content);
    await link(join(root, 'etc', 'f'), join(root, 'hard'));
    await symlink('/etc/f', join(root, 'abs'));
    await symlink('//etc/../etc/./f/', join(root, 'unclean'));
    await symlink('etc/f', join(root, 'rel'));
    for (const p of ['etc/f', 'etc', '']) await utimes(join(root, p), 1e9, 1e9);
    return root;
  };
  const tarOf = async (name: string, subDirs: { name: string; dir: string }[]): Promise<string> => {
    const file = join(dir, name);
    await pipeline(subDirsTar(subDirs, 0, { xattrs: 'all' }), createWriteStream(file));
    return file;
  };
  /** `tar -tv` lines with their runs of spaces made one, the size and time dropped: "MODE OWNER NAME [-> TARGET]". */
  const listing = (file: string): string[] => execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } })
    .trim().split('\n').map((l) => l.split(/\s+/)).map(([mode, owner, , , , ...rest]) => [mode, owner, ...rest].join(' '));

  it('puts each tree under its directory in name order, moving hard link and absolute symlink targets with it', async () => {
    const amd = await tree('a', 'amd64\n');
    const arm = await tree('b', 'arm64\n');
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const file = await tarOf('out.tar', [{ name: 'linux_arm64', dir: arm }, { name: 'linux_amd64', dir: amd }]);
    const own = `${uid}/${gid}`;
    const one = (p: string): string[] => [
      `drwxr-xr-x 0/0 ${p}/`,
      `lrwxrwxrwx ${own} ${p}/abs -> /${p}/etc/f`,
      `drwxr-xr-x ${own} ${p}/etc/`,
      `-rw-r--r-- ${own} ${p}/etc/f`,
      `hrw-r--r-- ${own} ${p}/hard link to ${p}/etc/f`,
      `lrwxrwxrwx ${own} ${p}/rel -> etc/f`,
      `lrwxrwxrwx ${own} ${p}/unclean -> /${p}/etc/f`,
    ];
    expect(listing(file)).to.deep.equal([...one('linux_amd64'), ...one('linux_arm64')]);
    const dates = execFileSync('tar', ['-tvf', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    expect(dates).to.match(/ 1970-01-01 00:00 linux_amd64\/\n/).and.match(/ 2001-09-09 01:46 linux_amd64\/etc\/f\n/);

    const out = join(dir, 'x');
    await mkdir(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    expect((await stat(join(out, 'linux_arm64/hard'))).ino).to.equal((await stat(join(out, 'linux_arm64/etc/f'))).ino);
    expect((await lstat(join(out, 'linux_arm64/hard'))).nlink).to.equal(2);
    expect(await readlink(join(out, 'linux_amd64/abs'))).to.equal('/linux_amd64/etc/f');
    expect(execFileSync('tar', ['-xOf', file, 'linux_arm64/etc/f'], { encoding: 'utf8' })).to.equal('arm64\n');

    // The same trees give the same bytes, in whichever order they are given.
    const again = await tarOf('again.tar', [{ name: 'linux_amd64', dir: amd }, { name: 'linux_arm64', dir: arm }]);
    expect(execFileSync('cmp', [file, again]).length).to.equal(0);
  });

  it('refuses a name that is not one path component, and the same name twice', async () => {
    const a = await tree('a', 'a');
    for (const name of ['', '.', '..', 'linux/amd64']) expect(() => subDirsTar([{ name, dir: a }], 0)).to.throw('one name');
    expect(() => subDirsTar([{ name: 'x', dir: a }, { name: 'x', dir: a }], 0)).to.throw('two trees of one tar under x/');
  });
});
