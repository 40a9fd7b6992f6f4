import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { startTsbuild, storeProblems, waitFor } from '../fixtures/crash-points.js';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// The automatic gc at the end of a build (builder/gc.ts) on real builds into a real root: collected down to the
// budget, least recently used first, the build's own results kept; nothing done under budget or when turned off;
// a concurrent build's results never touched. Budgets are given in bytes (TSBUILD_GC_*), never as a percentage of
// this machine's disk, so what is collected does not depend on how full the disk is.

interface Metadata { 'tsbuild.cache': { steps: number; cached: number; missed: number } }
interface Row { opText: string; size: number }

/** Every step the RUNs write: the same byte count under names of one length, so each RUN record has one size. */
const BYTES = 1_000_000;

describe('automatic cache gc after a build', function () {
  this.timeout(300_000);
  let env: BuildEnv | undefined;
  let dir: string;
  let ctx: string;
  let base: string;

  before(async () => {
    env = await startBuildEnv('tsbuild-auto-gc-');
    ({ base, dir } = env);
    ctx = join(dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    for (const name of ['a', 'b', 'c', 'd', 'e', 'x', 'y', 'z']) {
      const sleep = name === 'x' ? ' && sleep 4' : '';
      await writeFile(join(dir, `${name}.Dockerfile`), [`FROM ${base}`, `RUN echo marker-${name} && head -c ${BYTES} /dev/urandom > /${name}${sleep}`, ''].join('\n'));
    }
  });
  after(async () => {
    await env?.stop();
  });

  const off = { TSBUILD_GC: 'off' };
  const budget = (maxUsed: number) => ({ TSBUILD_GC_RESERVED_SPACE: '0', TSBUILD_GC_MAX_USED_SPACE: String(maxUsed) });
  const args = (root: string, name: string, progress = 'plain', output = 'type=cacheonly') =>
    ['build', '--root', root, '--progress', progress, '-f', join(dir, `${name}.Dockerfile`), '-o', output, '--metadata-file', join(dir, `${name}.json`), ctx];
  const build = async (root: string, name: string, gcEnv: NodeJS.ProcessEnv, progress?: string, output?: string) => {
    const r = await startTsbuild(args(root, name, progress, output), gcEnv).done;
    expect(r.code, r.stderr).to.equal(0);
    return r;
  };
  const missedOf = async (name: string) => (JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as Metadata)['tsbuild.cache'].missed;
  /** The root's records as its cache index holds them, read only. */
  const records = (root: string): Row[] => {
    const db = new DatabaseSync(join(root, 'cache.db'), { readOnly: true });
    try {
      return db.prepare('SELECT parts, size FROM records').all().map((r) => ({
        opText: (JSON.parse(String(r['parts'])) as { opText: string }).opText, size: Number(r['size']),
      }));
    } finally {
      db.close();
    }
  };
  const runs = (root: string) => records(root).filter((r) => r.opText.startsWith('RUN')).map((r) => /marker-(\w)/.exec(r.opText)?.[1]).sort();
  const total = (root: string) => records(root).reduce((s, r) => s + r.size, 0);
  const blobPath = (root: string, digest: string) => join(root, 'content', 'blobs', 'sha256', digest.slice('sha256:'.length));
  const runSize = (root: string) => records(root).find((r) => r.opText.startsWith('RUN'))?.size ?? 0;

  /** A root holding a, b, c built in that order with gc off: a is the least recently used. */
  const seeded = async (name: string): Promise<string> => {
    const root = join(dir, name);
    for (const n of ['a', 'b', 'c']) await build(root, n, off);
    expect(runs(root)).to.deep.equal(['a', 'b', 'c']);
    return root;
  };

  it('collects a root over its budget down to it, least recently used first, keeps the build\'s results, and says so in tsbuild-json', async () => {
    const root = await seeded('root-over');
    const size = runSize(root);
    expect(size).to.be.greaterThan(BYTES);
    // After d the cache would be total + size; the budget leaves room for c and d only, so a and b go, oldest first.
    const limit = total(root) + size - 2 * size + Math.floor(size / 2);
    const r = await build(root, 'd', budget(limit), 'tsbuild-json');
    expect(runs(root)).to.deep.equal(['c', 'd']);
    expect(total(root)).to.be.at.most(limit);
    const notes = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; text?: string });
    expect(notes.filter((n) => n.type === 'note' && /^gc: freed \S+ \(2 records, 2 snapshots, \d+ blobs\)/.test(n.text ?? '')), r.stderr).to.have.length(1);
    expect(await storeProblems(root)).to.deep.equal([]);
    // What stayed is whole: the build just made and the one before are fully cached.
    for (const n of ['d', 'c']) {
      await build(root, n, off);
      expect(await missedOf(n), n).to.equal(0);
    }
  });

  it('removes the gzip a collected step\'s layer got for an image output, and keeps the one of a kept step', async () => {
    const root = join(dir, 'root-gzip');
    /** The gzip layer of the RUN in the OCI image `name` was built into, from the manifest the build left in the store. */
    const runGzip = async (name: string): Promise<string> => {
      await build(root, name, off, 'plain', `type=oci,dest=${join(dir, `${name}.oci.tar`)}`);
      const meta = JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as { 'containerimage.descriptor': { digest: string } };
      type Doc = { layers?: { digest: string }[]; manifests?: { digest: string }[] };
      const read = async (digest: string) => JSON.parse(await readFile(blobPath(root, digest), 'utf8')) as Doc;
      let doc = await read(meta['containerimage.descriptor'].digest);
      // An index (the attestation manifest rides beside the image): its first manifest is the image.
      if (doc.manifests?.[0]) doc = await read(doc.manifests[0].digest);
      const layer = doc.layers?.at(-1)?.digest ?? '';
      expect(existsSync(blobPath(root, layer)), layer).to.equal(true);
      return layer;
    };
    const a = await runGzip('a');
    const c = await runGzip('c');
    // c again, over budget: a goes with its gzip; c is this build's, so its gzip stays.
    await build(root, 'c', budget(1));
    expect(runs(root)).to.deep.equal(['c']);
    expect(existsSync(blobPath(root, a)), 'the gzip of collected a').to.equal(false);
    expect(existsSync(blobPath(root, c)), 'the gzip of kept c').to.equal(true);
    expect(await storeProblems(root)).to.deep.equal([]);
    // Then c goes, and its gzip with it; c's image can be built again (its RUN runs again: new random bytes).
    const r = await build(root, 'd', budget(1));
    expect(r.stderr).to.match(/gc: freed/);
    expect(runs(root)).to.deep.equal(['d']);
    expect(existsSync(blobPath(root, c)), 'the gzip of collected c').to.equal(false);
    expect(await storeProblems(root)).to.deep.equal([]);
    expect(await runGzip('c')).to.not.equal(c);
    expect(await storeProblems(root)).to.deep.equal([]);
  });

  it('keeps the build\'s own results even when they alone are over the budget', async () => {
    const root = await seeded('root-tiny');
    const r = await build(root, 'd', budget(1));
    expect(r.stderr).to.match(/gc: freed \S+ \(3 records/);
    expect(runs(root)).to.deep.equal(['d']);
    expect(await storeProblems(root)).to.deep.equal([]);
    await build(root, 'd', off);
    expect(await missedOf('d')).to.equal(0);
  });

  it('removes nothing from a root under its budget, and prints no gc line', async () => {
    const root = await seeded('root-under');
    const r = await build(root, 'd', budget(total(root) + 10 * runSize(root)));
    expect(runs(root)).to.deep.equal(['a', 'b', 'c', 'd']);
    expect(r.stderr).not.to.match(/gc:/);
  });

  it('keeps everything with TSBUILD_GC=off, whatever the budget says', async () => {
    const root = await seeded('root-off');
    await build(root, 'd', { ...budget(1), TSBUILD_GC: 'off' });
    expect(runs(root)).to.deep.equal(['a', 'b', 'c', 'd']);
  });

  it('refuses an unreadable TSBUILD_GC_MAX_USED_SPACE as a note, and the build still succeeds', async () => {
    const root = await seeded('root-bad');
    const r = await build(root, 'd', { TSBUILD_GC_MAX_USED_SPACE: 'lots' });
    expect(r.stderr).to.match(/gc failed: TSBUILD_GC_MAX_USED_SPACE: invalid size "lots"/);
    expect(runs(root)).to.deep.equal(['a', 'b', 'c', 'd']);
  });

  it('never touches a concurrent build: gc waits for the next build that finishes alone', async () => {
    const root = await seeded('root-conc');
    const running = startTsbuild(args(root, 'x'), off);
    await waitFor('the RUN step of x to start', () => running.output().includes('marker-x'), 120_000);
    // y finishes while x runs: it may not take the root exclusive, so it leaves everything.
    const y = await build(root, 'y', budget(1));
    expect(y.stderr).to.match(/gc: .*other builds are using/);
    const x = await running.done;
    expect(x.code, x.stderr).to.equal(0);
    expect(runs(root)).to.deep.equal(['a', 'b', 'c', 'x', 'y']);
    expect(await storeProblems(root)).to.deep.equal([]);
    // Alone, the next build collects, down to its own results.
    await build(root, 'z', budget(1));
    expect(runs(root)).to.deep.equal(['z']);
    expect(await storeProblems(root)).to.deep.equal([]);
  });

  it('gives prune BuildKit\'s space flags on the same planner: --max-used-space, --reserved-space with --min-free-space', async () => {
    const root = await seeded('root-prune');
    const size = runSize(root);
    const keepOne = total(root) - 2 * size + Math.floor(size / 2);
    const p = await tsbuild(['prune', '--root', root, '--max-used-space', String(keepOne)]);
    expect(p.code, p.stderr).to.equal(0);
    expect(runs(root)).to.deep.equal(['c']);
    // Asking for the whole disk free collects everything down to the reserve.
    const q = await tsbuild(['prune', '--root', root, '--reserved-space', '0', '--min-free-space', '100%']);
    expect(q.code, q.stderr).to.equal(0);
    expect(records(root)).to.deep.equal([]);
    const bad = await tsbuild(['prune', '--root', root, '--max-used-space', '120%']);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.match(/more than the whole filesystem/);
    expect(bad.stderr).not.to.match(/\n\s+at /);
  });
});

// The build history's retention (builder/history-retention.ts): a long-lived root keeps the newest records, as
// BuildKit's [history] maxEntries does, and a value that is not one stops the build before it records anything.
describe('build history retention', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-history-keep-'));
    await mkdir(join(dir, 'ctx'));
    await writeFile(join(dir, 'ctx', 'Dockerfile'), 'FROM scratch\nCOPY a.txt /\n');
    await writeFile(join(dir, 'ctx', 'a.txt'), 'a\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const root = () => join(dir, 'root');
  const build = (env: NodeJS.ProcessEnv, n: number) => tsbuild(['build', '--root', root(), '--progress', 'plain', '-o', 'type=cacheonly', '--metadata-file', join(dir, `m${n}.json`), join(dir, 'ctx')], { env });
  const recorded = async () => {
    const r = await tsbuild(['history', '--json', '--root', root()]);
    expect(r.code, r.stderr).to.equal(0);
    return (JSON.parse(r.stdout) as { id: string }[]).map((b) => b.id);
  };
  const buildRef = async (n: number) => (JSON.parse(await readFile(join(dir, `m${n}.json`), 'utf8')) as Record<string, string>)['buildx.build.ref']?.split('/').pop();

  it('keeps the newest TSBUILD_HISTORY_MAX_ENTRIES builds, and all of them with 0', async () => {
    for (let n = 0; n < 4; n++) {
      const r = await build({ TSBUILD_HISTORY_MAX_ENTRIES: '0' }, n);
      expect(r.code, r.stderr).to.equal(0);
    }
    expect(await recorded()).to.have.length(4);
    const r = await build({ TSBUILD_HISTORY_MAX_ENTRIES: '2' }, 4);
    expect(r.code, r.stderr).to.equal(0);
    expect(await recorded()).to.deep.equal([await buildRef(4), await buildRef(3)]);
  });

  it('stops a build with TSBUILD_HISTORY_MAX_ENTRIES or _MAX_AGE that is not one, before it records it', async () => {
    const before = await recorded();
    for (const env of [{ TSBUILD_HISTORY_MAX_ENTRIES: 'many' }, { TSBUILD_HISTORY_MAX_AGE: 'a while' }]) {
      const r = await build(env, 9);
      expect(r.code, r.stderr).to.not.equal(0);
      expect(r.stderr).to.match(/TSBUILD_HISTORY_MAX_(ENTRIES|AGE)="(many|a while)" is not a/);
      expect(r.stderr).not.to.match(/\n\s+at /);
    }
    expect(await recorded()).to.deep.equal(before);
  });
});
