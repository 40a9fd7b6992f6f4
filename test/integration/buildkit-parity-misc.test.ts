import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { serveDir, type StaticHttpServer } from '../fixtures/static-http-server.js';
import { tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';
import { writeFiles } from '../fixtures/write-files.js';

// BuildKit's own Dockerfile integration tests, group "misc" (moby/buildkit frontend/dockerfile/
// dockerfile_{addgit,git_http,cache,resources}_test.go and the CLI-reachable parts of the provenance tests), run
// through the tsbuild CLI. Each `it` is named after the Go test function it ports; test/compat/buildkit-parity/misc.md
// lists every function of the group's files, with what is ported, fixed, different or not applicable. Git
// repositories are served as plain files (git's dumb HTTP protocol), as BuildKit's tests serve them with
// http.FileServer; cases share one registry and one root, and are batched or run in parallel to keep the file fast.

const git = promisify(execFile);
const GIT_ENV = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'test', GIT_AUTHOR_EMAIL: 'test', GIT_COMMITTER_NAME: 'test', GIT_COMMITTER_EMAIL: 'test' };

/** Runs each shell-free git command line in `dir`, as BuildKit's runShell does with its command lists. */
async function gitIn(dir: string, ...lines: string[][]): Promise<void> {
  for (const args of lines) await git('git', ['-c', 'protocol.file.allow=always', '-c', 'init.defaultBranch=master', ...args], { cwd: dir, env: GIT_ENV });
}
async function revParse(dir: string, rev: string): Promise<string> {
  return (await git('git', ['rev-parse', rev], { cwd: dir, env: GIT_ENV })).stdout.trim();
}

describe('BuildKit parity: misc (addgit, git_http, cache, resources, provenance)', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  let root = '';
  let busybox = '';
  let http: StaticHttpServer | undefined;
  let httpUrl = '';
  let served = '';
  let n = 0;
  const build = (args: string[], cwd: string, atRoot = root): Promise<CliResult> =>
    tsbuild(['build', '--root', atRoot, '--progress', 'plain', '--provenance', 'false', ...args], { cwd });
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };
  const failsWith = (r: CliResult, text: string): void => {
    expect(r.code, r.stderr).to.not.equal(0);
    expect(r.stderr).to.contain(text);
  };
  const out = (): string => join(env.dir, `out${++n}`);
  /** A fresh directory with these files. */
  const dirWith = (files: Record<string, string>): Promise<string> => writeFiles(join(env.dir, `ctx${++n}`), files, { mode: 0o600 });
  const blobOf = (layout: string, digest: string): Promise<Buffer> => readFile(join(layout, 'blobs/sha256', digest.replace('sha256:', '')));
  /** The first manifest of an OCI layout's index.json: an image manifest, or an index (with attestations). */
  const topDigest = async (layout: string): Promise<string> =>
    (JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] }).manifests[0]?.digest ?? '';
  /** The provenance statement of the first image of an OCI layout written with attestations. */
  const provenanceOf = async (layout: string): Promise<{ _type: string; predicateType: string; predicate: Record<string, unknown> }> => {
    const index = JSON.parse((await blobOf(layout, await topDigest(layout))).toString()) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
    const att = index.manifests.find((m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest');
    if (att === undefined) throw new Error(`${layout}: no attestation manifest`);
    const manifest = JSON.parse((await blobOf(layout, att.digest)).toString()) as { layers: { digest: string }[] };
    return JSON.parse((await blobOf(layout, manifest.layers[0]?.digest ?? '')).toString()) as Awaited<ReturnType<typeof provenanceOf>>;
  };
  /** A directory under the HTTP server's root, served at `${httpUrl}/${name}`. */
  const servedDir = async (name: string): Promise<string> => {
    const dir = join(served, name);
    await mkdir(dir, { recursive: true });
    return dir;
  };
  /** BuildKit's makeCommit: `foo` says which tag it belongs to. */
  const tagged = (tag: string): string[][] => [['add', 'foo'], ['commit', '-qm', tag], ['tag', tag]];
  const taggedRepo = async (name: string, format: 'sha1' | 'sha256', tags: string[]): Promise<string> => {
    const dir = await servedDir(name);
    await gitIn(dir, ['init', '-q', `--object-format=${format}`]);
    for (const tag of tags) {
      await writeFile(join(dir, 'foo'), `foo of ${tag}\n`);
      await gitIn(dir, ...tagged(tag));
    }
    await gitIn(dir, ['update-server-info']);
    return dir;
  };

  before(async () => {
    env = await startBuildEnv('tsbuild-parity-misc-');
    root = join(env.dir, 'root');
    busybox = env.base;
    served = join(env.dir, 'served');
    await mkdir(served);
    // Plain files over HTTP, confined to `served`: git repositories (dumb protocol), a tar context, a Dockerfile.
    http = await serveDir(served);
    httpUrl = http.url;
  });
  after(async () => {
    await http?.stop();
    await env?.stop();
  });

  describe('dockerfile_addgit_test.go', () => {
    // testAddGit's Dockerfiles, one build for its four passing ones (busybox has no git: `git status -s` is left out).
    const addGit = async (format: 'sha1' | 'sha256'): Promise<void> => {
      const repo = await taggedRepo(`addgit-${format}`, format, ['v0.0.1', 'v0.0.2', 'v0.0.3']);
      const [v2, v3] = [await revParse(repo, 'v0.0.2'), await revParse(repo, 'v0.0.3')];
      expect(v2).to.have.length(format === 'sha1' ? 40 : 64);
      const url = `${httpUrl}/addgit-${format}/.git`;
      const dockerfile = [
        `FROM ${busybox}`,
        `ADD ${url}#v0.0.1 /x`,
        'RUN cd /x && [ "$(cat foo)" = "foo of v0.0.1" ]',
        `ARG REPO="${url}"`,
        'ARG TAG="v0.0.2"',
        `ADD --keep-git-dir=true --chown=4242:8484 --checksum=${v2} \${REPO}#\${TAG} /buildkit-chowned`,
        'USER 4242',
        'RUN cd /buildkit-chowned && [ "$(cat foo)" = "foo of v0.0.2" ] && [ "$(stat -c %u foo)" = "4242" ] && [ "$(stat -c %g foo)" = "8484" ] && [ -d .git ]',
        'USER root',
        `ADD --checksum=${v3} \${REPO}#v0.0.3 /nogitdir`,
        'RUN [ -f /nogitdir/foo ] && [ "$(cat /nogitdir/foo)" = "foo of v0.0.3" ] && [ ! -d /nogitdir/.git ]',
        `ADD --keep-git-dir --checksum=${v2} \${REPO}#\${TAG} /nogitdir2`,
        'RUN [ "$(cat /nogitdir2/foo)" = "foo of v0.0.2" ] && [ -d /nogitdir2/.git ]',
        `ARG COMMIT="${v3}"`,
        `ADD --keep-git-dir=true --checksum=${v3} \${REPO}#\${COMMIT} /commitdir`,
        'RUN [ "$(cat /commitdir/foo)" = "foo of v0.0.3" ] && [ -d /commitdir/.git ]',
      ].join('\n');
      const [good, mismatch, garbage] = await Promise.all([
        build(['.'], await dirWith({ Dockerfile: dockerfile })),
        build(['.'], await dirWith({ Dockerfile: `FROM ${busybox}\nADD --checksum=${v2} ${url}#v0.0.3 /faildir\n` })),
        build(['.'], await dirWith({ Dockerfile: `FROM ${busybox}\nADD --checksum=foobar ${url}#v0.0.3 /faildir\n` })),
      ]);
      ok(good);
      failsWith(mismatch, 'expected checksum to match');
      failsWith(garbage, 'invalid checksum');
      failsWith(garbage, 'expected hex commit hash');
    };
    it('testAddGitSHA1: ADD of tags and commits, --keep-git-dir, --chown, --checksum (matching, mismatched, not hex)', async () => {
      await addGit('sha1');
    });
    it('testAddGitSHA256: the same from a SHA-256 repository', async () => {
      await addGit('sha256');
    });

    it('testAddGitChecksumCache: adding --checksum of the same commit keeps the cache; a wrong one fails, cached or not', async () => {
      const repo = await taggedRepo('addgit-cache', 'sha1', ['v0.0.1', 'v0.0.2']);
      const [v1, v2] = [await revParse(repo, 'v0.0.1'), await revParse(repo, 'v0.0.2')];
      const dockerfile = (flags: string): string => `FROM ${busybox} AS src\nADD --keep-git-dir ${flags}${httpUrl}/addgit-cache/.git#v0.0.2 /repo\n` +
        'RUN head -c 16 /dev/urandom | base64 > /repo/unique.txt\n\nFROM scratch\nCOPY --from=src /repo/unique.txt /\n';
      const [o1, o2] = [out(), out()];
      ok(await build(['-o', `type=local,dest=${o1}`, '.'], await dirWith({ Dockerfile: dockerfile('') })));
      ok(await build(['-o', `type=local,dest=${o2}`, '.'], await dirWith({ Dockerfile: dockerfile(`--checksum=${v2} `) })));
      expect(await readFile(join(o2, 'unique.txt'), 'utf8')).to.equal(await readFile(join(o1, 'unique.txt'), 'utf8'));
      // Not in BuildKit's test, the other side of the same rule: the key no longer holds the checksum, so a wrong
      // one must fail before a cached step is reused.
      failsWith(await build(['.'], await dirWith({ Dockerfile: dockerfile(`--checksum=${v1} `) })), 'expected checksum to match');
    });

    describe('testGitQueryString', () => {
      interface Case { name: string; url: string; target?: 'withgit' | 'withsubmod'; out?: string; err?: string }
      let cases: Case[] = [];
      before(async () => {
        const sub = await servedDir('qs-submod');
        await writeFile(join(sub, 'file'), '123\n');
        await gitIn(sub, ['init', '-q'], ['add', 'file'], ['commit', '-qm', 'initial'], ['update-server-info']);
        const repo = await servedDir('qs');
        await writeFile(join(repo, 'foo'), 'base\n');
        await writeFile(join(repo, 'Dockerfile'), 'FROM scratch AS withgit\nCOPY .git/HEAD out\n\nFROM scratch as withsubmod\nCOPY submod/file out\n\nFROM scratch\nCOPY foo out\n');
        await gitIn(repo, ['init', '-q'], ['submodule', 'add', '-q', `${httpUrl}/qs-submod/.git`, 'submod'], ['add', 'Dockerfile', 'foo', 'submod'],
          ['commit', '-qm', 'initial'], ['tag', 'v0.0.1'], ['branch', 'base']);
        await writeFile(join(repo, 'foo'), 'feature\n');
        await mkdir(join(repo, 'sub'));
        await writeFile(join(repo, 'sub/foo'), 'subfeature\n');
        await writeFile(join(repo, 'sub/Dockerfile'), await readFile(join(repo, 'Dockerfile')));
        await gitIn(repo, ['add', 'foo', 'sub'], ['commit', '-qm', 'feature'], ['branch', 'feature'], ['checkout', '-q', '-B', 'master', 'base']);
        for (const tag of ['v0.0.2', 'latest']) {
          await writeFile(join(repo, 'foo'), `${tag}\n`);
          await gitIn(repo, ...tagged(tag));
        }
        await gitIn(repo, ['update-server-info']);
        const [v2, latest] = [await revParse(repo, 'v0.0.2'), await revParse(repo, 'latest')];
        const s = `${httpUrl}/qs/.git`;
        cases = [
          { name: 'tag with invalid commit', url: `${s}?tag=v0.0.2&commit=${latest}`, err: 'expected checksum to match' },
          { name: 'old style ref', url: `${s}#v0.0.2`, out: 'v0.0.2\n' },
          { name: 'querystring ref', url: `${s}?ref=base`, out: 'base\n' },
          { name: 'querystring branch', url: `${s}?branch=base`, out: 'base\n' },
          { name: 'querystring invalid branch', url: `${s}?branch=invalid`, err: 'repository does not contain ref' },
          { name: 'tag as branch', url: `${s}?branch=v0.0.2`, err: 'repository does not contain ref' },
          { name: 'allowed mixed refs', url: `${s}?tag=v0.0.2#refs/tags/v0.0.2`, out: 'v0.0.2\n' },
          { name: 'v2 by commit', url: `${s}?commit=${latest}`, out: 'latest\n' },
          { name: 'v2 by commit (wrong short)', url: `${s}?commit=${v2.slice(0, 8)}`, err: 'expected checksum to match' },
          { name: 'v2 by commit (short)', url: `${s}?commit=${latest.slice(0, 8)}`, out: 'latest\n' },
          { name: 'v2 ref by commit', url: `${s}?ref=${v2}`, out: 'v0.0.2\n' },
          { name: 'v2 ref by commit (short)', url: `${s}?ref=${v2.slice(0, 8)}`, err: 'repository does not contain ref' },
          { name: 'tag with commit', url: `${s}?tag=v0.0.2&commit=${v2}`, out: 'v0.0.2\n' },
          { name: 'commit with commit', url: `${s}?ref=${v2}&commit=${v2}`, out: 'v0.0.2\n' },
          { name: 'latest with commit', url: `${s}?commit=${latest}`, out: 'latest\n' },
          { name: 'mismatch refs', url: `${s}?tag=v0.0.2#refs/heads/master`, err: 'ref conflicts' },
          { name: 'sub old-style', url: `${s}#feature:sub`, out: 'subfeature\n' },
          { name: 'sub query', url: `${s}?subdir=sub&ref=feature`, out: 'subfeature\n' },
          { name: 'withgit', url: `${s}?keep-git-dir=true`, target: 'withgit', out: `${latest}\n` },
          { name: 'withgitandtag', url: `${s}?tag=v0.0.2&keep-git-dir=true`, target: 'withgit', out: `${v2}\n` },
          // BuildKit's message is `"/.git/HEAD": not found`; tsbuild's names the source and where it looked.
          { name: 'withgit-default', url: s, target: 'withgit', err: '.git/HEAD" not found' },
          { name: 'withgit-valueless', url: `${s}?keep-git-dir&submodules`, target: 'withgit', out: `${latest}\n` },
          { name: 'withgit-forbidden', url: `${s}?keep-git-dir=false`, target: 'withgit', err: '.git/HEAD" not found' },
          { name: 'withsubmod', url: s, target: 'withsubmod', out: '123\n' },
          { name: 'withsubmodset', url: `${s}?submodules=true`, target: 'withsubmod', out: '123\n' },
          { name: 'withsubmodempty', url: `${s}?submodules`, target: 'withsubmod', out: '123\n' },
          { name: 'withoutsubmod', url: `${s}?submodules=false`, target: 'withsubmod', err: 'submod/file" not found' },
        ];
      });

      /** Runs `fn` over the cases two at a time (the machine's cores), keeping the results in case order. */
      const each = async <T>(list: Case[], fn: (c: Case) => Promise<T>): Promise<T[]> => {
        const results: T[] = [];
        for (let i = 0; i < list.length; i += 2) results.push(...await Promise.all(list.slice(i, i + 2).map(fn)));
        return results;
      };

      // BuildKit runs every case twice, as a context and as an ADD source; both reach the same fetch (git-fetch.ts),
      // so the file runs the passing ones as ADD sources in one build, and a few through the context path and as
      // failing ADDs, to keep the file fast. All 27 x 2 pass by hand (test/compat/buildkit-parity/misc.md).
      const AS_CONTEXT = ['old style ref', 'sub old-style', 'withgitandtag', 'withsubmod', 'querystring invalid branch', 'mismatch refs'];
      const AS_FAILING_ADD = ['tag with invalid commit', 'withoutsubmod'];

      it('testGitQueryString (context_*): URLs as the build context, its Dockerfile\'s target built', async () => {
        const cwd = await dirWith({});
        const some = cases.filter((c) => AS_CONTEXT.includes(c.name));
        expect(some).to.have.length(AS_CONTEXT.length);
        const outs = await each(some, async (c) => {
          const o = out();
          const r = await build([...(c.target ? ['--target', c.target] : []), '-o', `type=local,dest=${o}`, c.url], cwd);
          return { r, got: r.code === 0 ? await readFile(join(o, 'out'), 'utf8') : undefined };
        });
        some.forEach((c, i) => {
          const { r, got } = outs[i] as { r: CliResult; got?: string };
          if (c.err !== undefined) failsWith(r, c.err);
          else expect(got, `${c.name}: ${r.stderr}`).to.equal(c.out);
        });
      });

      it('testGitQueryString (add_*): every passing URL as an ADD source, in one build; two failing ones', async () => {
        // BuildKit's Dockerfile per case: main ADDs the URL at /repo/; withsubmod and withgit copy one file of it.
        const pick = (c: Case): string => (c.target === 'withgit' ? '.git/HEAD' : c.target === 'withsubmod' ? 'submod/file' : 'foo');
        const passing = cases.filter((c) => c.err === undefined);
        const stages = passing.map((c, i) => `FROM scratch AS c${i}\nADD ${c.url} /repo/\n`).join('\n');
        const collect = passing.map((c, i) => `COPY --from=c${i} /repo/${pick(c)} /c${i}`).join('\n');
        const o = out();
        ok(await build(['-o', `type=local,dest=${o}`, '.'], await dirWith({ Dockerfile: `${stages}\nFROM scratch\n${collect}\n` })));
        for (const [i, c] of passing.entries()) expect(await readFile(join(o, `c${i}`), 'utf8'), c.name).to.equal(c.out);

        const failing = cases.filter((c) => AS_FAILING_ADD.includes(c.name));
        expect(failing).to.have.length(AS_FAILING_ADD.length);
        const results = await each(failing, async (c) => build(['.'], await dirWith({
          Dockerfile: `FROM scratch AS main\nADD ${c.url} /repo/\n\nFROM scratch\nCOPY --from=main /repo/${pick(c)} /repo/foo\n`,
        })));
        failing.forEach((c, i) => failsWith(results[i] as CliResult, c.err ?? ''));
      });
    });
  });

  describe('dockerfile_cache_test.go', () => {
    /** testNoCache's Dockerfile: each stage writes 100 random bytes' digest. */
    const twoUniques = (): string => `FROM ${busybox} AS s0
RUN cat /dev/urandom | head -c 100 | sha256sum | tee unique
FROM ${busybox} AS s1
RUN cat /dev/urandom | head -c 100 | sha256sum | tee unique2
FROM scratch
COPY --from=s0 unique /
COPY --from=s1 unique2 /
`;
    it('testNoCache: --no-cache runs every step again; --no-cache-filter s1 only that stage\'s', async () => {
      const ctx = await dirWith({ Dockerfile: twoUniques() });
      const [o1, o2, o3] = [out(), out(), out()];
      ok(await build(['-o', `type=local,dest=${o1}`, '.'], ctx));
      ok(await build(['--no-cache', '-o', `type=local,dest=${o2}`, '.'], ctx));
      ok(await build(['--no-cache-filter', 's1', '-o', `type=local,dest=${o3}`, '.'], ctx));
      const read = async (o: string): Promise<string[]> => Promise.all(['unique', 'unique2'].map((f) => readFile(join(o, f), 'utf8')));
      const [[u1, v1], [u2, v2], [u3, v3]] = [await read(o1), await read(o2), await read(o3)];
      expect(u2).to.not.equal(u1);
      expect(v2).to.not.equal(v1);
      expect(u3).to.equal(u2);
      expect(v3).to.not.equal(v1);
      expect(v3).to.not.equal(v2);
    });

    it('testCacheMountModeNoCache: --no-cache starts a cache mount (mode=0773) empty; the next build shares what it left', async () => {
      // A root of its own: the cache's id is its target, /cache, as in BuildKit's test.
      const own = join(env.dir, 'root-cachemount');
      const ctx = await dirWith({ Dockerfile: `FROM ${busybox} AS base\nARG FOO=abc\nRUN --mount=type=cache,target=/cache,mode=0773 touch /cache/$FOO && ls -l /cache | wc -l > /out\nFROM scratch\nCOPY --from=base /out /\n` });
      const counts: string[] = [];
      for (const args of [[], ['--no-cache'], ['--no-cache', '--build-arg', 'FOO=def'], ['--build-arg', 'FOO=ghi']]) {
        const o = out();
        ok(await build([...args, '-o', `type=local,dest=${o}`, '.'], ctx, own));
        counts.push(await readFile(join(o, 'out'), 'utf8'));
      }
      // `ls -l` prints a total line and one per file: abc; abc again, alone; def alone; def and ghi.
      expect(counts).to.deep.equal(['2\n', '2\n', '2\n', '3\n']);
    });

    it('testWildcardRenameCache: renaming the file a wildcard COPY selects misses the cache, and the build fails', async () => {
      const ctx = await dirWith({ Dockerfile: `FROM ${busybox}\nCOPY file* /files/\nRUN ls /files/file1\n`, file1: 'foo' });
      ok(await build(['.'], ctx));
      await rename(join(ctx, 'file1'), join(ctx, 'file2'));
      expect((await build(['.'], ctx)).code).to.not.equal(0);
    });

    it('testCacheReleased: after two builds nothing is held: prune --all leaves no cache record', async () => {
      const own = join(env.dir, 'root-released');
      const ctx = await dirWith({ Dockerfile: `FROM ${busybox}\n` });
      ok(await build(['.'], ctx, own));
      ok(await build(['.'], ctx, own));
      ok(await tsbuild(['--root', own, 'prune', '--all', '-f']));
      expect(ok(await tsbuild(['--root', own, 'du'])).stdout).to.match(/Total:\s+0B/);
    });

    it('testExportCacheLoop: a local cache exported, and exported again into the same directory it is imported from', async () => {
      const ctx = await dirWith({
        Dockerfile: `FROM ${busybox} as base\nRUN echo aa > /foo\nWORKDIR /bar\n\nFROM base as base1\nCOPY hello.txt .\n\n` +
          'FROM base as base2\nCOPY --from=base1 /bar/hello.txt .\nRUN true\n\nFROM scratch\nCOPY --from=base2 /foo /f\n',
        'hello.txt': 'hello',
      });
      const cache = join(env.dir, 'cache-loop');
      ok(await build(['--cache-to', `type=local,dest=${cache}`, '.'], ctx));
      // BuildKit prunes between the builds; a new root is the same start.
      ok(await build(['--cache-to', `type=local,dest=${cache}`, '--cache-from', `type=local,src=${cache}`, '.'], ctx, join(env.dir, 'root-loop')));
    });

    it('testReproducibleIDs: the same build named twice is the same image (manifest digest)', async () => {
      const ctx = await dirWith({ Dockerfile: `FROM ${busybox}\nENV foo=bar\nCOPY foo /\nRUN echo bar > bar\n`, foo: 'foo-contents' });
      const [a, b] = [out(), out()];
      ok(await build(['-o', `type=oci,dest=${a},tar=false,name=example.com/moby/dockerfileids:test`, '.'], ctx));
      ok(await build(['-o', `type=oci,dest=${b},tar=false,name=example.com/moby/dockerfileids2:test`, '.'], ctx));
      expect(await topDigest(b)).to.equal(await topDigest(a));
    });

    it('testCacheImportExport, testImageManifestCacheImportExport: a min registry cache brings a new root the image, random output included, without running the stage', async () => {
      // The default mode=min exports the target stage only; the new root keys both COPY --from by what the cache says
      // they take from `base`'s RUN (found by that step's key) and never runs it: `unique` is the first build's.
      const ctx = await dirWith({
        Dockerfile: `FROM ${busybox} AS base\nCOPY foo const\nRUN cat /dev/urandom | head -c 100 | sha256sum > unique\nFROM scratch\nCOPY --from=base const /\nCOPY --from=base unique /\n`,
        foo: 'foobar',
      });
      const ref = `${env.registry.host}/buildkit/testexportdf:latest`;
      const [o1, o2] = [out(), out()];
      ok(await build(['--cache-to', `type=registry,ref=${ref},oci-mediatypes=true`, '-o', `type=local,dest=${o1}`, '.'], ctx));
      ok(await build(['--cache-from', `type=registry,ref=${ref}`, '-o', `type=local,dest=${o2}`, '.'], ctx, join(env.dir, 'root-import')));
      expect(await readFile(join(o2, 'const'), 'utf8')).to.equal('foobar');
      expect(await readFile(join(o2, 'unique'), 'utf8')).to.equal(await readFile(join(o1, 'unique'), 'utf8'));
    });

    it('testCacheMultiPlatformImportExport: an inline cache in each platform\'s image brings two fresh roots in turn the same two images', async () => {
      // The stage runs on the build platform for each target (no emulator), writing 100 random bytes' digest: only a
      // cache that answers for both platforms gives both the first build's bytes. Each rebuild imports the image the
      // one before pushed, with its own inline cache, as BuildKit's loop does.
      const ctx = await dirWith({
        Dockerfile: `FROM --platform=$BUILDPLATFORM ${busybox} AS base\nARG TARGETARCH\nRUN echo -n $TARGETARCH> arch && cat /dev/urandom | head -c 100 | sha256sum > unique\nFROM scratch\nCOPY --from=base unique /\nCOPY --from=base arch /\n`,
      });
      const ref = `${env.registry.host}/buildkit/testexportdf:multi-img`;
      const platforms = ['--platform', 'linux/amd64,linux/arm64'];
      const files = async (o: string): Promise<string[]> => Promise.all(['linux_amd64/unique', 'linux_arm64/unique', 'linux_amd64/arch', 'linux_arm64/arch'].map((f) => readFile(join(o, f), 'utf8')));
      const first = out();
      ok(await build([...platforms, '--cache-to', 'type=inline', '-t', ref, '--push', '-o', `type=local,dest=${first}`, '.'], ctx));
      const want = await files(first);
      expect(want[0]).to.not.equal(want[1]);
      expect(want.slice(2)).to.deep.equal(['amd64', 'arm64']);
      for (const k of [1, 2]) {
        const o = out();
        const r = ok(await build([...platforms, '--cache-from', ref, '--cache-to', 'type=inline', '-t', ref, '--push', '-o', `type=local,dest=${o}`, '.'], ctx, join(env.dir, `root-multi-inline${k}`)));
        expect(r.stderr, `rebuild ${k}`).to.contain('stage linux/arm64 base not run').and.contain('cache: 6/6 steps cached');
        expect(await files(o), `rebuild ${k}`).to.deep.equal(want);
      }
    });
  });

  describe('dockerfile_resources_test.go', () => {
    it('testShmSize, testUlimit: --shm-size 134217728 and --ulimit nofile=1062:1062 reach RUN (one build)', async () => {
      const o = out();
      ok(await build(['--shm-size', '134217728', '--ulimit', 'nofile=1062:1062', '-o', `type=local,dest=${o}`, '.'], await dirWith({
        Dockerfile: `FROM ${busybox} AS base\nRUN mount | grep /dev/shm > /shmsize\nRUN ulimit -n > /ulimit\nFROM scratch\nCOPY --from=base /shmsize /ulimit /\n`,
      })));
      expect(await readFile(join(o, 'shmsize'), 'utf8')).to.contain('size=131072k');
      expect((await readFile(join(o, 'ulimit'), 'utf8')).trim()).to.equal('1062');
    });
  });

  describe('dockerfile_provenance_test.go', () => {
    // testGitProvenanceAttestation: a git context's provenance names the repository at its commit. BuildKit's loop
    // over "", v1 and v0.2 is one build per format here: "" (v1, the default in both) for SHA-1 and v0.2 for SHA-256.
    const gitProvenance = async (format: 'sha1' | 'sha256', version: '' | 'v0.2'): Promise<void> => {
      const repo = await servedDir(`prov-${format}`);
      await mkdir(join(repo, 'src'));
      await writeFile(join(repo, 'src/myapp.Dockerfile'), `FROM ${busybox}\nRUN --network=none echo "git" > /foo\nCOPY myapp.Dockerfile /\n`);
      await gitIn(repo, ['init', '-q', `--object-format=${format}`], ['add', 'src/myapp.Dockerfile'], ['commit', '-qm', 'initial'], ['branch', 'v1'], ['update-server-info']);
      const commit = await revParse(repo, 'v1');
      const o = out();
      const withUser = httpUrl.replace('http://', 'http://user:pass@');
      const redacted = httpUrl.replace('http://', 'http://xxxxx:xxxxx@');
      ok(await tsbuild(['build', '--root', root, '--progress', 'plain', '--provenance', `mode=max${version ? `,version=${version}` : ''}`, '-f', 'myapp.Dockerfile',
        '-o', `type=oci,dest=${o},tar=false`, `${withUser}/prov-${format}/.git#v1:src`], { cwd: await dirWith({}) }));
      const { predicateType, predicate: p } = await provenanceOf(o);
      expect(predicateType).to.equal(`https://slsa.dev/provenance/${version || 'v1'}`);
      const base = `pkg:docker/${busybox.replace(':latest', '')}@latest?platform=linux%2Famd64`;
      if (version === '') {
        const def = p.buildDefinition as { externalParameters: { configSource: { uri: string; path: string }; request: { locals?: unknown[]; args?: Record<string, string> } }; resolvedDependencies: { uri: string; digest: Record<string, string> }[] };
        const run = (p.runDetails as { metadata: { buildkit_hermetic: boolean; buildkit_completeness: { resolvedDependencies: boolean } } }).metadata;
        expect(def.externalParameters.configSource.uri).to.equal(`${redacted}/prov-${format}/.git#v1:src`);
        expect(def.externalParameters.configSource.path).to.equal('myapp.Dockerfile');
        expect(def.resolvedDependencies.map((d) => d.uri)).to.deep.equal([base, `${redacted}/prov-${format}/.git#v1`]);
        expect(def.resolvedDependencies[1]?.digest[format]).to.equal(commit);
        expect(def.externalParameters.request.locals ?? []).to.have.length(0);
        expect(def.externalParameters.request.args ?? {}).to.not.have.property('filename');
        expect(run.buildkit_completeness.resolvedDependencies).to.equal(true);
        expect(run.buildkit_hermetic).to.equal(true);
      } else {
        const inv = p.invocation as { configSource: { uri: string; entryPoint: string }; parameters: { locals?: unknown[] } };
        const materials = p.materials as { uri: string; digest: Record<string, string> }[];
        const meta = p.metadata as { completeness: { materials: boolean }; 'https://mobyproject.org/buildkit@v1#hermetic': boolean };
        expect(inv.configSource.uri).to.equal(`${redacted}/prov-${format}/.git#v1:src`);
        expect(inv.configSource.entryPoint).to.equal('myapp.Dockerfile');
        expect(materials.map((m) => m.uri)).to.deep.equal([base, `${redacted}/prov-${format}/.git#v1`]);
        expect(materials[1]?.digest[format]).to.equal(commit);
        expect(inv.parameters.locals ?? []).to.have.length(0);
        expect(meta.completeness.materials).to.equal(true);
        expect(meta['https://mobyproject.org/buildkit@v1#hermetic']).to.equal(true);
      }
    };
    it('testGitProvenanceAttestationSHA1: a git context (#v1:src, credentials redacted) as configSource and material, v1 by default', async () => {
      await gitProvenance('sha1', '');
    });
    it('testGitProvenanceAttestationSHA256: the same from a SHA-256 repository, v0.2', async () => {
      await gitProvenance('sha256', 'v0.2');
    });

    it('testProvenanceAttestation (in part): "" (v1), v1 and v0.2, min and max, in in-toto v1 statements, with BuildKit\'s fields', async () => {
      // BuildKit's loop, less its `context:foo` attribute (no CLI input) and the parts tsbuild does not write (max's
      // layers, source and LLB buildConfig): misc.md. No version is v1, as BuildKit's defaultSLSAVersion.
      const ctx = await dirWith({ Dockerfile: `FROM ${busybox}\nRUN echo "ok" > /foo\n` });
      const runs = [['', 'min'], ['', 'max'], ['v1', 'min'], ['v1', 'max'], ['v0.2', 'min'], ['v0.2', 'max']] as const;
      const layouts = runs.map(() => out());
      for (const r of await Promise.all(runs.map(([version, mode], i) => tsbuild(['build', '--root', root, '--progress', 'plain',
        '--provenance', `mode=${mode}${version ? `,version=${version}` : ''}`, '--build-arg', 'FOO=bar', '--label', 'lbl=abc', '-o', `type=oci,dest=${layouts[i] ?? ''},tar=false`, '.'], { cwd: ctx })))) ok(r);
      const base = `pkg:docker/${busybox.replace(':latest', '')}@latest?platform=linux%2Famd64`;
      for (const [i, [version, mode]] of runs.entries()) {
        const { _type, predicateType, predicate: p } = await provenanceOf(layouts[i] ?? '');
        const what = `${version || '""'} ${mode}`;
        expect(_type, what).to.equal('https://in-toto.io/Statement/v1');
        expect(predicateType, what).to.equal(`https://slsa.dev/provenance/${version || 'v1'}`);
        const args = mode === 'max' ? { 'build-arg:FOO': 'bar', 'label:lbl': 'abc' } : {};
        if (version !== 'v0.2') {
          const def = p.buildDefinition as { buildType: string; externalParameters: { configSource: { uri?: string; path: string }; request: { frontend: string; args?: Record<string, string>; locals: { name: string }[] } }; resolvedDependencies: { uri: string; digest: Record<string, string> }[]; internalParameters: { builderPlatform: string } };
          const run = p.runDetails as { builder: { id: string }; metadata: { invocationId?: string; startedOn?: string; finishedOn?: string; buildkit_hermetic?: boolean; buildkit_completeness: { request: boolean; resolvedDependencies: boolean }; buildkit_reproducible?: boolean } };
          expect(def.buildType).to.equal('https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md');
          expect(run.builder.id).to.equal('');
          expect(def.externalParameters.configSource.uri ?? '').to.equal('');
          expect(def.externalParameters.configSource.path).to.equal('Dockerfile');
          expect(def.externalParameters.request.frontend).to.equal('dockerfile.v0');
          expect(def.externalParameters.request.args ?? {}, what).to.deep.equal(args);   // Go leaves an empty map out
          expect(def.externalParameters.request.locals.map((l) => l.name)).to.deep.equal(['context', 'dockerfile']);
          expect(def.resolvedDependencies.map((d) => d.uri)).to.deep.equal([base]);
          expect(def.internalParameters.builderPlatform).to.equal('linux/amd64');
          expect(run.metadata.buildkit_completeness, what).to.deep.equal({ request: mode === 'max', resolvedDependencies: false });
          // Both false: left out, as Go's omitempty leaves them.
          expect(run.metadata).to.not.have.any.keys('buildkit_hermetic', 'buildkit_reproducible');
          expect(run.metadata.invocationId === undefined, what).to.equal(mode === 'min');
          if (mode === 'max') expect(Date.parse(run.metadata.finishedOn ?? '') >= Date.parse(run.metadata.startedOn ?? '')).to.equal(true);
        } else {
          const inv = p.invocation as { configSource: { uri?: string; entryPoint: string }; parameters: { frontend: string; args?: Record<string, string>; locals: { name: string }[] }; environment: { platform: string } };
          const meta = p.metadata as { buildInvocationID?: string; completeness: { parameters: boolean; environment: boolean; materials: boolean }; reproducible: boolean; 'https://mobyproject.org/buildkit@v1#hermetic': boolean };
          expect(p.buildType).to.equal('https://mobyproject.org/buildkit@v1');
          expect((p.builder as { id: string }).id).to.equal('');
          expect(inv.configSource.uri ?? '').to.equal('');
          expect(inv.configSource.entryPoint).to.equal('Dockerfile');
          expect(inv.parameters.frontend).to.equal('dockerfile.v0');
          expect(inv.parameters.args ?? {}, what).to.deep.equal(args);
          expect(inv.parameters.locals.map((l) => l.name)).to.deep.equal(['context', 'dockerfile']);
          expect((p.materials as { uri: string }[]).map((m) => m.uri)).to.deep.equal([base]);
          expect(inv.environment.platform).to.equal('linux/amd64');
          expect(meta.completeness, what).to.deep.equal({ parameters: mode === 'max', environment: true, materials: false });
          expect([meta['https://mobyproject.org/buildkit@v1#hermetic'], meta.reproducible]).to.deep.equal([false, false]);
          expect(meta.buildInvocationID === undefined, what).to.equal(mode === 'min');
        }
      }
    });

    it('testDuplicateLayersProvenance: max lists each step\'s layer chain once, by STEP:0, the image\'s as the image holds them', async () => {
      // The triangle of BuildKit's test: two stages on one base, the second copying from the first.
      const o = out();
      const ctx = await dirWith({ Dockerfile: `FROM ${busybox} AS base\nFROM base AS a\nRUN date +%s > /a.txt\nFROM base AS b\nCOPY --from=a /a.txt /\nRUN date +%s > /b.txt\n` });
      ok(await tsbuild(['build', '--root', root, '--progress', 'plain', '--provenance', 'mode=max', '-o', `type=oci,dest=${o},tar=false`, '.'], { cwd: ctx }));
      const stmt = await provenanceOf(o);
      const meta = (stmt.predicate as { runDetails: { metadata: { buildkit_metadata: { layers: Record<string, { digest: string; mediaType: string }[][]> } } } }).runDetails.metadata.buildkit_metadata;
      const base = meta.layers['s0.0:0'];
      expect(base, JSON.stringify(Object.keys(meta.layers))).to.have.length(1);
      const index = JSON.parse((await blobOf(o, await topDigest(o))).toString()) as { manifests: { digest: string; platform: { architecture: string } }[] };
      const image = JSON.parse((await blobOf(o, index.manifests.find((m) => m.platform.architecture !== 'unknown')?.digest ?? '')).toString()) as { layers: { digest: string }[] };
      // The last step of stage b made the image: its chain is the image's layers, compressed as pushed.
      const chains = Object.values(meta.layers).map((c) => c[0]?.map((l) => l.digest) ?? []);
      expect(chains).to.deep.include(image.layers.map((l) => l.digest));
      expect(Object.values(meta.layers).every((c) => c.length === 1)).to.equal(true);
    });

    it('testMultiPlatformProvenance: linux/amd64 and linux/arm64 each with its own v1 provenance, args in max', async () => {
      const o = out();
      const ctx = await dirWith({ Dockerfile: `FROM ${busybox}\nARG TARGETARCH\nRUN echo "ok-$TARGETARCH" > /foo\n` });
      ok(await tsbuild(['build', '--root', root, '--progress', 'plain', '--provenance', 'mode=max,version=v1', '--build-arg', 'FOO=bar', '--label', 'lbl=abc',
        '--platform', 'linux/amd64,linux/arm64', '-o', `type=oci,dest=${o},tar=false`, '.'], { cwd: ctx }));
      const index = JSON.parse((await blobOf(o, await topDigest(o))).toString()) as { manifests: { digest: string; platform: { architecture: string }; annotations?: Record<string, string> }[] };
      const images = index.manifests.filter((m) => m.platform.architecture !== 'unknown');
      expect(images.map((m) => m.platform.architecture)).to.deep.equal(['amd64', 'arm64']);
      for (const image of images) {
        const att = index.manifests.find((m) => m.annotations?.['vnd.docker.reference.digest'] === image.digest);
        expect(att?.annotations?.['vnd.docker.reference.type']).to.equal('attestation-manifest');
        const layer = (JSON.parse((await blobOf(o, att?.digest ?? '')).toString()) as { layers: { digest: string }[] }).layers[0]?.digest ?? '';
        const stmt = JSON.parse((await blobOf(o, layer)).toString()) as { _type: string; predicateType: string; predicate: { buildDefinition: { resolvedDependencies: { uri: string }[]; externalParameters: { request: { args: Record<string, string> } } } } };
        expect(stmt._type).to.equal('https://in-toto.io/Statement/v1');
        expect(stmt.predicateType).to.equal('https://slsa.dev/provenance/v1');
        const deps = stmt.predicate.buildDefinition.resolvedDependencies;
        expect(deps).to.have.length(1);
        expect(deps[0]?.uri).to.contain(`@latest?platform=${encodeURIComponent(`linux/${image.platform.architecture}`)}`);
        expect(stmt.predicate.buildDefinition.externalParameters.request.args).to.deep.equal({ 'build-arg:FOO': 'bar', 'label:lbl': 'abc' });
      }
    });

    it('testNilProvenance, testDuplicatePlatformProvenance: mode=max with an empty image, to image, local and tar; one platform given twice', async () => {
      const nil = await dirWith({ Dockerfile: 'FROM scratch\nENV FOO=bar\n' });
      const dup = await dirWith({ Dockerfile: `FROM ${busybox} AS base-linux\nFROM base-$TARGETOS\n` });
      const multi = ['--platform', 'linux/amd64,linux/arm64'];
      const results = await Promise.all([
        build(['--provenance', 'mode=max', '-o', 'type=image', '.'], nil),
        build(['--provenance', 'mode=max', ...multi, '-o', `type=local,dest=${out()}`, '.'], nil),
        build(['--provenance', 'mode=max', ...multi, '-o', `type=tar,dest=${out()}.tar`, '.'], nil),
        build(['--provenance', 'mode=max', '--platform', 'linux/amd64,linux/amd64', '-o', `type=oci,dest=${out()},tar=false`, '.'], dup),
      ]);
      for (const r of results) ok(r);
    });

    it('testSecretSSHProvenance: mode=max lists the secrets and SSH agents the steps mount, optional, by id', async () => {
      const o = out();
      const ctx = await dirWith({ Dockerfile: `FROM ${busybox}\nRUN --mount=type=secret,id=mysecret --mount=type=secret,id=othersecret --mount=type=ssh echo "ok" > /foo\n` });
      ok(await tsbuild(['build', '--root', root, '--progress', 'plain', '--provenance', 'mode=max,version=v1', '-o', `type=oci,dest=${o},tar=false`, '.'], { cwd: ctx }));
      const { predicate } = await provenanceOf(o);
      const request = (predicate.buildDefinition as { externalParameters: { request: { secrets: unknown; ssh: unknown } } }).externalParameters.request;
      expect(request.secrets).to.deep.equal([{ id: 'mysecret', optional: true }, { id: 'othersecret', optional: true }]);
      expect(request.ssh).to.deep.equal([{ id: 'default', optional: true }]);
    });
  });

  describe('dockerfile_git_http_test.go', () => {
    const fromGit = async (format: 'sha1' | 'sha256'): Promise<void> => {
      const repo = await servedDir(`df-${format}`);
      const dockerfile = `FROM ${busybox} AS build\nRUN echo -n fromgit > foo\nFROM scratch\nCOPY --from=build foo bar\n`;
      await writeFile(join(repo, 'Dockerfile'), dockerfile);
      await gitIn(repo, ['init', '-q', `--object-format=${format}`], ['add', 'Dockerfile'], ['commit', '-qm', 'initial'], ['branch', 'first']);
      await writeFile(join(repo, 'Dockerfile'), `${dockerfile}COPY --from=build foo bar2\n`);
      await gitIn(repo, ['add', 'Dockerfile'], ['commit', '-qm', 'second'], ['update-server-info']);
      const cwd = await dirWith({});
      const [first, master] = [out(), out()];
      ok(await build(['-o', `type=local,dest=${first}`, `${httpUrl}/df-${format}/.git#first`], cwd));
      ok(await build(['-o', `type=local,dest=${master}`, `${httpUrl}/df-${format}/.git`], cwd));
      expect(await readFile(join(first, 'bar'), 'utf8')).to.equal('fromgit');
      expect(await readFile(join(first, 'bar2'), 'utf8').catch(() => 'absent')).to.equal('absent');
      expect(await readFile(join(master, 'bar'), 'utf8')).to.equal('fromgit');
      expect(await readFile(join(master, 'bar2'), 'utf8')).to.equal('fromgit');
    };
    it('testDockerfileFromGitSHA1: a repository over dumb HTTP as the context, #first and the default branch', async () => {
      await fromGit('sha1');
    });
    it('testDockerfileFromGitSHA256: the same from a SHA-256 repository', async () => {
      await fromGit('sha256');
    });

    it('testDockerfileFromHTTP: a tar over HTTP as the context, its Dockerfile named by -f', async () => {
      const src = await dirWith({ mydockerfile: 'FROM scratch\nCOPY foo bar\n', foo: 'foo-contents' });
      await git('tar', ['cf', join(served, 'ctx.tar'), 'mydockerfile', 'foo'], { cwd: src });
      const o = out();
      ok(await build(['-f', 'mydockerfile', '-o', `type=local,dest=${o}`, `${httpUrl}/ctx.tar`], src));
      expect(await readFile(join(o, 'bar'), 'utf8')).to.equal('foo-contents');
    });

    it('testHTTPDockerfile: a plain Dockerfile over HTTP as the context; -f is then any name', async () => {
      await writeFile(join(served, 'df'), `FROM ${busybox}\nRUN echo -n "foo-contents" > /foo\nFROM scratch\nCOPY --from=0 /foo /foo\n`);
      const o = out();
      ok(await build(['-f', 'mydockerfile', '-o', `type=local,dest=${o}`, `${httpUrl}/df`], await dirWith({})));
      expect(await readFile(join(o, 'foo'), 'utf8')).to.equal('foo-contents');
    });
  });
});
