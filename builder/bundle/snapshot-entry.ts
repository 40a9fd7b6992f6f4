import { readFileSync } from 'node:fs';
import { setFlagsFromString, startupSnapshot } from 'node:v8';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exitWithoutTeardown, leaveDatabasesToExitUnlessWarm, main, prepareBuildProgram } from '../main.js';
import { useBundleStacks } from '../stack-source-maps.js';

// The entry of the V8 startup snapshot (`make build` bundles it into ONE CommonJS file, dist/bundle/snap/tsbuild.cjs,
// and runs `node --build-snapshot` on it; builder/bundle/build-snapshot.mjs). Everything evaluated here, at build
// time, is in the blob's heap: a start from the blob skips loading, compiling and evaluating the modules below.
// bin/tsbuild starts `node --snapshot-blob dist/bundle/snap/tsbuild.blob -- ARGS` when the blob was made by the same
// node binary for the same dist/, else the ESM bundle (launch.ts), which stays the reference.
//
// What runs at build time must leave no handle open and must not load a builtin the snapshot cannot hold
// (node:sqlite, node:tls, node:http… abort the builder): build-snapshot.mjs hands every module those names as lazy
// stand-ins that load the builtin on first use (and answer the few reads undici's top levels make of them). No module top level may keep a value of process.env, argv, cwd or
// the user's ids: in the blob they would be the build's. (Checked 2026-11-30 by trapping those reads while the blob
// was built: the only ones are defaultRoot and defaultProgress, the defaults of the programs made here: main.ts sets
// them again from the running process's environment, builder/options/env-default.ts.)

/** Evaluates the modules a build command runs (each lazily imported by the CLI), so their top levels are in the heap. */
async function evaluateBuildPath(): Promise<void> {
  await import('commander');
  const { buildProgram } = await import('../cli.js');
  await import('../format-error.js');
  await import('../rootless.js');
  await import('../docker-cli-plugin.js');   // main.ts asks it about every command line (docker's plugin protocol)
  await import('../commands/build.js');
  await import('../build.js');
  await import('../progress/index.js');
  await import('../report/index.js');
  await import('../options/secrets.js');
  await import('../../frontend/index.js');
  // undici's dispatchers, request API, redirect interceptor and errors (builder/bundle/undici-lazy.ts loads each on
  // first use), which every build's check of its FROM tag needs: ~12 % of a no-op build's CPU when evaluated at run
  // time. They require node:assert, whose colour check reads FORCE_COLOR and stderr here, at build time: what it
  // decides only colours the diff of an AssertionError from inside undici.
  const undici = await import('undici');
  for (const cls of [undici.Agent, undici.EnvHttpProxyAgent, undici.ProxyAgent, undici.Client, undici.Pool]) void cls.prototype;
  void undici.interceptors.redirect;
  void undici.errors.UndiciError;
  // Every command's module (without `args` the program registers all of them).
  await buildProgram(new AbortController().signal);
  // push's work, which its command module loads only when it runs (push --help on the ESM path needs none of it).
  await import('../commands/push-action.js');
  // A warm process of `tsbuild daemon` runs these before its request (builder/daemon/warm-child.ts).
  await import('../daemon/warm-child.js');
  // The program `tsbuild build …` runs, kept (main.ts takes it and sets its environment-dependent defaults).
  await prepareBuildProgram();
  // The frontend's functions run once on a small Dockerfile, so their bytecode is in the blob's code cache too (what a
  // function compiled while the snapshot was built keeps; every other function is compiled on its first call).
  const { checkDockerfile, compile } = await import('../../frontend/index.js');
  checkDockerfile(WARM_DOCKERFILE);
  const platform = { os: 'linux', architecture: 'amd64' };
  await compile(WARM_DOCKERFILE, {
    platform, buildPlatform: platform,
    resolveImage: async (ref) => ({ ref, digest: `sha256:${'0'.repeat(64)}`, config: { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } } }),
  });
}

const WARM_DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE=example.invalid/base:1
FROM $BASE AS build
WORKDIR /work
COPY deps/ ./deps/
RUN --mount=type=cache,target=/cache mkdir -p /out && cat deps/*.txt > /out/deps.txt
ENV A=1 B="two words"
FROM $BASE
COPY --from=build --chown=1000:1000 /out/ /app/
RUN echo ok
LABEL org.opencontainers.image.title=warm
USER 1000
CMD ["cat", "/app/deps.txt"]
`;

/**
 * Compiles the bundle's functions a build was seen to compile (build-snapshot.mjs runs two builds and a push from a
 * first blob and names them by source position in TSBUILD_SNAPSHOT_PROFILE), so their bytecode is in this blob and a process
 * started from it does not parse and compile them again. About 1,200 functions, 0.8 MB more blob; the multi-stage no-op
 * build 105 -> 94 ms (farm-bench, 40 alternating pairs, bench/RESULTS.md 2026-12-01). The rest of the bundle stays
 * lazy: compiling all of it (--no-lazy) doubled the blob, and reading that cost more than it saved.
 * Only functions that exist as objects now can be found (every top-level function and method of the bundle); closures
 * a call creates are compiled at that call, as before.
 */
function compileProfiled(file: string): number {
  const positions = new Set(JSON.parse(readFileSync(file, 'utf8')) as number[]);
  // Every function object in the heap, through the inspector (V8 has no other way to list them), while nothing else
  // runs; the session is closed before the blob is written.
  const { Session } = process.getBuiltinModule('node:inspector') as typeof import('node:inspector');
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params: object): T => {
    let result: T | undefined;
    let failure: Error | null = null;
    session.post(method, params, (err, res) => { failure = err; result = res as T; });   // synchronous in-process
    if (failure !== null) throw failure;
    return result as T;
  };
  const all: ((...args: unknown[]) => unknown)[] = [];
  const g = globalThis as { __tsbuildFunctions?: typeof all };
  g.__tsbuildFunctions = all;
  try {
    for (const proto of ['Function.prototype', 'Object.getPrototypeOf(async function () {})', 'Object.getPrototypeOf(function* () {})', 'Object.getPrototypeOf(async function* () {})']) {
      const id = post<{ result: { objectId: string } }>('Runtime.evaluate', { expression: proto }).result.objectId;
      const found = post<{ objects: { objectId: string } }>('Runtime.queryObjects', { prototypeObjectId: id }).objects.objectId;
      post('Runtime.callFunctionOn', { objectId: found, functionDeclaration: 'function () { for (const f of this) globalThis.__tsbuildFunctions.push(f); }' });
    }
  } finally {
    session.disconnect();
    delete g.__tsbuildFunctions;
  }
  // V8's own test intrinsics (the position and script of a function, compile it now), readable only while
  // --allow-natives-syntax is on: on for the three functions made here, off again before anything else is parsed.
  setFlagsFromString('--allow-natives-syntax');
  let natives: { position(f: unknown): number; script(f: unknown): number; compile(f: unknown): void };
  try {
    natives = {
      position: new Function('f', 'return %FunctionGetScriptSourcePosition(f)') as (f: unknown) => number,
      script: new Function('f', 'return %FunctionGetScriptId(f)') as (f: unknown) => number,
      compile: new Function('f', '%EnsureFeedbackVectorForFunction(f)') as (f: unknown) => void,
    };
  } finally {
    setFlagsFromString('--no-allow-natives-syntax');
  }
  const ours = natives.script(compileProfiled);
  const found = all.filter((f) => natives.script(f) === ours && positions.has(natives.position(f)));
  for (const f of found) natives.compile(f);
  return found.length;
}

// Warming is an optimisation: a failure leaves a blob that evaluates the rest on first use, and says so at build time.
void evaluateBuildPath().then(() => {
  const profile = process.env['TSBUILD_SNAPSHOT_PROFILE'];
  if (profile !== undefined && profile !== '') process.stderr.write(`snapshot: ${compileProfiled(profile)} profiled functions compiled\n`);
}).catch((err: unknown) => { process.stderr.write(`snapshot: warming stopped: ${String(err)}\n`); });

startupSnapshot.setDeserializeMainFunction(() => {
  // `node --snapshot-blob BLOB -- ARGS`: process.argv is [node, ...ARGS]. The rest of the CLI (builder/rootless.ts
  // re-executes itself with execArgv + argv[1]) expects [node, script, ...ARGS]: give it the ESM entry as the script
  // and no --snapshot-blob, so a re-executed child starts from the ESM bundle, which needs nothing from this blob.
  const flag = process.execArgv.indexOf('--snapshot-blob');
  const blob = resolve(process.execArgv[flag + 1] ?? '');
  if (flag >= 0) process.execArgv.splice(flag, 2);
  const script = resolve(dirname(blob), '../cli/launch.js');
  const args = process.argv.slice(1);
  process.argv.splice(1, process.argv.length - 1, script, ...args);
  // import.meta.url of every bundled module (build-snapshot.mjs defines it as this global): worker/native-path.ts
  // finds the checkout from it. The bundle file sits beside the blob, two folders below dist/ as the ESM chunks do.
  (globalThis as { __tsbuildImportMetaUrl?: string }).__tsbuildImportMetaUrl = pathToFileURL(resolve(dirname(blob), 'tsbuild.cjs')).href;
  useBundleStacks(pathToFileURL(`${dirname(blob)}/`).href);
  leaveDatabasesToExitUnlessWarm();
  void main(args).then(exitWithoutTeardown);
});
