import { expect } from 'chai';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunMount } from '../../frontend/index.js';
import { runExec, RunError, SecretError } from '../../worker/exec/index.js';
import type { CacheSeed, ExecEnvironment } from '../../worker/exec/index.js';
import { copySubtree } from '../../worker/fileops/index.js';
import type { Digest } from '../../registry/oci/index.js';
import { ExecFixture, RecordingProgress, shell } from './worker-exec-rootfs.js';

async function run(env: ExecEnvironment, script: string, mounts: RunMount[]): Promise<string> {
  const progress = new RecordingProgress();
  await runExec(shell(script, { mounts }), env, new AbortController().signal, progress);
  return progress.stdout;
}

function cache(id: string, sharing: 'shared' | 'private' | 'locked' = 'shared'): RunMount {
  return { type: 'cache', target: '/cache', id, sharing, source: '', readonly: false, uid: 0, gid: 0, mode: 0o755 };
}

describe('runExec: RUN --mount', () => {
  let fx: ExecFixture;
  before(async () => { fx = await ExecFixture.create(); });
  after(async () => { await fx.remove(); });

  it('keeps a cache mount between two runs and out of both layers', async () => {
    const first = await fx.step();
    await run(first, 'echo kept > /cache/file', [cache('go-build')]);
    const second = await fx.step();
    expect(await run(second, 'cat /cache/file', [cache('go-build')])).to.equal('kept\n');
    expect(await readdir(first.rootfs.upperDir)).to.deep.equal([]);
    expect(await readdir(second.rootfs.upperDir)).to.deep.equal([]);
  });

  it('keeps caches of one id in two BUILDKIT_CACHE_MOUNT_NS namespaces apart, and apart from the un-namespaced one', async () => {
    const ns = (namespace: string): RunMount => ({ ...cache('apt'), namespace } as RunMount);
    await run(await fx.step(), 'echo main > /cache/who', [ns('main')]);
    await run(await fx.step(), 'echo pr > /cache/who', [ns('pr-7')]);
    expect(await run(await fx.step(), 'cat /cache/who', [ns('main')])).to.equal('main\n');
    expect(await run(await fx.step(), 'cat /cache/who', [ns('pr-7')])).to.equal('pr\n');
    expect(await run(await fx.step(), 'ls /cache', [cache('apt')])).to.equal('');
    // A namespace cannot be spelled by another namespace plus id: ["a/b","c"] and ["a","b/c"] differ.
    await run(await fx.step(), 'echo one > /cache/f', [{ ...cache('b/c'), namespace: 'a' } as RunMount]);
    expect(await run(await fx.step(), 'ls /cache', [{ ...cache('c'), namespace: 'a/b' } as RunMount])).to.equal('');
  });

  it('gives a private cache a fresh directory while another run holds it', async () => {
    const a = await fx.step();
    const b = await fx.step();
    const [outA, outB] = await Promise.all([
      run(a, 'echo a > /cache/who; sleep 0.5; cat /cache/who', [cache('priv', 'private')]),
      run(b, 'sleep 0.2; echo b > /cache/who; cat /cache/who', [cache('priv', 'private')]),
    ]);
    expect(outA).to.equal('a\n');
    expect(outB).to.equal('b\n');
  });

  // A `from=` cache's seed, as the worker makes it: a confined COPY of the subtree from a source dir (here a plain one).
  function seeded(source: string, digest: string, sharing: 'shared' | 'private' = 'shared'): { mount: RunMount; seeds: Record<string, CacheSeed>; fills: () => number } {
    const from = { kind: 'vertex', id: 's0.1' } as const;
    let fills = 0;
    const seed: CacheSeed = {
      digest: `sha256:${digest.repeat(64)}` as Digest,
      fill: (dir, path, isOptional) => {
        fills++;
        return copySubtree(from, path, isOptional, { kind: 'dir', path: source, excludes: [] }, dir, new AbortController().signal, new RecordingProgress());
      },
    };
    return { mount: { ...cache('seeded', sharing), from, source: '/wd' } as RunMount, seeds: { '/cache': seed }, fills: () => fills };
  }

  it('testSharedCacheMountsNoScratch: two runs of one seeded shared cache use one directory at the same time', async () => {
    const source = join(fx.root, 'seed-source');
    await mkdir(join(source, 'wd'), { recursive: true });
    await writeFile(join(source, 'wd', 'baz'), 'base');
    const { mount, seeds, fills } = seeded(source, 'a');
    const wait = (mine: string, other: string): string => `touch /cache/${mine}; i=0; while [ ! -f /cache/${other} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; ls /cache`;
    const a = await fx.step(undefined, { cacheSeeds: seeds });
    const b = await fx.step(undefined, { cacheSeeds: seeds });
    const [one, two] = await Promise.all([run(a, wait('one', 'two'), [mount]), run(b, wait('two', 'one'), [mount])]);
    expect(one).to.equal('baz\none\ntwo\n');
    expect(two).to.equal('baz\none\ntwo\n');
    // One seed for both: the second run waited for the first one's instead of filling (and renaming) its own.
    expect(fills()).to.equal(1);
  });

  it('seeds the private copy of a seeded cache from the source too, while another run holds the shared one', async () => {
    const source = join(fx.root, 'seed-private');
    await mkdir(join(source, 'wd'), { recursive: true });
    await writeFile(join(source, 'wd', 'baz'), 'base');
    const { mount, seeds } = seeded(source, 'b', 'private');
    const [a, b] = await Promise.all([
      run(await fx.step(undefined, { cacheSeeds: seeds }), 'echo a > /cache/who; sleep 0.6; ls /cache; cat /cache/who', [mount]),
      run(await fx.step(undefined, { cacheSeeds: seeds }), 'sleep 0.3; ls /cache; echo b > /cache/who; cat /cache/who', [mount]),
    ]);
    expect(a).to.equal('baz\nwho\na\n');
    expect(b).to.equal('baz\nb\n');
    // The private copy went with its run; the shared one has what the first run left.
    expect(await run(await fx.step(undefined, { cacheSeeds: seeds }), 'cat /cache/who', [mount])).to.equal('a\n');
  });

  it('serialises two runs of a locked cache', async () => {
    const a = await fx.step();
    const b = await fx.step();
    const script = 'echo start >> /cache/log; sleep 0.3; echo end >> /cache/log';
    await Promise.all([run(a, script, [cache('lock', 'locked')]), run(b, script, [cache('lock', 'locked')])]);
    const c = await fx.step();
    expect(await run(c, 'cat /cache/log', [cache('lock', 'locked')])).to.equal('start\nend\nstart\nend\n');
  });

  it('shows a secret at /run/secrets/<id> with its mode and keeps it out of the layer', async () => {
    const secretFile = join(fx.root, 'token');
    await writeFile(secretFile, 's3cr3t');
    const env = await fx.step(undefined, { secrets: { x: secretFile } });
    const out = await run(env, 'cat /run/secrets/x; echo; stat -c %a /run/secrets/x; echo y > /run/secrets/x 2>/dev/null || echo ro', [
      { type: 'secret', id: 'x', required: true, uid: 0, gid: 0, mode: 0o400 },
    ]);
    expect(out).to.equal('s3cr3t\n400\nro\n');
    expect(await readdir(env.rootfs.upperDir)).to.deep.equal([]);
  });

  it('reads a secret whose stated size is wrong (a sysfs file) to its end, and refuses one over BuildKit\'s 500 KiB', async () => {
    const env = await fx.step(undefined, { secrets: { mac: '/sys/class/net/lo/address' } });
    const out = await run(env, 'cat /run/secrets/mac', [{ type: 'secret', id: 'mac', required: true, uid: 0, gid: 0, mode: 0o400 }]);
    expect(out).to.equal(await readFile('/sys/class/net/lo/address', 'utf8'));
    const big = join(fx.root, 'big');
    await writeFile(big, Buffer.alloc(500 * 1024 + 1));
    const bigEnv = await fx.step(undefined, { secrets: { big } });
    const err = await run(bigEnv, 'true', [{ type: 'secret', id: 'big', required: true, uid: 0, gid: 0, mode: 0o400 }]).then(() => undefined, (e: unknown) => e);
    expect(String(err)).to.contain('secret "big" is larger than 500 KiB');
  });

  it('holds secrets the size of BuildKit\'s cap each, from a file and from memory, NUL bytes included, in the helper\'s scratch tmpfs', async () => {
    // More than the scratch tmpfs's base 16 MiB: its size grows with the step's secrets (mounts.c mount_scratch).
    const n = 40;
    const secrets: Record<string, string | Uint8Array> = {};
    const mounts: RunMount[] = [];
    for (let i = 0; i < n; i++) {
      const value = Buffer.alloc(500 * 1024, i);
      value.write(`s${i}\n`, 1);
      if (i % 2 === 0) {
        secrets[`s${i}`] = join(fx.root, `big-secret-${i}`);
        await writeFile(join(fx.root, `big-secret-${i}`), value);
      } else secrets[`s${i}`] = value;
      mounts.push({ type: 'secret', id: `s${i}`, required: true, uid: 0, gid: 0, mode: 0o400 });
    }
    const env = await fx.step(undefined, { secrets });
    const out = await run(env, 'cat /run/secrets/s* | wc -c; for i in 0 7; do head -c 4 /run/secrets/s$i | od -An -tx1 | tr -d " \\n"; echo; done', mounts);
    expect(out).to.equal(`${n * 500 * 1024}\n0073300a\n0773370a\n`);
  });

  it('puts a secret in an environment variable with env=', async () => {
    const secretFile = join(fx.root, 'envtoken');
    await writeFile(secretFile, 'abc');
    const env = await fx.step(undefined, { secrets: { t: secretFile } });
    expect(await run(env, 'echo "$TOKEN"; test -e /run/secrets/t || echo nofile', [
      { type: 'secret', id: 't', env: 'TOKEN', required: true, uid: 0, gid: 0, mode: 0o400 },
    ])).to.equal('abc\nnofile\n');
  });

  it('fails with SECRET_NOT_FOUND when a required secret is missing, and skips an optional one', async () => {
    const env = await fx.step();
    const err = await run(env, 'true', [{ type: 'secret', id: 'nope', required: true, uid: 0, gid: 0, mode: 0o400 }])
      .then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(SecretError);
    expect(err).to.have.property('code', 'SECRET_NOT_FOUND');
    expect(await run(await fx.step(), 'test -e /run/secrets/nope || echo absent', [
      { type: 'secret', id: 'nope', required: false, uid: 0, gid: 0, mode: 0o400 },
    ])).to.equal('absent\n');
  });

  it('mounts a tmpfs whose files never reach the layer', async () => {
    const env = await fx.step();
    const out = await run(env, 'grep " /scratch " /proc/mounts | cut -d" " -f3; echo x > /scratch/f', [{ type: 'tmpfs', target: '/scratch', size: 1048576 }]);
    expect(out).to.equal('tmpfs\n');
    expect(await readdir(env.rootfs.upperDir)).to.deep.equal([]);
  });

  it('binds a context subdirectory read-only and a read-write bind never writes through', async () => {
    const ctx = join(fx.root, 'context');
    await mkdir(join(ctx, 'src'), { recursive: true });
    await writeFile(join(ctx, 'src', 'a.txt'), 'A');
    const env = await fx.step(undefined, { sources: { context: { kind: 'dir', path: ctx } } });
    expect(await run(env, 'cat /in/a.txt; echo; touch /in/b 2>/dev/null || echo ro', [
      { type: 'bind', target: '/in', from: { kind: 'context' }, source: 'src', readwrite: false },
    ])).to.equal('A\nro\n');
    const env2 = await fx.step(undefined, { sources: { context: { kind: 'dir', path: ctx } } });
    expect(await run(env2, 'echo changed > /in/a.txt; cat /in/a.txt', [
      { type: 'bind', target: '/in', from: { kind: 'context' }, source: 'src', readwrite: true },
    ])).to.equal('changed\n');
    expect(await readFile(join(ctx, 'src', 'a.txt'), 'utf8')).to.equal('A');
  });

  it('binds a subpath of another stage given as an overlay of snapshot dirs', async () => {
    const l1 = join(fx.root, 'stage-l1');
    const l2 = join(fx.root, 'stage-l2');
    await mkdir(join(l1, 'out'), { recursive: true });
    await mkdir(join(l2, 'out'), { recursive: true });
    await writeFile(join(l1, 'out', 'bottom'), 'b');
    await writeFile(join(l2, 'out', 'top'), 't');
    const env = await fx.step(undefined, { sources: { s1: { kind: 'overlay', lowerDirs: [l2, l1] } } });
    expect(await run(env, 'ls /from', [
      { type: 'bind', target: '/from', from: { kind: 'vertex', id: 's1' }, source: '/out', readwrite: false },
    ])).to.equal('bottom\ntop\n');
  });

  it('does not let a symlinked mount source escape its root', async () => {
    const ctx = join(fx.root, 'evil-context');
    await mkdir(ctx, { recursive: true });
    const { symlink } = await import('node:fs/promises');
    await symlink('/etc', join(ctx, 'escape'));
    const env = await fx.step(undefined, { sources: { context: { kind: 'dir', path: ctx } } });
    const err = await run(env, 'ls /in', [
      { type: 'bind', target: '/in', from: { kind: 'context' }, source: 'escape', readwrite: false },
    ]).then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'RUN_FAILED');
    expect(err).to.not.be.instanceOf(RunError);
  });

  it('runs a heredoc script mounted from the inline source as an executable file, as BuildKit writes it 0755', async () => {
    // The worker materialises the heredoc (mode 0644) in the step's state dir under the source key 'inline'.
    const inline = join(fx.root, 'inline-src');
    await mkdir(inline, { recursive: true });
    const script = '#!/bin/sh\necho "script $0"\n';
    await writeFile(join(inline, 'EOF'), script);
    const env = await fx.step(undefined, { sources: { inline: { kind: 'dir', path: inline } } });
    const progress = new RecordingProgress();
    const op = shell('', { mounts: [{ type: 'bind', target: '/dev/pipes/', from: { kind: 'inline', files: [{ name: 'EOF', content: script }] }, source: '/', readwrite: false }] });
    await runExec({ ...op, argv: ['/dev/pipes/EOF'] }, env, new AbortController().signal, progress);
    expect(progress.stdout).to.equal('script /dev/pipes/EOF\n');
    expect(await readdir(env.rootfs.upperDir)).to.deep.equal([]);
  });

  it('runs a step on FROM scratch with its tool bind-mounted from another stage, leaving an empty layer', async () => {
    const env = await fx.step([], { sources: { tools: { kind: 'dir', path: fx.lower } } });
    const progress = new RecordingProgress();
    const op = shell('', { mounts: [{ type: 'bind', target: '/bb', from: { kind: 'vertex', id: 'tools' }, source: '/', readwrite: false }] });
    await runExec({ ...op, argv: ['/bb/bin/busybox', 'echo', 'from scratch'] }, env, new AbortController().signal, progress);
    expect(progress.stdout).to.equal('from scratch\n');
    expect(await readdir(env.rootfs.upperDir)).to.deep.equal([]);
  });
});
