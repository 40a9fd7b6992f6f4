import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFile as readFileCb } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

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
describe('BuildKit parity: misc (addgit, git_http, cache, resources, provenance)', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  let root = '';
  let busybox = '';
  let http: Server | undefined;
  let httpUrl = '';
  let served = '';
  let n = 0;
  const build = (args: string[], cwd: string, atRoot = root): Promise<CliResult> =>
    tsbuild(['build', '--root', atRoot, '--progress', 'plain', '--provenance', 'false', ...args], { cwd });
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };
  const out = (): string => join(env.dir, `out${++n}`);
  /** A fresh directory with these files. */
  const dirWith = async (files: Record<string, string>): Promise<string> => {
    const dir = join(env.dir, `ctx${++n}`);
    await mkdir(dir, { recursive: true });
    for (const [name, body] of Object.entries(files)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), body, { mode: 0o600 });
    }
    return dir;
  };
  /** A directory under the HTTP server's root, served at `${httpUrl}/${name}`. */
  const servedDir = async (name: string): Promise<string> => {
    const dir = join(served, name);
    await mkdir(dir, { recursive: true });
    return dir;
  };
  before(async () => {
    env = await startBuildEnv('tsbuild-parity-misc-');
    root = join(env.dir, 'root');
    busybox = env.base;
    served = join(env.dir, 'served');
    await mkdir(served);
    // Plain files over HTTP, confined to `served`: git repositories (dumb protocol), a tar context, a Dockerfile.
    http = createServer((req, res) => {
      const rel = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '');
      if (rel.startsWith('..')) { res.writeHead(403).end(); return; }
      readFileCb(join(served, rel), (err, body) => { if (err) res.writeHead(404).end(); else res.writeHead(200).end(body); });
    });
    await new Promise<void>((resolve) => http?.listen(0, '127.0.0.1', resolve));
    httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => (http === undefined ? resolve(undefined) : http.close(resolve)));
    await env?.stop();
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
