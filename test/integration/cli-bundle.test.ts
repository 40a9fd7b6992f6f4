import { expect } from 'chai';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBlobLayout } from '../../builder/bundle/snapshot-blob.js';
import { PROJECT_ROOT, run, tsbuild } from '../fixtures/tsbuild-cli.js';

// bin/tsbuild runs the esbuild bundle (dist/bundle/cli/launch.js), which every CLI test exercises; these check what
// only the bundle's launcher does.
describe('the bundled tsbuild command', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-bundle-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  // The launcher's own path: a bare --version runs a script of its own (builder/version-cli.ts), and a valid startup
  // snapshot is started instead of the launcher (TSBUILD_SNAPSHOT=0 turns it off).
  const viaLauncher = (cache: string): { env: NodeJS.ProcessEnv } => ({ env: { XDG_CACHE_HOME: cache, TSBUILD_SNAPSHOT: '0' } });

  it('keeps its compile cache in a directory private to the user', async () => {
    const cache = join(dir, 'xdg-cache');
    const res = await tsbuild(['--help'], viaLauncher(cache));
    expect(res.code, res.stderr).to.equal(0);
    const cacheDir = join(cache, 'tsbuild', 'compile-cache');
    expect((await stat(cacheDir)).mode & 0o777).to.equal(0o700);
    expect(await readdir(cacheDir)).to.not.deep.equal([]);
  });

  it('runs without a cache, writing nothing, when the cache directory is readable by others', async () => {
    const cache = join(dir, 'shared-cache');
    const cacheDir = join(cache, 'tsbuild', 'compile-cache');
    await mkdir(cacheDir, { recursive: true, mode: 0o755 });
    await chmod(cacheDir, 0o755);
    const res = await tsbuild(['--help'], viaLauncher(cache));
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.match(/^Usage: tsbuild/m);
    expect(await readdir(cacheDir)).to.deep.equal([]);
  });

  it('runs without a cache when the cache location cannot be made (/proc)', async () => {
    const res = await tsbuild(['--help'], viaLauncher('/proc/self'));
    expect(res.code, res.stderr).to.equal(0);
  });

  it('answers a bare --version (and -v) with the version alone, as main() does, without the launcher', async () => {
    const cache = join(dir, 'version-cache');
    const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const res = await tsbuild([flag], { env: { XDG_CACHE_HOME: cache } });
      expect(res.code, res.stderr).to.equal(0);
      expect(res.stdout).to.equal(`${pkg.version}\n`);
      expect(res.stderr).to.equal('');
    }
    // The launcher was never run: it makes its compile cache before anything else.
    await stat(cache).then(() => expect.fail('the launcher ran for --version'), (err: NodeJS.ErrnoException) => expect(err.code).to.equal('ENOENT'));
    // With more on the command line commander answers, as before.
    const more = await tsbuild(['--version', '--debug'], viaLauncher(cache));
    expect(more.stdout.trim()).to.equal(pkg.version);
  });

  it('runs bake\'s regex functions on re2js from the bundle and from the snapshot, which load it through a stand-in', async () => {
    // The bundles alias re2js to builder/bundle/re2js-lazy.ts (the unbundled dist/ that unit tests run never does):
    // RE2JS.compile must reach the real class, and a refused pattern must still be recognised as re2js's error.
    const project = join(dir, 'bake-regex');
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'docker-bake.hcl'), 'target "default" {\n  tags = [regex_replace("v1.2.3", "^v(\\\\d+)", "$${1}x"), jsonencode(regexall("(a)|(b)", "ab")), try(regex("(a)\\\\1", "aa"), "refused")]\n}\n');
    await writeFile(join(project, 'bad.hcl'), 'target "default" {\n  tags = [regex("a(?=b)", "ab")]\n}\n');
    for (const env of [{ TSBUILD_SNAPSHOT: '0' }, {}]) {
      const ok = await tsbuild(['bake', '--print'], { cwd: project, env });
      expect(ok.code, ok.stderr).to.equal(0);
      expect((JSON.parse(ok.stdout) as { target: { default: { tags: string[] } } }).target.default.tags).to.deep.equal(['1x.2.3', '[["a",null],[null,"b"]]', 'refused']);
      const bad = await tsbuild(['bake', '--print', '-f', 'bad.hcl'], { cwd: project, env });
      expect(bad.code, bad.stderr).to.equal(1);
      expect(bad.stderr).to.contain('bad.hcl:2,11-17: Error in function call; Call to function "regex" failed: Invalid regular expression "a(?=b)": invalid or unsupported Perl syntax: `(?=`.');
    }
  });
});

// bin/tsbuild starts the V8 startup snapshot (dist/bundle/snap, builder/bundle/snapshot-entry.ts) only when its stamp
// names the very node it runs and is newer than that node and the ESM entry. Each case runs a copy of bin/tsbuild in a
// scratch checkout whose parts are chosen so that only one of the two ways can succeed.
describe('the startup snapshot of the tsbuild command', () => {
  const realSnap = join(PROJECT_ROOT, 'dist/bundle/snap');
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-snap-'));
    await mkdir(join(dir, 'bin'));
    await copyFile(join(PROJECT_ROOT, 'bin/tsbuild'), join(dir, 'bin/tsbuild'));
    await chmod(join(dir, 'bin/tsbuild'), 0o755);
    await symlink(join(PROJECT_ROOT, 'tools'), join(dir, 'tools'));
    await mkdir(join(dir, 'dist/bundle/snap'), { recursive: true });
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  /** The scratch checkout's ESM entry: the real bundle, or one that fails if it is ever run. */
  async function esmEntry(kind: 'real' | 'failing'): Promise<void> {
    if (kind === 'real') await symlink(join(PROJECT_ROOT, 'dist/bundle/cli'), join(dir, 'dist/bundle/cli'));
    else {
      await mkdir(join(dir, 'dist/bundle/cli'));
      await writeFile(join(dir, 'dist/bundle/cli/launch.js'), 'process.stderr.write("the ESM bundle ran\\n"); process.exit(99);\n');
      // Older than any stamp written below: the file system's clock ticks coarser than these writes follow each other.
      await utimes(join(dir, 'dist/bundle/cli/launch.js'), 1000, 1000);
    }
  }
  /** A blob that aborts node if it is ever loaded. */
  const garbageBlob = (): Promise<void> => writeFile(join(dir, 'dist/bundle/snap/tsbuild.blob'), 'not a snapshot');
  const stamp = (text: string): Promise<void> => writeFile(join(dir, 'dist/bundle/snap/tsbuild.stamp'), text);

  it('runs a command from the blob make build made for this node', async () => {
    let realStamp: string;
    try {
      realStamp = await readFile(join(realSnap, 'tsbuild.stamp'), 'utf8');
    } catch {
      throw new Error('make build made no startup snapshot (dist/bundle/snap/tsbuild.stamp is missing): see its output');
    }
    await esmEntry('failing');
    await symlink(join(realSnap, 'tsbuild.blob'), join(dir, 'dist/bundle/snap/tsbuild.blob'));
    await stamp(realStamp);
    const res = await run(join(dir, 'bin/tsbuild'), ['build', '--help']);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.include('Usage: tsbuild build');
    // The same command through the ESM bundle prints the same help.
    const esm = await tsbuild(['build', '--help'], { env: { TSBUILD_SNAPSHOT: '0' } });
    expect(res.stdout).to.equal(esm.stdout);
  });

  it('holds the code cache only of the builtins its heap did not load (make build trimmed it)', async () => {
    const layout = readBlobLayout(await readFile(join(realSnap, 'tsbuild.blob')));
    const inHeap = new Set(layout.builtinsInHeap);
    expect(inHeap.has('fs') && inHeap.has('zlib'), 'the build path loads node:fs and node:zlib at build time').to.equal(true);
    expect(layout.codeCache.filter((e) => inHeap.has(e.id)).map((e) => e.id)).to.deep.equal([]);
    // node:sqlite, node:tls and node:http load behind lazy stand-ins, in the running process: their caches stay.
    expect(layout.codeCache.map((e) => e.id)).to.include.members(['sqlite', 'tls', 'http']);
  });

  it('gives each process started from the blob its own random ids (no random pool was kept in the blob)', async () => {
    // The project's own bin/tsbuild, which starts from the blob when make build made it (the case above proves it runs).
    await readFile(join(realSnap, 'tsbuild.stamp'), 'utf8');
    const ctx = join(dir, 'ctx');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY f /f\n');
    await writeFile(join(ctx, 'f'), 'f');
    const root = join(dir, 'root');
    for (let i = 0; i < 2; i++) {
      const built = await tsbuild(['build', '--root', root, '--progress', 'plain', '--no-cache', ctx]);
      expect(built.code, built.stderr).to.equal(0);
    }
    const listed = await tsbuild(['--root', root, 'history', '--json']);
    expect(listed.code, listed.stderr).to.equal(0);
    const ids = (JSON.parse(listed.stdout) as { id: string }[]).map((b) => b.id);
    expect(ids).to.have.length(2);
    expect(ids[0]).to.not.equal(ids[1]);
  });

  it('gives the build program kept in the blob this process\'s environment defaults ($TSBUILD_ROOT, $BUILDKIT_PROGRESS)', async () => {
    // Only the blob can run here (the ESM entry fails), and the blob's build program was made while it was built:
    // its defaults must come from each process's environment, never from the one that built the blob.
    await esmEntry('failing');
    await symlink(join(realSnap, 'tsbuild.blob'), join(dir, 'dist/bundle/snap/tsbuild.blob'));
    await stamp(await readFile(join(realSnap, 'tsbuild.stamp'), 'utf8'));
    await symlink(join(PROJECT_ROOT, 'worker'), join(dir, 'worker'));   // the native helpers, found from the blob's path
    const ctx = join(dir, 'ctx');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY f /f\n');
    await writeFile(join(ctx, 'f'), 'f');
    for (const [name, progress, looksLike] of [['root-a', 'rawjson', '{"vertexes"'], ['root-b', 'plain', '#1 ']] as const) {
      const env = { TSBUILD_ROOT: join(dir, name), BUILDKIT_PROGRESS: progress };
      const help = await run(join(dir, 'bin/tsbuild'), ['build', '--help'], { env });
      expect(help.code, help.stderr).to.equal(0);
      expect(help.stdout).to.include(`(default: "${join(dir, name)}")`).and.include(`default: "${progress}")`);
      const built = await run(join(dir, 'bin/tsbuild'), ['build', ctx], { env });
      expect(built.code, built.stderr).to.equal(0);
      expect(built.stdout + built.stderr).to.include(looksLike);
      expect((await stat(join(dir, name, 'cache.db'))).isFile()).to.equal(true);
    }
  });

  it('holds the bytecode of what a build runs, so a build from it compiles few of the bundle\'s functions', async () => {
    // make build profiled two builds and compiled what they compiled into the blob (build-snapshot.mjs). V8's function
    // log of a build from the blob says which of the bundle's functions ran for the first time and which of them it
    // had to compile first. Measured on this context: without the profile 783 compiled for 453 that ran (cold) and 589
    // for 344 (cached): each function that runs, and the closures it makes; with it 224 for 422 and 168 for 315: only
    // the closures, which no profile can reach before they exist.
    const ctx = join(dir, 'context');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY a.txt /a.txt\nENV A=1\nLABEL x=y\n');
    await writeFile(join(ctx, 'a.txt'), 'a\n');
    const node = (await readFile(join(realSnap, 'tsbuild.stamp'), 'utf8')).split(' ')[0] ?? '';
    const counts = async (log: string): Promise<{ compiled: number; ran: number }> => {
      const lines = (await readFile(log, 'utf8')).split('\n').map((l) => l.split(','));
      const bundle = new Set(lines.filter((f) => f[0] === 'script-details' && f[2]?.endsWith('/tsbuild.cjs')).map((f) => f[1]));
      const of = (event: string): number => lines.filter((f) => f[0] === 'function' && f[1] === event && bundle.has(f[2])).length;
      return { compiled: of('interpreter'), ran: of('first-execution') };
    };
    for (const pass of ['cold', 'cached']) {
      const log = join(dir, `${pass}.log`);
      const res = await run(node, ['--snapshot-blob', join(realSnap, 'tsbuild.blob'), '--no-rehash-snapshot', '--log-function-events', `--logfile=${log}`,
        '--no-logfile-per-isolate', '--', 'build', '--progress', 'plain', '--root', join(dir, 'root'), ctx], { env: { TSBUILD_DAEMON: '0' } });
      expect(res.code, res.stderr).to.equal(0);
      const { compiled, ran } = await counts(log);
      expect(ran, `${pass}: functions of the bundle that ran`).to.be.greaterThan(300);
      expect(compiled, `${pass}: ${compiled} of the ${ran} functions that ran first were compiled`).to.be.lessThan(ran * 0.8);
    }
  });

  it('runs the ESM bundle when the stamp names another node, is older than the node, is missing, or TSBUILD_SNAPSHOT=0', async () => {
    await esmEntry('real');
    await garbageBlob();
    const node = join(PROJECT_ROOT, 'tools/node/node_modules/node/bin/node');
    const cases: [string, () => Promise<void>, NodeJS.ProcessEnv][] = [
      ['another node', () => stamp('/bin/sh v0\n'), {}],
      ['older than the node', async () => { await stamp(`${node} v0\n`); await utimes(join(dir, 'dist/bundle/snap/tsbuild.stamp'), 1, 1); }, {}],
      ['missing', () => rm(join(dir, 'dist/bundle/snap/tsbuild.stamp'), { force: true }), {}],
      ['TSBUILD_SNAPSHOT=0', () => stamp(`${node} v0\n`), { TSBUILD_SNAPSHOT: '0' }],
    ];
    for (const [name, prepare, env] of cases) {
      await prepare();
      const res = await run(join(dir, 'bin/tsbuild'), ['build', '--help'], { env });
      expect(res.code, `${name}: ${res.stderr}`).to.equal(0);
      expect(res.stdout, name).to.include('Usage: tsbuild build');
    }
  });
});
