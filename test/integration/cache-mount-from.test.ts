import { expect } from 'chai';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { makeHostMarker, snapshotTree } from '../fixtures/host-marker.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// RUN --mount=type=cache,from=SRC[,source=PATH], as BuildKit does it: the cache starts as the source (dockerfile2llb
// dispatchRunMounts bases it on SRC; solver/llbsolver/mounts/mount.go getRefCacheDir makes it a mutable copy of SRC's
// ref, keyed by id and that ref), so a step sees the source's files with their owners and modes, later builds see what
// earlier runs left, and a source with other content gets a cache of its own. The source is a stage: hostile content,
// its links are followed inside it only. Also BuildKit's client testCachedMounts (a cache on a base keeps the base's
// file and a later run's); its testSharedCacheMountsNoScratch (two steps share one such cache while they run) is in
// worker-exec-mounts.test.ts, where two runs can be started side by side.

const PREP = (hostMarker: string): string[] => [
  'FROM BASE AS prep',
  'ARG V=1',
  'RUN mkdir -p /seed/sub && echo one-$V > /seed/a && chown 1000:2000 /seed/a && chmod 0640 /seed/a && echo deep > /seed/sub/b && chown 1000:1000 /seed && chmod 0750 /seed',
  // `/evil` leads to the host marker's path by name: inside the stage it is the stage's own directory of that name.
  `RUN mkdir -p ${hostMarker} && echo stage > ${hostMarker}/passwd && ln -s ${hostMarker} /evil && mkdir /links && ln -s ${hostMarker} /links/out`,
];

describe('RUN --mount=type=cache,from=: a cache seeded from a stage', function () {
  this.timeout(300_000);
  let env: BuildEnv | undefined;
  let hostMarker: string;
  let marked: string[];

  before(async () => {
    env = await startBuildEnv('tsbuild-cache-from-');
    hostMarker = join(env.dir, 'host-marker');
    marked = await makeHostMarker(hostMarker);
  });
  after(async () => { await env?.stop(); });
  afterEach(async () => {
    expect(await snapshotTree(hostMarker)).to.deep.equal(marked);
  });

  async function build(name: string, lines: string[], args: string[], root: string): Promise<(file: string) => Promise<string>> {
    if (env === undefined) throw new Error('build env did not start');
    const ctx = join(env.dir, `ctx-${name}`);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), lines.join('\n').replaceAll('BASE', env.base) + '\n');
    const out = join(env.dir, `out-${name}`);
    await rm(out, { recursive: true, force: true });
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '-o', `type=local,dest=${out}`, ...args, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    return async (file) => (await readFile(join(out, 'out', file), 'utf8')).trim();
  }

  it('starts with the source= subtree (owners and modes kept), keeps what runs add, and gives other source content another cache', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const root = join(env.dir, 'root-seed');
    const lines = [
      ...PREP(hostMarker),
      'FROM BASE',
      'ARG N',
      'RUN mkdir /out',
      'RUN --mount=type=cache,from=prep,source=/seed,target=/c stat -c "%n %u:%g %a" /c /c/a /c/sub/b > /out/stat && ls -A /c > /out/before && cat /c/a > /out/a && touch /c/added-$N',
    ];
    const first = await build('seed', lines, ['--build-arg', 'N=1'], root);
    expect(await first('stat')).to.equal('/c 1000:1000 750\n/c/a 1000:2000 640\n/c/sub/b 0:0 644');
    expect(await first('before')).to.equal('a\nsub');
    expect(await first('a')).to.equal('one-1');
    // The same source again: the cache as the last run left it.
    const second = await build('seed', lines, ['--build-arg', 'N=2'], root);
    expect(await second('before')).to.equal('a\nadded-1\nsub');
    // Other content in the source: a cache of its own, seeded with it.
    const other = await build('seed', lines, ['--build-arg', 'N=3', '--build-arg', 'V=2'], root);
    expect(await other('before')).to.equal('a\nsub');
    expect(await other('a')).to.equal('one-2');
    // And the first source's cache is still there.
    const again = await build('seed', lines, ['--build-arg', 'N=4'], root);
    expect(await again('before')).to.equal('a\nadded-1\nadded-2\nsub');
    // du lists the seeded caches as exec.cachemount records; --no-cache starts them over from the source.
    const du = await tsbuild(['du', '--root', root, '--filter', 'type=exec.cachemount', '--verbose']);
    expect(du.code, du.stderr).to.equal(0);
    expect(du.stdout.split('cached mount /c with id "/c"').length - 1, du.stdout).to.equal(2);
    const reset = await build('seed', lines, ['--build-arg', 'N=5', '--no-cache'], root);
    expect(await reset('before')).to.equal('a\nsub');
    // prune removes them like the others: the next build seeds a fresh one.
    const pruned = await tsbuild(['prune', '--root', root, '--filter', 'type=exec.cachemount']);
    expect(pruned.code, pruned.stderr).to.equal(0);
    expect((await tsbuild(['du', '--root', root, '--filter', 'type=exec.cachemount'])).stdout).to.equal('');
    const fresh = await build('seed', lines, ['--build-arg', 'N=6', '--build-arg', 'V=2'], root);
    expect(await fresh('before')).to.equal('a\nsub');
  });

  it('follows a source= symlink inside the stage, copies links inside as links, never reads the host, and seeds the whole stage without source=', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const root = join(env.dir, 'root-escape');
    const read = await build('escape', [
      ...PREP(hostMarker),
      'FROM scratch AS empty',
      'FROM BASE',
      'RUN mkdir /out',
      'RUN --mount=type=cache,from=prep,source=/evil,target=/c ls -A /c > /out/evil && cat /c/passwd > /out/passwd',
      'RUN --mount=type=cache,from=prep,source=/links,target=/l readlink /l/out > /out/link && (ls /l/out/ 2>/dev/null || echo dangling) > /out/through',
      // No source=: the whole stage, its root as it is; with a uid (and no source=) BuildKit's `/cache` made on it.
      'RUN --mount=type=cache,from=prep,target=/w ls -A /w/seed > /out/whole && stat -c "%u:%g %a" /w > /out/whole-root',
      'RUN --mount=type=cache,from=prep,target=/o,uid=1000,gid=1000,mode=0700 stat -c "%u:%g %a" /o > /out/owned && ls -A /o > /out/owned-list',
      'RUN --mount=type=cache,from=empty,target=/e stat -c "%u:%g %a" /e > /out/empty && ls -A /e > /out/empty-list',
    ], [], root);
    expect(await read('empty')).to.equal('0:0 755');
    expect(await read('empty-list')).to.equal('');
    expect(await read('whole')).to.equal('a\nsub');
    expect(await read('whole-root')).to.equal('0:0 755');
    expect(await read('owned')).to.equal('1000:1000 700');
    expect(await read('owned-list')).to.equal('');
    expect(await read('evil')).to.equal('passwd');
    expect(await read('passwd')).to.equal('stage');
    expect(await read('link')).to.equal(hostMarker);
    expect(await read('through')).to.equal('dangling');
  });

  it('seeds from a named build context with its files owned by root, as COPY from a context makes them', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const named = join(env.dir, 'named-seed');
    await mkdir(join(named, 'tools'), { recursive: true });
    await writeFile(join(named, 'tools', 'run.sh'), 'echo hi\n', { mode: 0o750 });
    const read = await build('named', [
      'FROM BASE',
      'RUN mkdir /out',
      'RUN --mount=type=cache,id=tools,from=seedctx,source=tools,target=/t stat -c "%n %u:%g %a" /t/run.sh > /out/stat && touch /t/mine',
      'RUN --mount=type=cache,id=tools,from=seedctx,source=tools,target=/t2 ls -A /t2 > /out/list',
    ], ['--build-context', `seedctx=${named}`], join(env.dir, 'root-named'));
    expect(await read('stat')).to.equal('/t/run.sh 0:0 750');
    expect(await read('list')).to.equal('mine\nrun.sh');
  });

  it('testCachedMounts: a cache on a stage keeps the stage\'s file and what an earlier step wrote; one on an image starts with its files', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const read = await build('cached', [
      'FROM BASE AS base',
      'RUN mkdir /wd && echo -n base > /wd/baz',
      'FROM BASE',
      'RUN mkdir /out',
      'RUN --mount=type=cache,id=mycache2,from=base,source=/wd,target=/wd2 echo -n second > /wd2/bar',
      'RUN --mount=type=cache,id=mycache2,from=base,source=/wd,target=/src1 cat /src1/bar > /out/bar && cat /src1/baz > /out/baz',
      // from= an image: its layers are the source.
      'RUN --mount=type=cache,from=BASE,source=/etc,target=/img head -n 1 /img/passwd > /out/img && head -n 1 /etc/passwd > /out/own',
    ], [], join(env.dir, 'root-cached'));
    expect(await read('bar')).to.equal('second');
    expect(await read('baz')).to.equal('base');
    expect(await read('img')).to.match(/^root:/).and.equal(await read('own'));
  });
});
