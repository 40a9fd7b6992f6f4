import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { access, chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { packTar, type TarEntry } from '../fixtures/pack-tar.js';
import { makeHostMarker, snapshotTree } from '../fixtures/host-marker.js';
import { run, TSBUILD, type CliResult } from '../fixtures/tsbuild-cli.js';
import { descendants, killNode, startTsbuild, waitFor, waitForBuild } from '../fixtures/crash-points.js';

// Remote build contexts as buildx takes them (git URLs, tarball URLs, a tar on stdin) and ADD of a git repository,
// against real parts: `git daemon` and `git http-backend` (behind a small node HTTP server, which also serves the
// tarballs) on 127.0.0.1, the real command, the image's files checked with -o type=local.

const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' };

async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await run('git', args, { cwd, env: GIT_ENV });
  if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Runs bin/tsbuild with `input` on its stdin. */
function tsbuildStdin(args: string[], input: Buffer | string, cwd: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSBUILD, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

describe('remote build contexts and ADD of a git repository', function () {
  this.timeout(240_000);
  let dir = '';
  let root = '';
  let served = '';     // git daemon's base path
  let gitPort = 0;
  let daemon: ChildProcess | undefined;
  let http: Server | undefined;
  let httpUrl = '';
  let hung = 0;   // requests for /hang/… so far
  let hookMarker = '';
  let mainCommit = '';
  let movingA = '';
  let movingB = '';
  let moveArm = '';
  const files: Record<string, Buffer> = {};
  let n = 0;
  const out = (): string => join(dir, `out${++n}`);
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };
  const build = (args: string[], cwd = dir): Promise<CliResult> => run(TSBUILD, ['build', '--root', root, '--progress', 'plain', ...args], { cwd });
  // Every tsbuild this suite starts gets a TMPDIR of its own (set in before()), so what another process on the
  // machine fetches into the shared /tmp at the same time is never counted as this suite's leftover. Nothing belongs
  // there: fetched contexts and checkouts are in the state root's temp dir (worker/temp-dirs.ts), and removed.
  const hostTmp = tmpdir();
  let privateTmp = '';
  let savedTmp: string | undefined;
  const leftovers = async (): Promise<string[]> => [
    ...(await readdir(privateTmp)).map((f) => `TMPDIR/${f}`),
    ...(await readdir(join(root, 'tmp')).catch(() => [])),
  ].sort();

  before(async () => {
    dir = await mkdtemp(join(hostTmp, 'remote-context-test-'));
    privateTmp = join(dir, 'tmp');
    await mkdir(privateTmp);
    savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = privateTmp;
    root = join(dir, 'root');
    served = join(dir, 'served');
    hookMarker = join(dir, 'hook-ran');
    const src = join(served, 'repo');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'Dockerfile'), 'FROM scratch\nCOPY . /ctx/\n');
    await writeFile(join(src, 'main.txt'), 'main\n');
    await writeFile(join(src, 'sub', 'Dockerfile.alt'), 'FROM scratch\nCOPY . /alt/\n');
    await writeFile(join(src, 'sub', 'Dockerfile'), 'FROM scratch\nCOPY . /sub/\n');
    await writeFile(join(src, 'sub', 'sub.txt'), 'sub v1\n');
    await writeFile(join(src, 'sub', 'Dockerfile.lines'), 'FROM scratch\nCOPY sub.txt \\\n  /lines/\n');
    await writeFile(join(src, 'sub', 'secret.key'), 'ignored\n');
    await writeFile(join(src, 'sub', '.dockerignore'), '*.key\n');
    await git(src, 'init', '-q', '-b', 'main');
    // A hook in the served repository: a clone never runs it (hooks are not fetched, and tsbuild's git has none).
    await writeFile(join(src, '.git', 'hooks', 'post-checkout'), `#!/bin/sh\ntouch ${hookMarker}\n`);
    await chmod(join(src, '.git', 'hooks', 'post-checkout'), 0o755);
    await git(src, 'add', '-A');
    await git(src, 'commit', '-qm', 'one');
    await git(src, 'tag', '-a', 'v1', '-m', 'v1');
    mainCommit = await git(src, 'rev-parse', 'HEAD');
    await git(src, 'checkout', '-qb', 'dev');
    await writeFile(join(src, 'sub', 'sub.txt'), 'sub dev\n');
    await git(src, 'commit', '-qam', 'dev');
    await git(src, 'checkout', '-q', 'main');
    await rm(hookMarker, { force: true });   // the checkouts above ran it on purpose; the builds below must not
    await git(served, 'clone', '-q', '--bare', 'repo', 'repo.git');
    // A repository whose submodule is a local path on this host: the fetch must refuse the file transport.
    const evil = join(served, 'evil');
    await mkdir(evil);
    await git(evil, 'init', '-q', '-b', 'main');
    await writeFile(join(evil, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
    await writeFile(join(evil, '.gitmodules'), `[submodule "host"]\n\tpath = host\n\turl = ${join(served, 'repo.git')}\n`);
    await git(evil, 'add', '-A');
    await git(evil, 'update-index', '--add', '--cacheinfo', `160000,${mainCommit},host`);
    await git(evil, 'commit', '-qm', 'evil');
    // moving.git: main at A, and B (a child of A) kept under refs/pending/b until the access hook moves main to it.
    const moving = join(served, 'moving-src');
    await mkdir(moving);
    await git(moving, 'init', '-q', '-b', 'main');
    await writeFile(join(moving, 'v.txt'), 'A\n');
    await git(moving, 'add', '-A');
    await git(moving, 'commit', '-qm', 'A');
    movingA = await git(moving, 'rev-parse', 'HEAD');
    await writeFile(join(moving, 'v.txt'), 'B\n');
    await git(moving, 'commit', '-qam', 'B');
    movingB = await git(moving, 'rev-parse', 'HEAD');
    await git(served, 'clone', '-q', '--bare', 'moving-src', 'moving.git');
    await git(join(served, 'moving.git'), 'update-ref', 'refs/pending/b', movingB);
    await git(join(served, 'moving.git'), 'update-ref', 'refs/heads/main', movingA);
    // git daemon's access hook runs before it serves each request: with a count N in moveArm, the (N+1)th request for
    // moving.git first moves its main branch to B (as a push between two requests of one build would).
    moveArm = join(dir, 'move-arm');
    const hook = join(dir, 'access-hook');
    await writeFile(hook, [
      '#!/bin/sh',
      'case "$2" in *moving.git*) ;; *) exit 0 ;; esac',
      `[ -f ${moveArm} ] || exit 0`,
      `n=$(cat ${moveArm})`,
      `if [ "$n" -gt 0 ]; then echo $((n - 1)) > ${moveArm}; exit 0; fi`,
      `git --git-dir=${join(served, 'moving.git')} update-ref refs/heads/main ${movingB} && rm -f ${moveArm}`,
      '',
    ].join('\n'));
    await chmod(hook, 0o755);

    // git daemon on a free port: try a few until one binds.
    for (let attempt = 0; attempt < 5 && gitPort === 0; attempt++) {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const d = spawn('git', ['daemon', `--access-hook=${join(dir, 'access-hook')}`, '--export-all', `--base-path=${served}`, '--reuseaddr', '--listen=127.0.0.1', `--port=${port}`, '--informative-errors', served],
        { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...GIT_ENV } });
      const up = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), 1500);
        d.on('exit', () => { clearTimeout(timer); resolve(false); });
      });
      if (up) { daemon = d; gitPort = port; }
    }
    if (gitPort === 0) throw new Error('git daemon did not start on any port (is git-daemon-sysvinit or git installed?)');

    // The HTTP server: git's smart HTTP (git http-backend as CGI) under /git/, and plain files.
    http = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname.startsWith('/git/')) {
        const cgi = spawn('git', ['http-backend'], {
          env: { ...GIT_ENV, PATH: process.env.PATH, GIT_PROJECT_ROOT: served, GIT_HTTP_EXPORT_ALL: '1', PATH_INFO: url.pathname.slice(4),
            QUERY_STRING: url.search.slice(1), REQUEST_METHOD: req.method ?? 'GET', CONTENT_TYPE: req.headers['content-type'] ?? '', REMOTE_ADDR: '127.0.0.1',
            ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}) },
          stdio: ['pipe', 'pipe', 'ignore'],
        });
        req.pipe(cgi.stdin);
        const chunks: Buffer[] = [];
        cgi.stdout.on('data', (c: Buffer) => chunks.push(c));
        cgi.on('close', () => {
          const all = Buffer.concat(chunks);
          const split = all.indexOf('\r\n\r\n');
          const head = all.subarray(0, split).toString().split('\r\n');
          let status = 200;
          for (const line of head) {
            const [k = '', v = ''] = line.split(/:\s*/, 2);
            if (k.toLowerCase() === 'status') status = parseInt(v, 10);
            else if (k !== '') res.setHeader(k, v);
          }
          res.writeHead(status).end(all.subarray(split + 4));
        });
        return;
      }
      if (url.pathname.startsWith('/hang/')) { hung++; return; }   // never answers: for the Ctrl-C and kill tests
      const body = files[url.pathname];
      if (body === undefined) res.writeHead(404).end('not found\n');
      else res.writeHead(200).end(body);
    });
    // A repository with a submodule fetched over git://, as BuildKit checks them out (shallow, recursive).
    const withSub = join(served, 'withsub');
    await mkdir(withSub);
    await git(withSub, 'init', '-q', '-b', 'main');
    await writeFile(join(withSub, 'Dockerfile'), 'FROM scratch\nCOPY . /w/\n');
    await writeFile(join(withSub, '.gitmodules'), `[submodule "lib"]\n\tpath = lib\n\turl = git://127.0.0.1:${gitPort}/repo.git\n`);
    await git(withSub, 'add', '-A');
    await git(withSub, 'update-index', '--add', '--cacheinfo', `160000,${mainCommit},lib`);
    await git(withSub, 'commit', '-qm', 'with a submodule');
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    await mkdir(root);
  });

  after(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    daemon?.kill();
    http?.closeAllConnections();
    http?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const gitUrl = (path = 'repo.git'): string => `git://127.0.0.1:${gitPort}/${path}`;

  it('builds a git context (git://): the default branch, without .git, with the commit in the progress', async () => {
    const o = out();
    const r = ok(await build(['-o', `type=local,dest=${o}`, gitUrl()]));
    expect(await readFile(join(o, 'ctx', 'main.txt'), 'utf8')).to.equal('main\n');
    expect(await readFile(join(o, 'ctx', 'sub', 'sub.txt'), 'utf8')).to.equal('sub v1\n');
    expect(await exists(join(o, 'ctx', '.git'))).to.equal(false);
    // COPY . /ctx/ takes the context root's mode: 0755 as from a local context, never the private temp dir's 0700.
    expect((await stat(join(o, 'ctx'))).mode & 0o7777).to.equal(0o755);
    expect(r.stderr).to.contain(mainCommit);
    const history = JSON.parse(ok(await run(TSBUILD, ['history', '--root', root, '--json'])).stdout) as { contextSource?: { url: string; commit?: string } }[];
    expect(history[0]?.contextSource).to.deep.equal({ url: gitUrl(), commit: mainCommit });
    // The same URL again: every step hits (its locator is the URL, not the temp dir it was fetched into).
    const again = ok(await build(['-o', `type=local,dest=${out()}`, gitUrl()]));
    expect(again.stderr).not.to.contain('MISS');
    expect(await exists(hookMarker)).to.equal(false);
    expect(await leftovers()).to.deep.equal([]);
  });

  it('takes #ref:subdir and the query form, -f relative to the remote context, .dockerignore of the subdir applied', async () => {
    const o1 = out();
    ok(await build(['-o', `type=local,dest=${o1}`, `${gitUrl()}#dev:sub`]));
    expect(await readFile(join(o1, 'sub', 'sub.txt'), 'utf8')).to.equal('sub dev\n');
    expect(await exists(join(o1, 'sub', 'secret.key'))).to.equal(false);
    const o2 = out();
    ok(await build(['-o', `type=local,dest=${o2}`, '-f', 'Dockerfile.alt', `${gitUrl()}?tag=v1&subdir=sub`]));
    expect(await readFile(join(o2, 'alt', 'sub.txt'), 'utf8')).to.equal('sub v1\n');
    const o3 = out();
    ok(await build(['-o', `type=local,dest=${o3}`, `${gitUrl()}?ref=main&keep-git-dir=true`]));
    expect((await lstat(join(o3, 'ctx', '.git'))).isDirectory()).to.equal(true);
    // The build arg BUILDKIT_CONTEXT_KEEP_GIT_DIR keeps it too (dockerui's keyContextKeepGitDirArg); false is the default.
    const o4 = out();
    ok(await build(['-o', `type=local,dest=${o4}`, '--build-arg', 'BUILDKIT_CONTEXT_KEEP_GIT_DIR=1', `${gitUrl()}#main`]));
    expect((await lstat(join(o4, 'ctx', '.git'))).isDirectory()).to.equal(true);
    const o5 = out();
    ok(await build(['-o', `type=local,dest=${o5}`, '--build-arg', 'BUILDKIT_CONTEXT_KEEP_GIT_DIR=false', `${gitUrl()}#main`]));
    expect(await exists(join(o5, 'ctx', '.git'))).to.equal(false);
    // --check and --call=targets read the remote Dockerfile too (and leave no temp dir).
    ok(await build(['--check', `${gitUrl()}#dev:sub`]));
    expect(ok(await build(['--call=targets,format=json', '-f', 'Dockerfile.alt', `${gitUrl()}#v1:sub`])).stdout).to.contain('"targets"');
    expect(await leftovers()).to.deep.equal([]);
    expect(await exists(join(o3, 'ctx', '.git', 'hooks', 'post-checkout'))).to.equal(false);
    expect(await exists(hookMarker)).to.equal(false);
  });

  it('names a git context\'s Dockerfile URL#ref:path in the history and report, keeps its lines, and groups its trends', async () => {
    const name = `${gitUrl()}#dev:sub/Dockerfile.lines`;
    const r = ok(await build(['-f', 'Dockerfile.lines', `${gitUrl()}#dev:sub`]));
    ok(await build(['-f', 'Dockerfile.lines', `${gitUrl()}#dev:sub`]));
    expect(r.stderr).not.to.contain(tmpdir()).and.not.to.contain(join(root, 'tmp'));
    const history = JSON.parse(ok(await run(TSBUILD, ['history', '--root', root, '--json'])).stdout) as Record<string, unknown>[];
    expect(history[0]?.['dockerfile']).to.equal(name);
    expect(history[0]).not.to.have.property('dockerfileText');   // the text is in the record, not in every listing
    // The report quotes the Dockerfile as written (continuation line and all): read from the record, the temp
    // checkout being gone; steps are located by the stable name.
    const report = JSON.parse(ok(await run(TSBUILD, ['report', '--root', root, '--format', 'json'])).stdout) as
      { build: { dockerfile: string }; steps: { instruction: string; location?: { file: string } }[] };
    expect(report.build.dockerfile).to.equal(name);
    expect(report.steps.map((s) => s.instruction)).to.include('COPY sub.txt \\\n  /lines/');
    expect(report.steps.map((s) => s.location?.file)).to.deep.equal([name, name]);
    const trends = JSON.parse(ok(await run(TSBUILD, ['report', '--root', root, '--last', '10', '--format', 'json'])).stdout) as { dockerfile: string; builds: unknown[] };
    expect(trends.dockerfile).to.equal(name);
    expect(trends.builds).to.have.length(2);
    const named = JSON.parse(ok(await run(TSBUILD, ['report', '--root', root, '--last', '10', '-f', name, '--format', 'json'])).stdout) as { builds: unknown[] };
    expect(named.builds).to.have.length(2);
    // A token in the URL never reaches the name.
    ok(await build(['-f', 'Dockerfile.lines', `${httpUrl.replace('://', '://t0ken@')}/git/repo.git#dev:sub`]));
    const listed = ok(await run(TSBUILD, ['history', '--root', root, '--json'])).stdout;
    expect((JSON.parse(listed) as Record<string, unknown>[])[0]?.['dockerfile']).to.equal(`${httpUrl.replace('://', '://xxxxx@')}/git/repo.git#dev:sub/Dockerfile.lines`);
    expect(listed + ok(await run(TSBUILD, ['report', '--root', root, '--format', 'md'])).stdout).not.to.contain('t0ken');
  });

  it('builds a git context over smart HTTP (a .git URL), and an http(s) URL without .git is a file, not a repository', async () => {
    const o = out();
    ok(await build(['-o', `type=local,dest=${o}`, `${httpUrl}/git/repo.git#v1`]));
    expect(await readFile(join(o, 'ctx', 'main.txt'), 'utf8')).to.equal('main\n');
    files['/Dockerfile.txt'] = Buffer.from('FROM scratch\nCOPY . /empty/\n');
    const o2 = out();
    ok(await build(['-o', `type=local,dest=${o2}`, `${httpUrl}/Dockerfile.txt`]));
    expect(await readdir(o2)).to.deep.equal(['empty']);   // an empty context: COPY . copies nothing
    expect(await readdir(join(o2, 'empty'))).to.deep.equal([]);
  });

  it('fails with exit 1 naming the URL and ref for a missing ref or an unreachable repository, credentials redacted', async () => {
    const missing = await build([`${gitUrl()}#no-such-branch`]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain(gitUrl()).and.to.contain('no-such-branch');
    const secret = await build([`${httpUrl.replace('://', '://user:s3cr3t@')}/git/nope.git#main`]);
    expect(secret.code).to.equal(1);
    expect(secret.stderr).to.contain('nope.git').and.to.contain('user:xxxxx@');
    expect(secret.stderr).not.to.contain('s3cr3t');
    const token = await build([`${httpUrl.replace('://', '://t0ken@')}/missing.tar.gz`]);
    expect(token.code).to.equal(1);
    expect(token.stderr).not.to.contain('t0ken');
    expect(await leftovers()).to.deep.equal([]);
  });

  it('checks out submodules (shallow, recursive) without their .git, and skips them with ?submodules=false', async () => {
    const o = out();
    ok(await build(['-o', `type=local,dest=${o}`, gitUrl('withsub')]));
    expect(await readFile(join(o, 'w', 'lib', 'main.txt'), 'utf8')).to.equal('main\n');
    expect(await exists(join(o, 'w', 'lib', '.git'))).to.equal(false);
    const o2 = out();
    ok(await build(['-o', `type=local,dest=${o2}`, `${gitUrl('withsub')}?submodules=false`]));
    expect(await readdir(join(o2, 'w', 'lib'))).to.deep.equal([]);
  });

  it('removes the fetched context when the build is interrupted (Ctrl-C) while fetching', async () => {
    const child = spawn(TSBUILD, ['build', '--root', root, '--progress', 'plain', `${httpUrl}/hang/repo.git`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    // Wait until the temp dir exists (the fetch has started), then interrupt.
    for (let i = 0; i < 600 && (await leftovers()).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await leftovers(), 'the fetch never started').to.have.length(1);
    expect((await leftovers())[0]).to.match(/^remote-\d+-/);
    child.kill('SIGINT');
    const [code] = await once(child, 'close') as [number];
    expect(code, stderr).to.equal(130);
    expect(await leftovers()).to.deep.equal([]);
  });

  it('refuses file:// and local paths as git sources, and a submodule on the host\'s file system', async () => {
    const ctx = join(dir, 'addctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `FROM scratch\nADD file://${join(served, 'repo.git')} /x/\n`);
    const file = await build([ctx]);
    expect(file.code).to.equal(1);   // INVALID_ARGUMENT from the Dockerfile's ADD: a failed build (builder/format-error.ts exitStatus)
    expect(file.stderr).to.contain('file:');
    const local = await build(['-o', `type=local,dest=${out()}`, `file://${join(served, 'repo.git')}`]);
    expect(local.code).to.equal(1);
    expect(local.stderr).to.contain('unsupported build context URL');
    const path = await build([`${join(served, 'repo.git')}#main`]);
    expect(path.code).to.equal(1);
    expect(path.stderr).to.contain('not a directory');
    const sub = await build([`${gitUrl('evil')}`]);
    expect(sub.code).to.equal(1);
    expect(sub.stderr).to.match(/transport 'file' not allowed|submodule/);
  });

  it('ADD <git url> writes the repository into the root; --keep-git-dir keeps .git; a moved branch misses', async () => {
    const ctx = join(dir, 'add');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), [
      'FROM scratch',
      `ADD ${gitUrl()}#v1 /src`,
      `ADD --keep-git-dir ${gitUrl()}#dev /dev/`,
      `ADD ${httpUrl}/git/repo.git?branch=dev&subdir=sub /sub`,
      '',
    ].join('\n'));
    const o = out();
    ok(await build(['-o', `type=local,dest=${o}`, ctx]));
    expect(await readFile(join(o, 'src', 'main.txt'), 'utf8')).to.equal('main\n');
    expect(await exists(join(o, 'src', '.git'))).to.equal(false);
    expect((await lstat(join(o, 'dev', '.git'))).isDirectory()).to.equal(true);
    expect(await readFile(join(o, 'sub', 'sub.txt'), 'utf8')).to.equal('sub dev\n');
    expect(await exists(hookMarker)).to.equal(false);
    const again = ok(await build(['-o', `type=local,dest=${out()}`, ctx]));
    expect(again.stderr).not.to.contain('MISS');
    // The dev branch moves on the server: the ADDs of dev miss, the ADD of v1 still hits.
    const work = join(dir, 'work');
    await git(dir, 'clone', '-q', '-b', 'dev', join(served, 'repo.git'), 'work');
    await writeFile(join(work, 'sub', 'sub.txt'), 'sub dev 2\n');
    await git(work, 'commit', '-qam', 'dev 2');
    await git(work, 'push', '-q', 'origin', 'dev');
    const o3 = out();
    const moved = ok(await build(['-o', `type=local,dest=${o3}`, ctx]));
    expect(moved.stderr).to.contain('MISS');
    expect(await readFile(join(o3, 'sub', 'sub.txt'), 'utf8')).to.equal('sub dev 2\n');
    expect(await leftovers()).to.deep.equal([]);
  });

  it('runs every git command of ADD <git url> and of a git context in the state root\'s temp dir, never TMPDIR (a repository has no size limit)', async () => {
    const ctx = join(dir, 'add-where');
    const bin = join(dir, 'git-wrapper');
    const log = join(dir, 'git-wrapper.log');
    await mkdir(ctx, { recursive: true });
    await mkdir(bin, { recursive: true });
    // A stand-in git on PATH that writes down where each git command runs and what TMPDIR holds meanwhile, then runs
    // the real one. The ADD resolves its ref (ls-remote, for the step's key), then checks it out; the context is
    // resolved and checked out before the build.
    await writeFile(join(bin, 'git'), `#!/bin/sh\necho "$PWD|$(ls -A '${privateTmp}' | tr '\\n' ' ')|$*" >> '${log}'\nexec /usr/bin/git "$@"\n`, { mode: 0o755 });
    await writeFile(join(ctx, 'Dockerfile'), `FROM scratch\nADD ${gitUrl()}#v1 /where\n`);
    const withWrapper = { env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } };
    ok(await run(TSBUILD, ['build', '--root', root, '--progress', 'plain', '-o', `type=local,dest=${out()}`, ctx], withWrapper));
    ok(await run(TSBUILD, ['build', '--root', root, '--progress', 'plain', '-o', `type=local,dest=${out()}`, `${gitUrl()}#dev:sub`], withWrapper));
    const runs = (await readFile(log, 'utf8')).split('\n').filter((line) => line !== '').map((line) => line.split('|') as [string, string, string]);
    for (const [command, kind] of [['ls-remote', 'git'], ['checkout', 'git'], ['ls-remote', 'remote'], ['checkout', 'remote']]) {
      expect(runs.some(([pwd, , args]) => args.includes(` ${command} `) && pwd.startsWith(join(root, 'tmp', `${kind}-`))), `git ${command} in ${kind}-…`).to.equal(true);
    }
    // The local context is in no checkout (no .git in it or above it): its git information (build/git.go
    // getGitAttributes) starts no git there at all.
    for (const [pwd, inTmp, args] of runs) {
      expect(pwd.startsWith(`${join(root, 'tmp')}/`), `${pwd}: git ${args}`).to.equal(true);
      expect(inTmp, `TMPDIR during git ${args}`).to.equal('');
    }
    expect(await leftovers()).to.deep.equal([]);
  });

  it('removes what a build killed while it resolved an ADD <git url> or fetched a git context left in the state root, at the next build', async () => {
    const ctx = join(dir, 'add-hang');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `FROM scratch\nADD ${httpUrl}/hang/repo.git /src\n`);
    const left: string[] = [];
    // The ADD's ls-remote (git-<pid>-…, once the worker has opened the root), then a context (remote-<pid>-…, before).
    for (const [kind, arg] of [['git', ctx], ['remote', `${httpUrl}/hang/repo.git`]] as const) {
      const killed = startTsbuild(['build', '--root', root, '--progress', 'plain', arg], { TSBUILD_DAEMON: '0' });
      const asked = hung;
      const entry = await waitForBuild(killed, `a ${kind} temp dir`, async () => (await leftovers()).find((e) => e.startsWith(`${kind}-`) || e.startsWith('TMPDIR/')));
      expect(entry).to.match(new RegExp(`^${kind}-${killed.pid}-`));
      // git is asking the server (which never answers): it and its helper go too, or they would hang on for ever.
      await waitFor('git\'s request', () => hung > asked);
      const gits = descendants(killed.pid);
      killNode(killed.pid);
      expect((await killed.done).signal).to.equal('SIGKILL');
      for (const pid of gits) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone with it */ }
      }
      left.push(entry);
      expect(await leftovers(), 'what kill -9 left').to.deep.equal([...left].sort());
    }
    ok(await build(['-o', `type=local,dest=${out()}`, gitUrl()]));
    expect(await leftovers()).to.deep.equal([]);
  });

  it('ADD <git url> fetches the commit its step was keyed by when the branch moves in between, and resolves a ref once a build', async () => {
    const ctx = join(dir, 'add-moving');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `FROM scratch\nADD ${gitUrl('moving.git')}#main /m/\nADD ${gitUrl('moving.git')}#main /n/\n`);
    // The first request (the ls-remote the keys are made from) sees A; main moves to B before the second is served.
    await writeFile(moveArm, '1');
    const o = out();
    const r = ok(await build(['-o', `type=local,dest=${o}`, ctx]));
    expect(await exists(moveArm), 'the branch never moved during the build').to.equal(false);
    expect(await readFile(join(o, 'm', 'v.txt'), 'utf8')).to.equal('A\n');
    expect(await readFile(join(o, 'n', 'v.txt'), 'utf8')).to.equal('A\n');
    expect(r.stderr).to.contain(movingA).and.not.to.contain(movingB);
    // The next build keys by B: both ADDs miss and write B.
    const o2 = out();
    const next = ok(await build(['-o', `type=local,dest=${o2}`, ctx]));
    expect(next.stderr).to.contain('MISS');
    expect(await readFile(join(o2, 'm', 'v.txt'), 'utf8')).to.equal('B\n');
    expect(await leftovers()).to.deep.equal([]);
  });

  it('takes --build-context NAME=<git url> (a checkout, no .dockerignore) and NAME=<http(s) url> (the file as "context")', async () => {
    const tarball = gzipSync(await packTar([{ name: 'in-tar.txt', content: 't\n' }], { mode: 0o644, mtime: new Date(0) }));
    files['/named.tar.gz'] = tarball;
    const ctx = join(dir, 'named');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), [
      'FROM scratch',
      'COPY --from=repo main.txt /from-git/',
      'COPY --from=sub . /sub-all/',
      'COPY --from=web context /web/tarball',
      '',
    ].join('\n'));
    const o = out();
    const r = ok(await build(['-o', `type=local,dest=${o}`, '--build-context', `repo=${gitUrl()}`, '--build-context', `sub=${gitUrl()}#v1:sub`,
      '--build-context', `web=${httpUrl.replace('://', '://t0ken@')}/named.tar.gz`, ctx]));
    expect(await readFile(join(o, 'from-git', 'main.txt'), 'utf8')).to.equal('main\n');
    expect(await readFile(join(o, 'sub-all', 'sub.txt'), 'utf8')).to.equal('sub v1\n');
    // BuildKit reads no .dockerignore of a git named context (it is a git source, not a local one).
    expect(await readFile(join(o, 'sub-all', 'secret.key'), 'utf8')).to.equal('ignored\n');
    expect(await exists(join(o, 'sub-all', '.git'))).to.equal(false);
    expect(await readFile(join(o, 'web', 'tarball'))).to.deep.equal(tarball);
    expect(r.stderr).to.contain(`build context repo: ${gitUrl()} at ${mainCommit}`);
    expect(r.stderr).not.to.contain('t0ken');
    expect(await exists(hookMarker)).to.equal(false);
    // A second build hits: the named contexts are keyed by content, not by the temp dirs they were fetched into.
    const again = ok(await build(['-o', `type=local,dest=${out()}`, '--build-context', `repo=${gitUrl()}`, '--build-context', `sub=${gitUrl()}#v1:sub`,
      '--build-context', `web=${httpUrl}/named.tar.gz`, ctx]));
    expect(again.stderr).not.to.contain('MISS');
    // Failures name the context; nothing is left behind.
    const missing = await build(['--build-context', `repo=${gitUrl()}#no-such-branch`, ctx]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('no-such-branch');
    const file = await build(['--build-context', `repo=file://${join(served, 'repo.git')}`, ctx]);
    expect(file.code).to.equal(1);
    expect(file.stderr).to.contain('unsupported build context URL');
    expect(await leftovers()).to.deep.equal([]);
  });

  it('bake passes a git context and git/http named contexts through, as buildx does: --print shows them, a bake builds them', async () => {
    const proj = join(dir, 'bake');
    await mkdir(proj, { recursive: true });
    const o1 = out();
    const o2 = out();
    files['/bake-named.txt'] = Buffer.from('web\n');
    await writeFile(join(proj, 'docker-bake.hcl'), [
      'group "default" {',
      '  targets = ["alt", "inline"]',
      '}',
      'target "alt" {',
      `  context = "${gitUrl()}#v1:sub"`,
      '  dockerfile = "Dockerfile.alt"',
      `  output = ["type=local,dest=${o1}"]`,
      '}',
      'target "inline" {',
      `  context = "${gitUrl()}#v1"`,
      `  contexts = { lib = "${gitUrl()}#v1:sub", web = "${httpUrl}/bake-named.txt" }`,
      '  dockerfile-inline = "FROM scratch\\nCOPY main.txt /ctx/\\nCOPY --from=lib sub.txt /lib/\\nCOPY --from=web context /web.txt\\n"',
      `  output = ["type=local,dest=${o2}"]`,
      '}',
      '',
    ].join('\n'));
    const bake = (args: string[]): Promise<CliResult> => run(TSBUILD, ['bake', '--root', root, '--progress', 'plain', ...args], { cwd: proj });
    const printed = JSON.parse(ok(await bake(['--print'])).stdout) as { target: Record<string, { context?: string; contexts?: Record<string, string>; dockerfile?: string }> };
    expect(printed.target['alt']).to.deep.include({ context: `${gitUrl()}#v1:sub`, dockerfile: 'Dockerfile.alt' });
    expect(printed.target['inline']?.contexts).to.deep.equal({ lib: `${gitUrl()}#v1:sub`, web: `${httpUrl}/bake-named.txt` });
    // The outputs are outside the bake's directory: granted, as buildx bake needs it (fs entitlements).
    ok(await bake(['--allow', `fs.write=${o1}`, '--allow', `fs.write=${o2}`]));
    expect(await readFile(join(o1, 'alt', 'sub.txt'), 'utf8')).to.equal('sub v1\n');
    expect(await readFile(join(o2, 'ctx', 'main.txt'), 'utf8')).to.equal('main\n');
    expect(await readFile(join(o2, 'lib', 'sub.txt'), 'utf8')).to.equal('sub v1\n');
    expect(await readFile(join(o2, 'web.txt'), 'utf8')).to.equal('web\n');
    expect(await leftovers()).to.deep.equal([]);
  });

  it('takes a tar on stdin (gzip) as the context, and a Dockerfile on stdin as today', async () => {
    const tarball = gzipSync(await packTar([
      { name: 'Dockerfile', content: 'FROM scratch\nCOPY . /in/\n' },
      { name: 'dir/', type: 'directory', mode: 0o755 },
      { name: 'dir/a.txt', content: 'a\n' },
      { name: 'link', type: 'symlink', linkname: '/etc/passwd' },
    ], { mode: 0o644, mtime: new Date(0) }));
    const o = out();
    ok(await tsbuildStdin(['build', '--root', root, '--progress', 'plain', '-o', `type=local,dest=${o}`, '-'], tarball, dir));
    expect(await readFile(join(o, 'in', 'dir', 'a.txt'), 'utf8')).to.equal('a\n');
    expect((await stat(join(o, 'in'))).mode & 0o7777, 'COPY . /in/ from a tar context').to.equal(0o755);
    expect(await readlink(join(o, 'in', 'link'))).to.equal('/etc/passwd');
    const o2 = out();
    ok(await tsbuildStdin(['build', '--root', root, '--progress', 'plain', '-o', `type=local,dest=${o2}`, '-'], 'FROM scratch\nCOPY . /none/\n', dir));
    expect(await readdir(join(o2, 'none'))).to.deep.equal([]);
    const both = await tsbuildStdin(['build', '--root', root, '-f', '-', '-'], tarball, dir);
    expect(both.code).to.equal(2);
    expect(both.stderr).to.contain('stdin');
    expect(await leftovers()).to.deep.equal([]);
  });

  it('takes a tarball URL (xz) as the context; refuses a zip by name', async () => {
    const tar = await packTar([{ name: 'Dockerfile', content: 'FROM scratch\nCOPY x.txt /\n' }, { name: 'x.txt', content: 'x\n' }], { mode: 0o644, mtime: new Date(0) });
    const xz = await new Promise<Buffer>((resolve, reject) => {
      const p = spawn('xz', ['-c'], { stdio: ['pipe', 'pipe', 'ignore'] });
      const chunks: Buffer[] = [];
      p.stdout.on('data', (c: Buffer) => chunks.push(c));
      p.on('error', reject);
      p.on('close', () => resolve(Buffer.concat(chunks)));
      p.stdin.end(tar);
    });
    files['/ctx.tar.xz'] = xz;
    const o = out();
    ok(await build(['-o', `type=local,dest=${o}`, `${httpUrl}/ctx.tar.xz`]));
    expect(await readFile(join(o, 'x.txt'), 'utf8')).to.equal('x\n');
    files['/ctx.zip'] = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]);
    const zip = await build([`${httpUrl}/ctx.zip`]);
    expect(zip.code).to.equal(2);
    expect(zip.stderr).to.contain('zip archive');
  });

  describe('a hostile tar context', () => {
    let marker = '';
    let before: string[] = [];
    let passwd = '';
    const escapeName = `tsbuild-escape-${process.pid}`;
    beforeEach(async () => {
      marker = join(dir, `marker${++n}`);
      before = await makeHostMarker(marker);
      passwd = await readFile('/etc/passwd', 'utf8');
    });
    afterEach(async () => {
      expect(await snapshotTree(marker)).to.deep.equal(before);
      expect(await readFile('/etc/passwd', 'utf8')).to.equal(passwd);
      for (const p of [join(hostTmp, escapeName), join(privateTmp, escapeName), join('/', escapeName), join(marker, escapeName), join('/etc', escapeName)]) expect(await exists(p), p).to.equal(false);
      expect(await leftovers()).to.deep.equal([]);
    });
    const dockerfile: TarEntry = { name: 'Dockerfile', content: 'FROM scratch\nCOPY . /in/\n' };
    const buildTar = async (entries: TarEntry[]): Promise<{ r: CliResult; o: string }> => {
      const o = out();
      const r = await tsbuildStdin(['build', '--root', root, '--progress', 'plain', '-o', `type=local,dest=${o}`, '-'], await packTar([dockerfile, ...entries], { mode: 0o644, mtime: new Date(0) }), dir);
      return { r, o };
    };

    it('refuses ../ names by name', async () => {
      const { r } = await buildTar([{ name: `../../${escapeName}`, content: 'x' }]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain('points outside');
    });

    it('keeps an absolute name inside the context', async () => {
      const { r, o } = await buildTar([{ name: `/${escapeName}`, content: 'x' }]);
      ok(r);
      expect(await readFile(join(o, 'in', escapeName), 'utf8')).to.equal('x');
    });

    it('never writes through a symlink to a host directory: followed inside the context, or refused', async () => {
      // lnk -> <marker> then lnk/x: the link is resolved inside the context (chroot semantics), x lands in <ctx>/<marker>/x.
      const inside = await buildTar([{ name: 'lnk', type: 'symlink', linkname: marker }, { name: `lnk/${escapeName}`, content: 'x' }]);
      ok(inside.r);
      expect(await readlink(join(inside.o, 'in', 'lnk'))).to.equal(marker);
      expect(await readFile(join(inside.o, 'in', marker, escapeName), 'utf8')).to.equal('x');
      // etc -> /etc then etc/x: inside the context /etc is the link itself, a loop: refused.
      const loop = await buildTar([{ name: 'etc', type: 'symlink', linkname: '/etc' }, { name: `etc/${escapeName}`, content: 'x' }]);
      expect(loop.r.code).to.equal(2);
      expect(loop.r.stderr).to.contain(`etc/${escapeName}`);
    });

    it('refuses a hard link to a host file, and a device node by name', async () => {
      const hard = await buildTar([{ name: 'hl', type: 'link', linkname: '/etc/passwd' }]);
      expect(hard.r.code).to.equal(2);
      expect(hard.r.stderr).to.contain('"hl"');
      const hard2 = await buildTar([{ name: 'hl2', type: 'link', linkname: `../../../../../../${marker}/passwd` }]);
      expect(hard2.r.code).to.equal(2);
      const dev = await buildTar([{ name: 'mem', type: 'character-device', devmajor: 1, devminor: 1 }]);
      expect(dev.r.code).to.equal(2);
      expect(dev.r.stderr).to.contain('character-device');
    });
  });
});
