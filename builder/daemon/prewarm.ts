import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { prepareBuildProgram } from '../main.js';
import { dropIdleWriters, makeTempDir, removeDeadTempDirs } from '../../worker/index.js';

// What a warm process of `tsbuild daemon` does before its request arrives: the first-use costs every build pays that
// depend on nothing the request brings (bench/RESULTS.md, "The no-op through `tsbuild daemon`", measures each).
// Nothing here reads the user's files or opens a root of theirs.

/**
 * Loads undici's dispatchers and runs a small build twice in a private scratch root in the daemon's directory
 * `daemonDir` (none: no build); a failure only costs the request the time it would save.
 * TSBUILD_DAEMON_PREWARM_SKIP=http,build leaves either out (for measuring).
 */
export async function prewarm(run: (argv: string[]) => Promise<void>, daemonDir: string | undefined): Promise<void> {
  const skip = new Set((process.env['TSBUILD_DAEMON_PREWARM_SKIP'] ?? '').split(','));
  try {
    if (!skip.has('http')) await warmHttp();
    if (!skip.has('build') && daemonDir !== undefined) await warmBuild(run, daemonDir);
  } catch (err) {
    process.stderr.write(`tsbuild daemon: pre-warming stopped: ${String(err)}\n`);
  }
}

// The warm-up build: two stages, COPY from the context and from a stage, WORKDIR, ENV, LABEL, a .dockerignore; no
// RUN (scratch has no shell) and no registry (a request would leave its connection and feedback behind, below).
const WARM_DOCKERFILE = `FROM scratch AS files
COPY a.txt b/ /files/
FROM scratch
WORKDIR /app
COPY --from=files /files/ ./
COPY . /ctx/
ENV A=1
LABEL warm=1
`;

/**
 * Runs `tsbuild build --progress plain` on a scratch context into a scratch root, cold and then all cached, so the
 * code a build runs is compiled and has run once: the no-op build a warm process then serves spends ~20 ms less
 * (~65 -> ~44 ms end to end; bench/RESULTS.md, 2026-12-01). What a build leaves in the process was checked when this
 * was written: it reads the environment and the cwd when it needs them (no module keeps a value of either; adopt()
 * replaces both before the request runs), registers its SIGINT/SIGTERM handlers per run (put back here), and keeps one
 * thing, the xattr reader process of worker/layers/fs-attrs.ts, which a direct run starts on first use and keeps too.
 * Its output goes nowhere: stdout is /dev/null until the request's, and stderr (the daemon's log) is swapped for a sink.
 */
async function warmBuild(run: (argv: string[]) => Promise<void>, daemonDir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;   // served only as root (warm-child.ts); any other user's commands run directly
  // In the daemon's own directory (the socket's: private, server.ts checks it), never the host's $TMPDIR, shared with
  // other users; named warm-<pid>-… as a state root's temp dirs are (worker/temp-dirs.ts), so that the scratch root of
  // a warm process killed during its warm-up (the daemon stopping, the OOM killer), and a snapshot it left mounted
  // there, are taken down by the next warm process.
  await removeDeadTempDirs(daemonDir);
  const dir = await makeTempDir(daemonDir, 'warm');
  const handlers = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  const stderr = process.stderr;
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  try {
    const ctx = join(dir, 'context');
    await mkdir(join(ctx, 'b'), { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), WARM_DOCKERFILE);
    await writeFile(join(ctx, '.dockerignore'), 'ignored\n');
    await writeFile(join(ctx, 'a.txt'), 'a\n');
    await writeFile(join(ctx, 'b', 'c.txt'), 'c\n');
    Object.defineProperty(process, 'stderr', { value: sink, configurable: true, enumerable: true, writable: true });
    for (let i = 0; i < 2; i++) await run(['build', '--progress', 'plain', '--root', join(dir, 'root'), ctx]);
    if (process.exitCode !== undefined && process.exitCode !== 0) throw new Error(`the warm-up build exited ${process.exitCode}`);
  } finally {
    Object.defineProperty(process, 'stderr', { value: stderr, configurable: true, enumerable: true, writable: true });
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.removeAllListeners(sig);
      for (const handler of handlers[sig]) process.on(sig, handler as NodeJS.SignalsListener);
    }
    process.exitCode = undefined;
    // The served command's writers start under the client's limits and cgroup, which this process takes on next.
    dropIdleWriters();
    await rm(dir, { recursive: true, force: true });
    // main took the program prepared for `build` (a commander program parses once): the request gets a fresh one.
    await prepareBuildProgram();
  }
}

// undici's dispatcher classes (Agent → Pool → Client) and the request API, evaluated and set up without a request.
// Not a request to a loopback server, which would also compile llhttp's wasm: measured (bench/RESULTS.md, "The no-op
// through `tsbuild daemon`"), a warm process that had made one spent ~25 ms MORE CPU on the build it then ran (its
// stat-key hashing and context report ran markedly slower: JIT feedback from the warm-up request, as far as the
// profile shows) than one that had not, which pays llhttp's compile (~3 ms) at its tag check instead.
async function warmHttp(): Promise<void> {
  const { Agent } = await import('undici');
  await new Agent().close();
}
