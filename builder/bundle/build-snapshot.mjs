// `make build`: the V8 startup snapshot of the CLI (builder/bundle/snapshot-entry.ts). Bundles the entry into one
// CommonJS file (dist/bundle/snap/tsbuild.cjs + .map), builds dist/bundle/snap/tsbuild.blob from it with the node
// that runs this script, and writes tsbuild.stamp (that node's path and version), which bin/tsbuild checks before
// it uses the blob. Never fails the build: on any error it removes the blob and says why; bin/tsbuild then runs the
// ESM bundle.
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import * as esbuild from 'esbuild';

const out = 'dist/bundle/snap';
const require = createRequire(import.meta.url);
const execFileAsync = promisify(execFile);

// Builtins that abort `node --build-snapshot` when loaded (each tried alone with Node 24.21: "not yet fully verified
// … in user snapshot builder scripts", then a trap): every module gets a stand-in whose exports are getters loading the real builtin
// on first use, at run time. Only property reads reach a stand-in: esbuild's CommonJS interop reads `mod.name` at each
// use. (Node also warns that node:module and node:child_process are "not yet fully verified" in a snapshot: tsbuild's
// top levels only take functions from them, which work; --no-warnings keeps make's output quiet.)
// node:crypto too, for another reason: randomUUID and randomInt draw from a pool of random bytes that node:crypto keeps
// in the JS heap. One call while the blob is built would put that pool in the blob, and every process started from it
// would draw the same "random" build ids, lease ids and snapshot keys. Its stand-in throws for those two at build time.
const LAZY_BUILTINS = /^(node:)?(sqlite|tls|http|https|http2|_http_client|_http_common|_http_outgoing|_http_server|_tls_common|_tls_wrap|crypto)$/;

// What undici's module top levels read from them while the blob is built, answered without loading the builtin: the
// class from node:_http_incoming (which a snapshot can hold; node:http re-exports that very class), http2's constants
// as this node has them (the blob only runs in this node), and a positive maxHeaderSize for undici's check that it
// exists (the function it keeps reads the real one at run time).
const BUILD_TIME_VALUES = {
  'node:http': {
    IncomingMessage: () => "process.getBuiltinModule('node:_http_incoming').IncomingMessage",
    maxHeaderSize: (real) => JSON.stringify(real.maxHeaderSize),
  },
  'node:http2': { constants: (real) => JSON.stringify(real.constants) },
  'node:crypto': {
    randomUUID: () => "(() => { throw new Error('crypto.randomUUID while the startup snapshot is built: its random pool would be in every process'); })()",
    randomInt: () => "(() => { throw new Error('crypto.randomInt while the startup snapshot is built: its random pool would be in every process'); })()",
  },
};

// What a stand-in answers at run time without loading its builtin. undici's Client asks node:http for maxHeaderSize
// (the --max-http-header-size option) every time it makes one, and loading node:http (with _http_* behind it) for
// that one number was ~4 ms of every build that checks a FROM tag. Without the option on the command line or in
// NODE_OPTIONS the number is node's default, the value this very node (the blob only runs in it) gives when the blob is
// built; with it, the real builtin answers as before.
const HEADER_SIZE_FLAG = '--max-http-header-size';
const hasHeaderSizeFlag = () => process.execArgv.some((a) => a.startsWith(HEADER_SIZE_FLAG)) || (process.env.NODE_OPTIONS ?? '').includes(HEADER_SIZE_FLAG);
const RUN_TIME_VALUES = {
  'node:http': {
    maxHeaderSize: (real) => hasHeaderSizeFlag() ? undefined
      : `(process.execArgv.some((a) => a.startsWith(${JSON.stringify(HEADER_SIZE_FLAG)})) || (process.env.NODE_OPTIONS ?? '').includes(${JSON.stringify(HEADER_SIZE_FLAG)}) ? load().maxHeaderSize : ${JSON.stringify(real.maxHeaderSize)})`,
  },
};

const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    // import('node:x') would stay an ESM dynamic import, which a script started from a snapshot cannot run
    // (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING): it becomes a bundled module holding the builtin.
    build.onResolve({ filter: /^node:/ }, (args) => (args.kind === 'dynamic-import' && !LAZY_BUILTINS.test(args.path) ? { path: args.path, namespace: 'dynamic-builtin' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'dynamic-builtin' }, (args) => ({ loader: 'js', contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});\n` }));
    build.onResolve({ filter: LAZY_BUILTINS }, (args) => ({ path: args.path.startsWith('node:') ? args.path : `node:${args.path}`, namespace: 'lazy-builtin' }));
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
      const real = require(args.path);
      const id = JSON.stringify(args.path);
      const atBuild = BUILD_TIME_VALUES[args.path] ?? {};
      const atRun = RUN_TIME_VALUES[args.path] ?? {};
      const runValue = (k) => (k in atRun ? atRun[k](real) : undefined) ?? `load()[${JSON.stringify(k)}]`;
      const getter = (k) => k in atBuild
        ? `  get ${JSON.stringify(k)}() { return building() ? ${atBuild[k](real)} : ${runValue(k)}; },`
        : `  get ${JSON.stringify(k)}() { return ${runValue(k)}; },`;
      return {
        loader: 'js',
        contents: `let real;\nconst load = () => (real ??= process.getBuiltinModule(${id}));\n` +
          `const building = () => process.getBuiltinModule('node:v8').startupSnapshot.isBuildingSnapshot();\n` +
          `module.exports = {\n${Object.keys(real).map(getter).join('\n')}\n};\n`,
      };
    });
  },
};

// Built under a temporary name and tried once (a blob node cannot read kills it with SIGSEGV or an assertion, before
// any of our code runs): only a blob that starts and prints the version gets its final name and a stamp.
// A hash seed of its own for every blob. bin/tsbuild starts it with --no-rehash-snapshot: V8 then keeps the seed the
// blob was built with instead of drawing one and rehashing every string and dictionary of the 11 MB heap (~5 ms of
// every start, bench/RESULTS.md 2026-12-01). A seed that is known lets input be crafted to collide in V8's hash
// tables (hash flooding), so it is drawn here, from the CSPRNG, never left to whatever the snapshot builder uses; it
// stays in this machine's dist/, which no Dockerfile, context or image can read.
function buildBlob(blob, env) {
  const hashSeed = (randomBytes(8).readBigUInt64LE() >> 1n) || 1n;   // 63 bits: V8 refuses 2^64-1 itself
  execFileSync(process.execPath, ['--no-warnings', `--hash-seed=${hashSeed}`, '--snapshot-blob', blob, '--build-snapshot', `${out}/tsbuild.cjs`], { stdio: ['ignore', 'inherit', 'inherit'], env });
  checkBlob(blob);
}

/** Throws unless node starts from `blob` and prints the version. */
function checkBlob(blob) {
  const expected = JSON.parse(readFileSync('package.json', 'utf8')).version;
  const printed = execFileSync(process.execPath, ['--snapshot-blob', blob, '--no-rehash-snapshot', '--', '--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  if (printed !== expected) throw new Error(`the blob printed ${JSON.stringify(printed)} for --version, not ${expected}`);
}

// What the profile builds: a context and a Dockerfile with the instructions a build without RUN has (the base image
// has no shell), built cold and then again with every step cached, as a CI rebuild or a developer's second build is,
// then pushed. Its base comes from a registry (profileRegistry), so the profile has the tag check every such build
// makes.
const PROFILE_DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE
ARG DIR=/files
FROM $BASE AS files
ARG DIR
COPY a.txt b/ \${DIR}/
FROM $BASE
WORKDIR /app
COPY --from=files /files/ ./
COPY --chown=1000:1000 . /ctx/
ENV A=1 B="two words"
LABEL org.opencontainers.image.title=profile
EXPOSE 8080
USER 1000
CMD ["/app/a.txt"]
`;

/**
 * A registry on 127.0.0.1 for the profile: it holds one image without layers (`profile:1`), the profile builds' base,
 * and takes pushes (monolithic or chunked uploads, manifests by tag), so a tag check, a config read and a push run
 * the registry client code they run against any registry. In memory, on loopback, for the seconds the profile takes.
 */
async function profileRegistry() {
  const digest = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const arch = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' }[process.arch] ?? process.arch;
  const config = Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } }));
  const manifestType = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: manifestType,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length }, layers: [],
  }));
  // path → [bytes, content type]
  const held = new Map([
    ['/v2/', [Buffer.from('{}'), 'application/json']],
    ['/v2/profile/manifests/1', [manifest, manifestType]],
    [`/v2/profile/manifests/${digest(manifest)}`, [manifest, manifestType]],
    [`/v2/profile/blobs/${digest(config)}`, [config, 'application/octet-stream']],
  ]);
  const uploads = new Map();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://registry');
    const upload = /^\/v2\/(.+)\/blobs\/uploads\/(\d*)$/.exec(url.pathname);
    const manifestPath = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if ((req.method === 'GET' || req.method === 'HEAD') && held.has(url.pathname)) {
        const [bytes, type] = held.get(url.pathname);
        res.writeHead(200, { 'content-type': type, 'content-length': bytes.length, 'docker-content-digest': digest(bytes) });
        res.end(req.method === 'HEAD' ? undefined : bytes);
      } else if (upload !== null && req.method === 'POST') {
        const id = String(uploads.size + 1);
        uploads.set(id, []);
        res.writeHead(202, { location: `/v2/${upload[1]}/blobs/uploads/${id}`, range: '0-0', 'docker-upload-uuid': id }).end();
      } else if (upload !== null && uploads.has(upload[2]) && (req.method === 'PATCH' || req.method === 'PUT')) {
        const parts = uploads.get(upload[2]);
        parts.push(body);
        const size = parts.reduce((n, b) => n + b.length, 0);
        if (req.method === 'PATCH') {
          res.writeHead(202, { location: url.pathname, range: `0-${Math.max(size - 1, 0)}`, 'docker-upload-uuid': upload[2] }).end();
          return;
        }
        const bytes = Buffer.concat(parts);
        const d = digest(bytes);
        if (d !== url.searchParams.get('digest')) { res.writeHead(400).end(); return; }
        held.set(`/v2/${upload[1]}/blobs/${d}`, [bytes, 'application/octet-stream']);
        res.writeHead(201, { location: `/v2/${upload[1]}/blobs/${d}`, 'docker-content-digest': d }).end();
      } else if (manifestPath !== null && req.method === 'PUT') {
        const type = req.headers['content-type'] ?? manifestType;
        held.set(url.pathname, [body, type]);
        held.set(`/v2/${manifestPath[1]}/manifests/${digest(body)}`, [body, type]);
        res.writeHead(201, { location: url.pathname, 'docker-content-digest': digest(body) }).end();
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NOT_FOUND","message":"not here"}]}');
      }
    });
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${server.address().port}`;
  return { host, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }) };
}

/**
 * The start positions of the bundle's functions that two builds and a push from `blob` compiled (V8's function log). Throws
 * when they cannot run here (as another user than root, for one); `make build` then keeps the blob without them.
 */
async function profileBuilds(blob) {
  if (process.getuid?.() !== 0) throw new Error('profile builds run as root only');
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-snapshot-profile-'));
  const registry = await profileRegistry();
  try {
    const ctx = join(dir, 'context');
    mkdirSync(join(ctx, 'b'), { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), PROFILE_DOCKERFILE);
    writeFileSync(join(ctx, '.dockerignore'), 'ignored\n');
    writeFileSync(join(ctx, 'a.txt'), 'a\n');
    writeFileSync(join(ctx, 'b', 'c.txt'), 'c\n');
    const positions = new Set();
    const root = ['--root', join(dir, 'root'), '--progress', 'plain'];
    const build = ['build', ...root, '--build-arg', `BASE=${registry.host}/profile:1`, '-t', `${registry.host}/profile-out:1`, ctx];
    const runs = { cold: build, cached: build, push: ['push', ...root, `${registry.host}/profile-out:1`] };
    for (const [run, args] of Object.entries(runs)) {
      const log = join(dir, `${run}.log`);
      // Asynchronously: the registry answers from this process.
      await execFileAsync(process.execPath, ['--snapshot-blob', blob, '--no-rehash-snapshot', '--log-function-events', `--logfile=${log}`, '--no-logfile-per-isolate',
        '--', ...args], { env: { ...process.env, TSBUILD_DAEMON: '0' }, timeout: 120_000 });   // a stuck profile must not hold up make
      // script-details,ID,NAME,... names each script; function,interpreter,SCRIPT,START,END,... is a function compiled
      // to bytecode (the bundle's functions are compiled lazily, on their first call).
      const lines = readFileSync(log, 'utf8').split('\n').map((l) => l.split(','));
      const bundle = new Set(lines.filter((f) => f[0] === 'script-details' && f[2]?.endsWith('/tsbuild.cjs')).map((f) => f[1]));
      for (const f of lines) if (f[0] === 'function' && f[1] === 'interpreter' && bundle.has(f[2])) positions.add(Number(f[3]));
    }
    if (positions.size === 0) throw new Error('the profile builds compiled none of the bundle\'s functions');
    return [...positions];
  } finally {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Drops from the blob the code cache of the builtins its heap already holds (builder/bundle/snapshot-blob.ts, compiled
// by tsc before this script runs): ~2.7 MB of a 12 MB blob that every start read and copied for nothing. A blob whose
// layout the reader does not know, or a trimmed blob that does not start, stays as node wrote it.
async function trimCodeCache(blob) {
  const trimmed = `${blob}.trimmed`;
  try {
    const { withoutLoadedBuiltinsCodeCache } = await import('../../dist/builder/bundle/snapshot-blob.js');
    writeFileSync(trimmed, withoutLoadedBuiltinsCodeCache(readFileSync(blob)).blob);
    checkBlob(trimmed);
    renameSync(trimmed, blob);
  } catch (err) {
    rmSync(trimmed, { force: true });
    process.stderr.write(`snapshot: the code cache of node's builtins kept whole (${firstLine(err)})\n`);
  }
}

/** The first line of an error's message: what make's output says of a failure (execFileSync's carry the whole stderr). */
function firstLine(err) {
  return err instanceof Error ? err.message.split('\n')[0] : String(err);
}

function fail(why) {
  for (const f of ['tsbuild.blob', 'tsbuild.blob.tmp', 'tsbuild.blob.tmp.trimmed', 'tsbuild.blob.profiled']) rmSync(`${out}/${f}`, { force: true });
  rmSync(`${out}/tsbuild.stamp`, { force: true });
  process.stderr.write(`snapshot: not built (${why}); bin/tsbuild runs the ESM bundle\n`);
  process.exit(0);
}

try {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // The stand-ins and the dynamic imports below need it (Node >= 22.3); an older node keeps the ESM bundle.
  if (typeof process.getBuiltinModule !== 'function') throw new Error(`node ${process.version} has no process.getBuiltinModule`);
  // Whitespace and syntax minified (not identifiers: a frame read without its map still names things): a 10 MB blob
  // instead of 13, ~5 ms less to map at every start and ~6 MiB less peak RSS. The source map keeps traces in TypeScript.
  await esbuild.build({
    entryPoints: ['builder/bundle/snapshot-entry.ts'],
    outfile: `${out}/tsbuild.cjs`,
    bundle: true, format: 'cjs', platform: 'node', target: 'node22',
    alias: { undici: './builder/bundle/undici-lazy.ts', re2js: './builder/bundle/re2js-lazy.ts' },
    define: { 'globalThis.Headers': 'undefined', 'import.meta.url': 'globalThis.__tsbuildImportMetaUrl' },
    keepNames: true, minifyWhitespace: true, minifySyntax: true, sourcemap: true, sourcesContent: false, logLevel: 'warning',
    plugins: [lazyBuiltins],
  });
  const first = `${out}/tsbuild.blob.tmp`;
  buildBlob(first, process.env);
  // The second blob also holds the bytecode of the functions two builds and a push from the first one compiled (profileBuilds);
  // without a profile, or if that blob fails, the first one is used: it only compiles those functions when called.
  let profiled;
  try {
    profiled = await profileBuilds(first);
  } catch (err) {
    process.stderr.write(`snapshot: no profile (${firstLine(err)}); the blob compiles each function on first use\n`);
  }
  if (profiled !== undefined) {
    const positions = `${out}/profile.json`;
    writeFileSync(positions, JSON.stringify(profiled));
    try {
      buildBlob(`${out}/tsbuild.blob.profiled`, { ...process.env, TSBUILD_SNAPSHOT_PROFILE: positions });
      renameSync(`${out}/tsbuild.blob.profiled`, first);
    } catch (err) {
      rmSync(`${out}/tsbuild.blob.profiled`, { force: true });
      process.stderr.write(`snapshot: the profiled blob failed (${firstLine(err)}); using the one without\n`);
    } finally {
      rmSync(positions, { force: true });
    }
  }
  await trimCodeCache(first);
  renameSync(`${out}/tsbuild.blob.tmp`, `${out}/tsbuild.blob`);
  // bin/tsbuild reads the first word (the node that built the blob; a blob only loads in that exact binary) and
  // uses the blob only when it is that node (-ef) and the stamp is newer than both the node and the ESM bundle.
  writeFileSync(`${out}/tsbuild.stamp`, `${process.execPath} ${process.version}\n`);
} catch (err) {
  fail(firstLine(err));
}
