import { expect } from 'chai';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { makeHostMarker, snapshotTree } from '../fixtures/host-marker.js';
import { run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// `-o type=local,dest=DIR,mode=delete` (buildx 0.31 + BuildKit 0.31): once the result is written, whatever else DIR
// holds is removed. DIR is the user's directory and what it holds came from earlier (hostile) images: a stale link
// out of it is unlinked as a link and never descended, a stale tree goes whole, the result's own links are written
// and never followed, and nothing outside DIR is touched. The buildx cases themselves are in buildx-parity-build and
// buildx-parity-bake.

describe('-o type=local,mode=delete keeps the deleting inside the destination', function () {
  this.timeout(240_000);
  let env: BuildEnv | undefined;
  let hostMarker = '';
  let marked: string[] = [];
  let work = '';
  let n = 0;
  const build = (args: string[], cwd: string): Promise<CliResult> =>
    tsbuild(['build', '--root', join(env?.dir ?? '', 'root'), '--progress', 'plain', ...args], { cwd });
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };
  /** A fresh working directory holding `files`. */
  const project = async (files: Record<string, string>): Promise<string> => {
    const dir = join(work, `p${++n}`);
    await mkdir(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return dir;
  };

  before(async () => {
    env = await startBuildEnv('tsbuild-local-delete-');
    hostMarker = join(env.dir, 'host-marker');
    marked = await makeHostMarker(hostMarker);
    work = join(env.dir, 'work');
  });
  after(async () => { await env?.stop(); });
  afterEach(async () => {
    expect(await snapshotTree(hostMarker)).to.deep.equal(marked);
    expect((await lstat('/etc/passwd')).isFile()).to.equal(true);
  });

  it('unlinks stale links out of DIR as links, removes a stale tree whole, and writes the image\'s own links to /etc without following them', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const dir = await project({ Dockerfile: [
      `FROM ${env.base}`,
      // The result's own links: absolute to /etc and to the host marker, and one climbing out.
      `RUN ln -s /etc /etclink && ln -s ${hostMarker} /x && mkdir -p /y && ln -s ../../../../../../../..${hostMarker} /y/up && echo image > /y/passwd`,
      '',
    ].join('\n') });
    const dest = join(dir, 'out');
    await mkdir(join(dest, 'stale-tree', 'a', 'b'), { recursive: true });
    await writeFile(join(dest, 'stale-tree', 'a', 'b', 'file'), 'stale');
    await symlink(hostMarker, join(dest, 'evil'));            // a stale link to a host directory
    await symlink('/', join(dest, 'stale-root'));               // and to the root
    await symlink(join(hostMarker, 'dir'), join(dest, 'y'));    // where the result has a directory
    await mkdir(join(dest, 'etclink'));                         // where the result has a link
    await writeFile(join(dest, 'etclink', 'passwd'), 'stale');
    await mkdir(join(dest, 'etc'));                             // where the result has a directory: its stale file goes
    await writeFile(join(dest, 'etc', 'stale'), 'stale');
    ok(await build(['-o', 'type=local,dest=out,mode=delete', '.'], dir));
    // The directories are dated as the image dates them, as with mode=copy into an empty directory: BuildKit's
    // receiver sets directory times after its removals.
    ok(await build(['-o', 'type=local,dest=copied', '.'], dir));
    expect((await lstat(join(dest, 'etc'))).mtimeMs).to.equal((await lstat(join(dir, 'copied', 'etc'))).mtimeMs);
    expect((await readdir(join(dest, 'etc'))).sort()).to.deep.equal((await readdir(join(dir, 'copied', 'etc'))).sort());
    for (const gone of ['evil', 'stale-root', 'stale-tree']) expect(await lstat(join(dest, gone)).catch(() => undefined), gone).to.equal(undefined);
    expect(await readlink(join(dest, 'etclink'))).to.equal('/etc');
    expect(await readlink(join(dest, 'x'))).to.equal(hostMarker);
    expect((await lstat(join(dest, 'y'))).isDirectory()).to.equal(true);
    expect((await readdir(join(dest, 'y'))).sort()).to.deep.equal(['passwd', 'up']);
    expect(await readFile(join(dest, 'y', 'passwd'), 'utf8')).to.equal('image\n');
    // Exactly the image's top level (busybox's directories and the three entries the RUN made).
    const image = ok(await run('sh', ['-c', `ls -A ${dest}`])).stdout.trim().split('\n').sort();
    expect(image).to.include.members(['bin', 'etc', 'etclink', 'x', 'y']);
    expect(image).not.to.include.members(['evil', 'stale-root', 'stale-tree']);
    // A second export into the same DIR: the result's links (x -> host marker, etclink -> /etc) are now in DIR and are
    // kept as links, their targets never listed.
    ok(await build(['-o', 'type=local,dest=out,mode=delete', '.'], dir));
    expect(await readlink(join(dest, 'x'))).to.equal(hostMarker);
  });

  it('with several platforms, keeps each platform\'s directory and removes what is stale at the top of DIR and inside them', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const dir = await project({ Dockerfile: 'FROM scratch\nCOPY foo /foo\n', foo: 'foo' });
    const dest = join(dir, 'out');
    await mkdir(join(dest, 'linux_386'), { recursive: true });
    await mkdir(join(dest, 'linux_amd64', 'old'), { recursive: true });
    await writeFile(join(dest, 'linux_amd64', 'stale'), '');
    await writeFile(join(dest, 'stale'), '');
    await symlink(hostMarker, join(dest, 'linux_arm64'));   // a platform's directory planted as a link out
    const r = ok(await build(['--platform', 'linux/amd64,linux/arm64', '-o', 'type=local,dest=out,mode=delete', '.'], dir));
    expect((await readdir(dest)).sort()).to.deep.equal(['linux_amd64', 'linux_arm64']);
    for (const p of ['linux_amd64', 'linux_arm64']) {
      expect((await lstat(join(dest, p))).isDirectory(), p).to.equal(true);
      expect(await readdir(join(dest, p)), p).to.deep.equal(['foo']);
    }
    expect(r.stderr).to.contain(`removed 4 stale entries from out (mode=delete)`);
  });

  it('names the entry it could not remove and the errno, with no stack, and writes nothing then', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const dir = await project({ Dockerfile: 'FROM scratch\nCOPY foo /foo\n', foo: 'foo' });
    const dest = join(dir, 'out');
    await mkdir(join(dest, 'locked'), { recursive: true });
    await writeFile(join(dest, 'locked', 'f'), '');
    // An immutable file: even root may not unlink it (EPERM).
    ok(await run('chattr', ['+i', join(dest, 'locked', 'f')]));
    try {
      const r = await build(['-o', 'type=local,dest=out,mode=delete', '.'], dir);
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.contain('removing stale entries from out (mode=delete) failed: remove "locked": EPERM (operation not permitted)');
      expect(r.stderr).not.to.match(/\n\s+at /);
      expect(await readdir(dest)).to.deep.equal(['locked']);
    } finally {
      await run('chattr', ['-i', join(dest, 'locked', 'f')]);
    }
  });
});
