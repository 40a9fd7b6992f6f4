import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { snapshotTree } from '../fixtures/host-marker.js';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { anonymous, canonicalJson, MediaType, parseReference, RegistryClient, sha256, type Descriptor, type ImageManifest } from '../../registry/index.js';
import { busyboxConfig, busyboxLayer } from '../fixtures/busybox-image.js';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { packTar, type TarEntry } from '../fixtures/pack-tar.js';
import type { RunMount } from '../../frontend/index.js';
import { resetCacheMounts, runExec } from '../../worker/exec/index.js';
import { ExecFixture, RecordingProgress, shell } from './worker-exec-rootfs.js';
import { run, TSBUILD, type CliResult } from '../fixtures/tsbuild-cli.js';

// Builds as an attacker writes them, each aimed at one place where tsbuild (root on the host) acts on what the build
// controls. Each case runs the real CLI against a real registry and checks the host, or the sandbox the host relies
// on, is as it was.

/** Pushes `<host>/<repo>:latest`: the busybox layer, then `entries` as a layer of their own. */
async function publishLayer(host: string, repo: string, entries: TarEntry[]): Promise<void> {
  const client = new RegistryClient({ credentials: anonymous });
  try {
    const target = parseReference(`${host}/${repo}:latest`);
    const base = await busyboxLayer();
    await client.pushBlob(target, base.descriptor, async () => base.open());
    const tar = await packTar(entries, { mode: 0o644, mtime: new Date(0) });
    const layer: Descriptor = { mediaType: MediaType.ociLayerTar, digest: sha256(tar), size: tar.length };
    await client.pushBlob(target, layer, async () => Readable.from([tar]));
    const config = busyboxConfig(base.diffId, { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' });
    config.rootfs.diff_ids.push(layer.digest);
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDesc: Descriptor = { mediaType: MediaType.ociConfig, digest: sha256(configBytes), size: configBytes.length };
    await client.pushBlob(target, configDesc, async () => Readable.from([configBytes]));
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: [base.descriptor, layer] };
    await client.putManifest(target, MediaType.ociManifest, new TextEncoder().encode(canonicalJson(manifest)));
  } finally {
    await client.close();
  }
}

describe('hostile builds (red team)', function () {
  this.timeout(180_000);
  let env: BuildEnv | undefined;
  let n = 0;

  before(async () => { env = await startBuildEnv('tsbuild-redteam-'); });
  after(async () => { await env?.stop(); });

  /**
   * `bin/tsbuild build` of `dockerfile` (BASE: the busybox image) in a context of its own (plus `files`), on the
   * suite's root unless `root` names another, killed after `seconds` (a hang ends in 124).
   */
  async function build(dockerfile: string, extra: string[] = [], files: Record<string, string> = {}, opts: { root?: string; seconds?: number } = {}): Promise<CliResult & { ctx: string }> {
    if (env === undefined) throw new Error('the registry did not start');
    const ctx = join(env.dir, `ctx${n++}`);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile.replaceAll('BASE', env.base));
    for (const [name, content] of Object.entries(files)) await writeFile(join(ctx, name), content);
    const root = opts.root ?? join(env.dir, 'root');
    const r = await run('timeout', ['-k', '5', String(opts.seconds ?? 120), TSBUILD, 'build', '--root', root, '--progress', 'plain', ...extra, ctx], { env: { TSBUILD_DAEMON: '0' } });
    return { ...r, ctx };
  }

  it('masks /proc files with its own /dev/null, not with what a RUN mount over /dev put there (a link to a /proc/sys file made it writable)', async () => {
    if (env === undefined) throw new Error('the registry did not start');
    // runc's CVE-2025-31133: the masked /proc files were bind mounts of the path /dev/null, taken after the step's
    // own mounts. A bind or cache mount on /dev whose `null` is a link to a /proc/sys file made /proc/interrupts that
    // file, read-write: with kernel.core_pattern there, a way to run a program as root on the host. domainname (in
    // the step's own UTS namespace) stands in for it here.
    const probe = 'for f in /proc/interrupts /proc/keys /proc/timer_list /proc/kcore /proc/latency_stats /proc/timer_stats /proc/sched_debug; do [ -f $f ] && echo pwned > $f; done 2>/err; '
      + 'cat /proc/sys/kernel/domainname > /domainname; cat /proc/interrupts /proc/keys > /masked';
    const out = join(env.dir, 'out-devnull');
    const r = await build([
      'FROM BASE AS evil',
      'RUN mkdir /d && ln -s /proc/sys/kernel/domainname /d/null',
      'FROM BASE',
      `RUN --mount=type=bind,from=evil,source=/d,target=/dev ${probe}`,
      'RUN --mount=type=cache,id=redteam-dev,target=/c ln -sf /proc/sys/kernel/domainname /c/null',
      `RUN --mount=type=cache,id=redteam-dev,target=/dev ${probe.replaceAll('/domainname', '/domainname2').replaceAll('/masked', '/masked2')}`,
    ].join('\n'), ['-o', `type=local,dest=${out}`]);
    expect(r.code, r.stderr).to.equal(0);
    for (const [domainname, masked] of [['domainname', 'masked'], ['domainname2', 'masked2']] as const) {
      expect(await readFile(join(out, domainname), 'utf8')).to.not.contain('pwned');
      expect(await readFile(join(out, masked), 'utf8')).to.equal('');
    }
  });

  it('refuses a FIFO or a link to /dev/zero in an OCI layout, a local cache or a named context\'s .dockerignore by name, at once (it waited for ever, deaf to SIGTERM, or read 11 GB)', async () => {
    if (env === undefined) throw new Error('the registry did not start');
    const layout = join(env.dir, 'layout');
    const made = await build('FROM BASE\nRUN echo hi > /hi\n', ['--provenance=false', '-o', `type=oci,tar=false,dest=${layout}`]);
    expect(made.code, made.stderr).to.equal(0);
    const blob = (digest: string): string => `blobs/sha256/${digest.slice('sha256:'.length)}`;
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifestPath = blob(index.manifests[0]?.digest ?? '');
    const manifest = JSON.parse(await readFile(join(layout, manifestPath), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    const planted = async (name: string, file: string, kind: 'fifo' | 'zero'): Promise<string> => {
      const dir = join(env?.dir ?? '', `layout-${name}`);
      execFileSync('cp', ['-a', layout, dir]);
      await rm(join(dir, file));
      if (kind === 'fifo') execFileSync('mkfifo', [join(dir, file)]);
      else await symlink('/dev/zero', join(dir, file));
      return dir;
    };
    // FIFOs first: before the fix each hung until the timeout, so the links to /dev/zero (11 GB) never ran.
    const cases = [
      ['index', 'index.json', 'fifo'], ['manifest', manifestPath, 'fifo'], ['config', blob(manifest.config.digest), 'fifo'],
      ['layer', blob(manifest.layers.at(-1)?.digest ?? ''), 'fifo'],
      ['index-zero', 'index.json', 'zero'], ['manifest-zero', manifestPath, 'zero'], ['layer-zero', blob(manifest.layers.at(-1)?.digest ?? ''), 'zero'],
    ] as const;
    for (const [name, file, kind] of cases) {
      const dir = await planted(name, file, kind);
      // A root of its own: a store that has the blob already would never read it from the layout.
      const r = await build('FROM base\nRUN true\n', ['--build-context', `base=oci-layout://${dir}`], {}, { root: join(env.dir, `root-${name}`), seconds: 30 });
      expect(r.code, `${name}: ${r.stderr}`).to.equal(1);
      expect(r.stderr, name).to.contain(`${join(dir, file)} in the OCI layout is ${kind === 'fifo' ? 'a FIFO' : 'a device'}, not a regular file`);
      expect(r.stderr, name).to.not.match(/internal error|\n\s+at /);
    }
    const cache = await planted('cache', 'index.json', 'fifo');
    const fromCache = await build('FROM BASE\nRUN true\n', ['--cache-from', `type=local,src=${cache}`], {}, { seconds: 30 });
    expect(fromCache.stderr).to.contain(`${join(cache, 'index.json')} in the OCI layout is a FIFO, not a regular file`);
    expect(fromCache.code, fromCache.stderr).to.not.be.oneOf([124, 137]);
    const named = join(env.dir, 'named');
    await mkdir(named);
    await writeFile(join(named, 'f'), 'f\n');
    execFileSync('mkfifo', [join(named, '.dockerignore')]);
    const fromNamed = await build('FROM BASE\nCOPY --from=nc f /f\n', ['--build-context', `nc=${named}`], {}, { seconds: 30 });
    expect(fromNamed.code, fromNamed.stderr).to.equal(1);
    expect(fromNamed.stderr).to.contain(`${join(named, '.dockerignore')} is not a regular file`);
  });

  it('writes out the control characters of step names, statuses and errors (plain and tty), and of a step\'s output in the live display', async () => {
    // A Dockerfile, context or registry author can put escape sequences in what tsbuild prints about a build: clear
    // the screen, retitle the terminal, write its clipboard (OSC 52), or print over a line already shown. buildx
    // renders a step's output in a terminal emulator of its own in its live display; plain output keeps it raw.
    const esc = '\u001b';
    const bel = '\u0007';
    const dockerfile = [
      'FROM BASE',
      `RUN echo "${esc}]52;c;cHduZWQ=${bel}${esc}[2J${esc}[1A" && printf 'shown\\r${esc}]0;title${bel}hidden\\n'`,
      `COPY "missing${esc}[31m" /x`,
    ].join('\n');
    const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
    const plain = await build(dockerfile);
    expect(plain.code, plain.stderr).to.equal(1);
    const logLine = /^#\d+ \d+\.\d{3} /;
    for (const line of plain.stderr.split('\n')) if (!logLine.test(line)) expect(line, JSON.stringify(line)).to.not.match(controls);
    expect(plain.stderr).to.contain('\\u001b]52;c;cHduZWQ=\\u0007');   // the RUN line as its label shows it
    // The live display needs a terminal: script(1) gives it one (whose line discipline ends lines with CR LF).
    const ctx = join(env?.dir ?? '', 'ctx-tty');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile.replaceAll('BASE', env?.base ?? ''));
    const command = ['timeout', '-k', '5', '120', TSBUILD, 'build', '--root', join(env?.dir ?? '', 'root'), '--progress', 'tty', ctx].join(' ');
    const tty = await run('script', ['-qec', command, '/dev/null'], { env: { TSBUILD_DAEMON: '0' } });
    expect(tty.code, tty.stdout).to.equal(1);
    expect(tty.stdout).to.contain('[+] Building');
    // The display's own cursor-up and erase-below are the only sequences it writes.
    const own = tty.stdout.replaceAll('\r\n', '\n').replace(/\u001b\[\d+A|\u001b\[0J/g, '');
    expect(own, JSON.stringify(own.match(/.{0,30}[\u0000-\u0008\u000b-\u001f\u007f-\u009f].{0,30}/)?.[0])).to.not.match(controls);
  });

  it('writes out the control characters of a report someone else wrote (tsbuild report FILE, explain --against FILE)', async () => {
    if (env === undefined) throw new Error('the registry did not start');
    const file = join(env.dir, 'report.json');
    const made = await build('FROM BASE\nRUN echo made\n', ['--report', file]);
    expect(made.code, made.stderr).to.equal(0);
    // A report attached to an image, or handed over as a file, is its author's text.
    const report = JSON.parse(await readFile(file, 'utf8')) as { steps: { instruction: string }[] };
    for (const step of report.steps) step.instruction = `RUN echo \u001b]0;title\u0007\u001b[2J${step.instruction}`;
    await writeFile(file, JSON.stringify(report));
    const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
    for (const args of [['report', file], ['explain', '--against', file]]) {
      const r = await run(TSBUILD, ['--root', join(env.dir, 'root'), ...args], { env: { TSBUILD_DAEMON: '0' } });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout, args[0]).to.not.match(controls);
    }
  });

  it('names the layer entry whose xattr the kernel refuses (a security.capability that is no capability), not entry ""', async () => {
    if (env === undefined) throw new Error('the registry did not start');
    await publishLayer(env.registry.host, 'bad-xattr', [
      { name: 'ok', content: 'ok\n' },
      { name: 'caps', content: 'caps\n', pax: { 'SCHILY.xattr.security.capability': 'not a capability' } },
    ]);
    const r = await build(`FROM ${env.registry.host}/bad-xattr\nRUN true\n`);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.contain('entry "caps": cannot apply the entry: setxattr');
  });
});

// A renameat2(RENAME_EXCHANGE) loop, what a step sharing a cache mount runs while another step's mounts are made.
const RACER_C = `#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
  (void)argc;
  for (;;) syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE);
}
`;

/** Where the fixture keeps the cache of `id` (no namespace, owner or mode: the sha256 of the id, cache-mount.ts cacheName). */
function cacheDirOf(fx: ExecFixture, id: string): string {
  return join(fx.root, 'cache', createHash('sha256').update(id).digest('hex'));
}

/** The racer on `a` and `b` (relative to `cwd`): a failure to start fails the test that started it, not a later one. */
function startRacer(fx: ExecFixture, a: string, b: string, cwd?: string): { stop(): void; failed: Promise<never> } {
  const racer = spawn(join(fx.root, 'racer'), [a, b], { stdio: 'ignore', ...(cwd !== undefined ? { cwd } : {}) });
  const failed = new Promise<never>((_, reject) => { racer.on('error', reject); });
  failed.catch(() => undefined);
  return { stop: () => { racer.kill('SIGKILL'); }, failed };
}

describe('hostile steps (red team, worker)', function () {
  this.timeout(180_000);
  let fx: ExecFixture;
  before(async () => { fx = await ExecFixture.create(); });
  after(async () => { await fx.remove(); });

  it('keeps a read-only bind of the context read-only while a step sharing the cache swaps its target\'s parent for a link to / (it stayed writable and wrote to the host)', async () => {
    // The helper bound the context, then opened the target by its path again to make the mount read-only. A step that
    // shares the cache mount (another stage of the build, running at once) flips /c/sub between /c/real and "/":
    // when the bind went to /c/real/proc and the second lookup to /proc, read-only went to procfs, and the context
    // (a directory of the host) was the step's to write. Before the fix, about 1 step in 12 wrote it.
    const ctx = join(fx.root, 'context');
    await mkdir(ctx);
    await writeFile(join(ctx, 'f'), 'context file\n');
    const cache: RunMount = { type: 'cache', target: '/c', id: 'redteam-race', sharing: 'shared', source: '', readonly: false, uid: 0, gid: 0, mode: 0o755 };
    const bind: RunMount = { type: 'bind', target: '/c/sub/proc', from: { kind: 'context' }, source: '.', readwrite: false };
    await runExec(shell('mkdir -p /c/real/proc && ln -s /c/real /c/sub && ln -s / /c/alt', { mounts: [cache] }), await fx.step(), new AbortController().signal, new RecordingProgress());
    const dir = cacheDirOf(fx, 'redteam-race');
    await writeFile(join(fx.root, 'racer.c'), RACER_C);
    execFileSync('cc', ['-O2', '-o', join(fx.root, 'racer'), join(fx.root, 'racer.c')]);
    const racer = startRacer(fx, join(dir, 'sub'), join(dir, 'alt'));
    const outcomes = new Map<string, number>();
    try {
      for (let i = 0; i < 150; i++) {
        const env = await fx.step(undefined, { sources: { context: { kind: 'dir', path: ctx } } });
        const progress = new RecordingProgress();
        const script = 'for d in /c/real/proc /proc; do [ -e $d/f ] && { touch $d/written 2>/dev/null && echo written || echo read-only; }; done; true';
        const outcome = await Promise.race([racer.failed, runExec(shell(script, { mounts: [cache, bind] }), env, new AbortController().signal, progress)
          .then(() => progress.stdout.trim() || 'not seen', (err: unknown) => `failed: ${err instanceof Error ? err.message : String(err)}`)]);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    } finally {
      racer.stop();
    }
    expect(await readdir(ctx), JSON.stringify([...outcomes])).to.deep.equal(['f']);
    expect(outcomes.get('read-only') ?? 0, JSON.stringify([...outcomes])).to.be.greaterThan(0);
  });

  it('empties a cache for --no-cache without following a link a step sharing it swaps in for a directory (it deleted the host directory the link named)', async () => {
    // resetCacheMounts renames the cache aside and removes it while a step of another build (or another bake target)
    // may still have it mounted. Node's recursive rm lstats a directory, then reads and unlinks its entries by path:
    // swapped for a link to a host directory in between, it emptied that directory. About 1 try in 3 did.
    const host = join(fx.root, 'host-marker');
    await mkdir(host);
    for (let k = 0; k < 20; k++) await writeFile(join(host, `f${k}`), 'host file\n');
    const marker = await snapshotTree(host);
    await writeFile(join(fx.root, 'racer.c'), RACER_C);
    execFileSync('cc', ['-O2', '-o', join(fx.root, 'racer'), join(fx.root, 'racer.c')]);
    const cacheDir = join(fx.root, 'cache');
    const cache: RunMount = { type: 'cache', target: '/c', id: 'redteam-reset', sharing: 'shared', source: '', readonly: false, uid: 0, gid: 0, mode: 0o755 };
    const failures: string[] = [];
    for (let i = 0; i < 30; i++) {
      const fill = `mkdir -p /c/t/a && for k in $(seq 1 40); do echo x > /c/t/a/f$k; done && ln -s ${host} /c/t/b`;
      await runExec(shell(fill, { mounts: [cache] }), await fx.step(), new AbortController().signal, new RecordingProgress());
      const dir = cacheDirOf(fx, 'redteam-reset');
      // In t (its working directory), as the step holds the cache by its mount, not its name: the rename aside leaves it racing.
      const racer = startRacer(fx, 'a', 'b', join(dir, 't'));
      try {
        await Promise.race([racer.failed, new Promise((r) => setTimeout(r, 5))]);
        await resetCacheMounts(cacheDir, [cache]).catch((err: unknown) => { failures.push(String(err)); });
      } finally {
        racer.stop();
      }
      expect(await snapshotTree(host), `try ${i}`).to.deep.equal(marker);
    }
    // A tree that changes under the removal may be left (named -pruned-); it is no cache any step finds again.
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });
});
