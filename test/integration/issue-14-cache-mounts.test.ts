import { expect } from 'chai';
import { readFile, readdir, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { makeHostMarker, snapshotTree } from '../fixtures/host-marker.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// Issue 14, cache mounts: an earlier RUN writes into a cache directory, so nothing in it is trusted: the cache id is
// only hashed into a name, the owner and mode of a new cache are set through its fd, and a `source=` subpath is
// resolved inside the cache (a planted symlink to a host dir leads to a directory inside the cache).

describe('issue 14: RUN --mount=type=cache keeps its writes inside the cache', function () {
  this.timeout(240_000);
  let env: BuildEnv | undefined;
  let hostMarker: string;
  let marked: string[];

  before(async () => {
    env = await startBuildEnv('tsbuild-issue14-cache-');
    hostMarker = join(env.dir, 'host-marker');
    marked = await makeHostMarker(hostMarker);
  });
  after(async () => { await env?.stop(); });
  afterEach(async () => {
    expect(await snapshotTree(hostMarker)).to.deep.equal(marked);
  });

  it('resolves source= inside the cache when an earlier step planted a symlink to a host dir there, and hashes a climbing id', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const ctx = join(env.dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base}`,
      // Step 1 fills the cache with links out of it (absolute and climbing) and a link named like the cache root.
      `RUN --mount=type=cache,id=c,target=/c ln -s ${hostMarker} /c/sub && ln -s ../../../../../../../..${hostMarker} /c/up && ln -s ${hostMarker} /c/dir`,
      // Step 2 mounts the links as source= subpaths, with an owner and mode, and writes through them.
      'RUN --mount=type=cache,id=c,source=sub,target=/x,uid=1000,gid=1000,mode=0700 --mount=type=cache,id=c,source=up/dir,target=/y echo evil > /x/passwd && echo evil > /y/inner && mkdir -p /out && ls -la /x /y > /out/listing',
      // A climbing id is only a name: its cache is <cacheDir>/<sha256(id)>.
      'RUN --mount=type=cache,id=../../../../escape,target=/e,uid=1000,mode=0700 touch /e/f && stat -c "%u %a" /e > /out/e',
      '',
    ].join('\n'));
    const out = join(env.dir, 'out');
    const root = join(env.dir, 'root');
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    expect((await readFile(join(out, 'out/e'), 'utf8')).trim()).to.equal('1000 700');
    // Nothing named after the climbing id exists next to the root or the test dir.
    for (const dir of [env.dir, root]) expect(await readdir(dir), dir).to.not.include('escape');
    // The writes through the planted links landed inside the cache: <cache><hostMarker>/passwd and <cache><hostMarker>/dir/inner.
    const found = await run('find', [root, '-path', `*${hostMarker}/*`, '-type', 'f']);
    const files = found.stdout.trim().split('\n').filter((l) => l !== '');
    expect(files.some((f) => f.endsWith(`${hostMarker}/passwd`)), found.stdout).to.equal(true);
    expect(files.some((f) => f.endsWith(`${hostMarker}/dir/inner`)), found.stdout).to.equal(true);
    for (const f of files) expect(await readFile(f, 'utf8')).to.equal('evil\n');
  });

  it('keeps a cache mount with its own uid, gid or mode apart from the same id without them, as BuildKit keys it by its base', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const ctx = join(env.dir, 'ctx-owned');
    await mkdir(ctx, { recursive: true });
    const npm = '/home/app/.npm';
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base}`,
      'RUN mkdir -p /out',
      `RUN --mount=type=cache,target=${npm} echo root > ${npm}/made-by && stat -c %u:%g ${npm} > /out/a`,
      // Before, this step found the root-owned cache the step above made (one directory per id, owner set once).
      `RUN --mount=type=cache,target=${npm},uid=1000,gid=1000 stat -c %u:%g ${npm} > /out/b && ls -A ${npm} > /out/b-list && touch ${npm}/mark`,
      `RUN --mount=type=cache,target=${npm},uid=1000,gid=1000 ls -A ${npm} > /out/c-list`,
      `RUN --mount=type=cache,target=${npm} ls -A ${npm} > /out/d-list`,
      '',
    ].join('\n'));
    const out = join(env.dir, 'out-owned');
    const r = await tsbuild(['build', '--root', join(env.dir, 'root-owned'), '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    const read = async (name: string): Promise<string> => (await readFile(join(out, 'out', name), 'utf8')).trim();
    expect(await read('a')).to.equal('0:0');
    expect(await read('b')).to.equal('1000:1000');
    expect(await read('b-list')).to.equal('');
    expect(await read('c-list')).to.equal('mark');
    expect(await read('d-list')).to.equal('made-by');
  });
});
