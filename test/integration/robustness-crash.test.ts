import { expect } from 'chai';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { publishBusybox } from '../fixtures/busybox-image.js';
import {
  checkBlobs, cmdline, descendants, killNode, mountsMentioning, startSlowProxy, startTsbuild, storeProblems, treeOf, waitFor,
  type RunningBuild, type SlowProxy,
} from '../fixtures/crash-points.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { run } from '../fixtures/tsbuild-cli.js';

// kill -9 of the build process (node alone, as the OOM killer does) at known phases: pulling the base, running a
// step, exporting a big layer, pushing, and at the TSBUILD_CRASH_AT hooks between writes. After each: no mount and
// no container process is left, no half blob is visible, the metadata names only complete snapshots, and a rebuild
// on the same root succeeds with the same files as a build on a clean root.

describe('robustness: kill -9 at any moment, then a correct rebuild', function () {
  this.timeout(600_000);
  let registry: RunningRegistry;
  let proxy: SlowProxy;
  let dir: string;
  let ctx: string;
  let rootCount = 0;
  const clean: Record<string, Record<string, string>> = {};

  const writeDockerfiles = async (baseHost: string): Promise<void> => {
    const base = `${baseHost}/busybox:latest`;
    await writeFile(join(dir, `small-${baseHost}.Dockerfile`), [
      `FROM ${base}`, 'COPY app.txt /app/app.txt', 'RUN echo marker-run-step && sleep 5 && echo ran > /app/ran', 'RUN echo after > /app/after', '',
    ].join('\n'));
    await writeFile(join(dir, `big-${baseHost}.Dockerfile`), [
      `FROM ${base}`, 'COPY app.txt /app/app.txt', 'RUN dd if=/dev/urandom of=/big bs=1M count=200 2>/dev/null && echo big > /app/big', '',
    ].join('\n'));
  };
  const newRoot = (): string => join(dir, `root-${++rootCount}`);
  const buildArgs = (root: string, file: string, out: string, extra: string[] = []): string[] =>
    ['build', '--root', root, '--progress', 'plain', '-f', join(dir, file), '-o', `type=local,dest=${out}`, ...extra, ctx];

  before(async () => {
    registry = await startRegistry();
    await publishBusybox(registry.host, 'busybox');
    proxy = await startSlowProxy(registry.host, 128 * 1024);
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-robust-crash-'));
    ctx = join(dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'app.txt'), 'the app\n');
    await writeDockerfiles(registry.host);
    await writeDockerfiles(proxy.host);
    for (const kind of ['small', 'big']) {
      const out = join(dir, `clean-${kind}`);
      const r = await startTsbuild(buildArgs(newRoot(), `${kind}-${registry.host}.Dockerfile`, out)).done;
      expect(r.code, r.stderr).to.equal(0);
      clean[kind] = await treeOf(out, ['big']);
    }
  });
  after(async () => {
    await proxy?.close();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Kills `build` (node only) and checks what must hold right after: no container process, no mount, no half blob. */
  const killAndCheck = async (build: RunningBuild, root: string): Promise<void> => {
    const below = descendants(build.pid);
    killNode(build.pid);
    const result = await build.done;
    expect(result.signal).to.equal('SIGKILL');
    await afterDeath(below, root);
  };
  const afterDeath = async (below: number[], root: string): Promise<void> => {
    // The native helper and the container die by PR_SET_PDEATHSIG once node is gone.
    await waitFor(`processes ${below.join(',')} to die with tsbuild`, () => below.every((p) => cmdline(p) === undefined), 15_000);
    expect(mountsMentioning([basename(dir)]), 'mounts left behind').to.deep.equal([]);
    expect((await checkBlobs(root)).bad, 'blobs not matching their digest').to.deep.equal([]);
    // Before any recovery ran: what the metadata and the cache index name exists and is complete.
    const problems = (await storeProblems(root)).filter((p) => !/^(ingest .* left behind|temp dir|snapshot \S+ is still active|snapshot dir \d+ has no row)/.test(p));
    expect(problems, 'state right after the crash').to.deep.equal([]);
  };
  /** Rebuilds on `root` and expects the clean build's files and a consistent store. */
  const rebuild = async (root: string, kind: 'small' | 'big', file: string, extra: string[] = []): Promise<void> => {
    const out = join(dir, `out-${basename(root)}`);
    const r = await startTsbuild(buildArgs(root, file, out, extra)).done;
    expect(r.code, r.stderr).to.equal(0);
    expect(await treeOf(out, ['big'])).to.deep.equal(clean[kind]);
    if (kind === 'big') expect(statSync(join(out, 'big')).size).to.equal(200 * 1024 * 1024);
    expect(await storeProblems(root)).to.deep.equal([]);
  };

  it('recovers from a kill during the pull of the base layer', async () => {
    const root = newRoot();
    proxy.throttled = true;
    const start = proxy.bytes.down;
    const build = startTsbuild(buildArgs(root, `small-${proxy.host}.Dockerfile`, join(dir, 'pull-out')));
    await waitFor('the base layer download to be under way', () => proxy.bytes.down - start > 64 * 1024, 120_000);
    await killAndCheck(build, root);
    proxy.throttled = false;
    await rebuild(root, 'small', `small-${proxy.host}.Dockerfile`);
  });

  it('recovers from a kill during a RUN step, and the container dies with the build', async () => {
    const root = newRoot();
    const build = startTsbuild(buildArgs(root, `small-${registry.host}.Dockerfile`, join(dir, 'run-out')));
    await waitFor('the RUN step to start', () => build.output().includes('marker-run-step'), 120_000);
    const sleeper = await waitFor('the container sleep process', () => descendants(build.pid).find((p) => cmdline(p) === 'sleep 5'), 30_000);
    await killAndCheck(build, root);
    expect(cmdline(sleeper)).to.equal(undefined);
    await rebuild(root, 'small', `small-${registry.host}.Dockerfile`);
  });

  it('recovers from a kill while a 200 MB layer is exported', async () => {
    const root = newRoot();
    const build = startTsbuild(buildArgs(root, `big-${registry.host}.Dockerfile`, join(dir, 'export-out')));
    // A step's layer is measured (hashed) from its committed snapshot and recorded on it, not written (lazy layers,
    // worker/layers/diff.ts): the export is under way once the RUN's snapshot, 200 MB file whole, is committed.
    const snapshots = join(root, 'snapshots');
    const bigCommitted = (): boolean => {
      if (!existsSync(join(snapshots, 'metadata.db'))) return false;
      // The build writes this database meanwhile: a busy read is a "not yet", asked again on the next poll; so is a
      // database file the build has created but not yet given its table (a clean-clone CI run of 2026-12-01 read it
      // in that moment).
      const db = new DatabaseSync(join(snapshots, 'metadata.db'), { readOnly: true, timeout: 1000 });
      try {
        const ids = db.prepare("SELECT id FROM snapshots WHERE kind = 'committed'").all().map((r) => String(r['id']));
        return ids.some((id) => { try { return statSync(join(snapshots, id, 'fs', 'big')).size === 200 << 20; } catch { return false; } });
      } catch (err) {
        if (/database is locked|no such table: snapshots/.test(String(err))) return false;
        throw err;
      } finally {
        db.close();
      }
    };
    await waitFor('the big layer export to be under way', bigCommitted, 180_000);
    await killAndCheck(build, root);
    await rebuild(root, 'big', `big-${registry.host}.Dockerfile`);
  });

  it('recovers from a kill during the push, and the re-push gives a whole image', async () => {
    const root = newRoot();
    const ref = `${proxy.host}/pushed:1`;
    proxy.throttled = true;
    const start = proxy.bytes.up;
    const build = startTsbuild(buildArgs(root, `big-${registry.host}.Dockerfile`, join(dir, 'push-out'), ['-t', ref, '--push']));
    await waitFor('the push to be under way', () => proxy.bytes.up - start > 2 * 1024 * 1024, 300_000);
    await killAndCheck(build, root);
    proxy.throttled = false;
    await rebuild(root, 'big', `big-${registry.host}.Dockerfile`, ['-t', ref, '--push']);
    const oci = join(dir, 'push-oci');
    const copy = await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${registry.host}/pushed:1`, `oci:${oci}:img`]);
    expect(copy.code, copy.stderr).to.equal(0);
    const unpack = await run('umoci', ['unpack', '--image', `${oci}:img`, join(dir, 'push-bundle')]);
    expect(unpack.code, unpack.stderr).to.equal(0);
    expect(await readFile(join(dir, 'push-bundle', 'rootfs/app/big'), 'utf8')).to.equal('big\n');
  });

  it('recovers from a kill during a COPY into a mounted snapshot, and the next build unmounts what was left', async () => {
    const root = newRoot();
    const bigCtx = join(dir, 'big-ctx');
    await mkdir(bigCtx, { recursive: true });
    const dd = await run('dd', ['if=/dev/urandom', `of=${join(bigCtx, 'big.bin')}`, 'bs=1M', 'count=300', 'status=none']);
    expect(dd.code, dd.stderr).to.equal(0);
    await writeFile(join(dir, 'copy.Dockerfile'), [`FROM ${registry.host}/busybox:latest`, 'COPY big.bin /data/big.bin', ''].join('\n'));
    const args = (out: string): string[] => ['build', '--root', root, '--progress', 'plain', '-f', join(dir, 'copy.Dockerfile'), '-o', `type=local,dest=${out}`, bigCtx];
    const build = startTsbuild(args(join(dir, 'copy-out')));
    await waitFor('the COPY to mount its snapshot', () => mountsMentioning([root]).length > 0, 120_000);
    killNode(build.pid);
    expect((await build.done).signal).to.equal('SIGKILL');
    // kill -9 skipped the unmount: the mount is still there until the next process opening the root takes it down.
    expect(mountsMentioning([root]), 'the stale mount this test is about').to.not.deep.equal([]);
    expect((await checkBlobs(root)).bad).to.deep.equal([]);
    const again = await startTsbuild(args(join(dir, 'copy-again'))).done;
    expect(again.code, again.stderr).to.equal(0);
    expect(mountsMentioning([basename(dir)]), 'mounts left behind').to.deep.equal([]);
    expect((await treeOf(join(dir, 'copy-again')))['data/big.bin']).to.equal((await treeOf(bigCtx))['big.bin']);
    expect(await storeProblems(root)).to.deep.equal([]);
  });

  for (const point of ['ingest-commit', 'before-cache-put', 'after-cache-put', 'before-build-record']) {
    it(`recovers from a crash at the ${point} hook`, async () => {
      const root = newRoot();
      const build = startTsbuild(buildArgs(root, `small-${registry.host}.Dockerfile`, join(dir, `${point}-out`)), { TSBUILD_CRASH_AT: point });
      const below: number[] = [];
      const result = await build.done;
      expect(result.signal, result.stderr).to.equal('SIGKILL');
      await afterDeath(below, root);
      await rebuild(root, 'small', `small-${registry.host}.Dockerfile`);
    });
  }
});
