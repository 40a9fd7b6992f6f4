import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { MediaType, sha256 } from '../registry/oci/index.js';
import type { Digest } from '../registry/oci/index.js';
import { SqliteCacheIndex } from './cache-index.js';
import { cacheKey } from './cache-key.js';
import type { CacheKey } from './cache-key.js';
import type { FsState } from './ports.js';

const NODE = join(process.cwd(), 'scripts/node');
const CHILD = join(process.cwd(), 'dist/solver/testing/cache-child.js');

function key(name: string, inputs: Digest[] = []): CacheKey {
  return cacheKey({ v: 1, op: name, opText: `RUN ${name}`, inputs, content: {}, args: {}, platform: 'linux/amd64' });
}
function fs(name: string, blobs: string[]): FsState {
  return { snapshot: name, layers: blobs.map((b) => ({ descriptor: { mediaType: MediaType.ociLayerGzip, digest: sha256(b), size: 1 }, diffId: sha256(b) })) };
}

/** Runs the child script; resolves with its stdout when it exits 0. */
function child(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(NODE, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

describe('SqliteCacheIndex', () => {
  let root: string;
  let clock: number;
  let index: SqliteCacheIndex;
  const open = (): SqliteCacheIndex => SqliteCacheIndex.open(root, { now: () => clock });
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tsbuild-cache-'));
    clock = 1000;
    index = open();
  });
  afterEach(() => {
    index.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps records, step history and builds across a reopen', async () => {
    const k = key('a');
    await index.put(k, { result: fs('snap-a', ['a']), size: 5 });
    await index.remember('Dockerfile#0/1', { ...k, files: { context: { 'a.ts': sha256('a') } } });
    index.close();
    index = open();
    clock = 2000;
    const got = await index.get(k.digest);
    expect(got).to.deep.equal({ result: fs('snap-a', ['a']), parts: k.parts, created: 1000, lastUsed: 2000, size: 5 });
    expect(await index.previous('Dockerfile#0/1')).to.deep.equal({ ...k, files: { context: { 'a.ts': sha256('a') } } });
    expect(await index.previous('Dockerfile#0/2')).to.equal(undefined);
  });

  it('does not write a step record again when the database holds the same one (a cached step)', async () => {
    const k = key('a');
    const step = { ...k, files: { context: { 'a.ts': sha256('a') } } };
    await index.remember('Dockerfile#0/1', step);
    index.close();
    const updated = (): unknown => {
      const db = new DatabaseSync(join(root, 'cache.db'));
      try { return db.prepare('SELECT updated FROM steps WHERE locator = ?').get('Dockerfile#0/1')?.['updated']; } finally { db.close(); }
    };
    expect(updated()).to.equal(1000);
    index = open();
    clock = 2000;
    expect(await index.previous('Dockerfile#0/1')).to.deep.equal(step);
    await index.remember('Dockerfile#0/1', step);
    index.flush();
    expect(updated()).to.equal(1000);   // unchanged: not rewritten
    const changed = { ...k, files: { context: { 'a.ts': sha256('b') } } };
    await index.remember('Dockerfile#0/1', changed);
    index.flush();
    expect(updated()).to.equal(2000);
    expect(await index.previous('Dockerfile#0/1')).to.deep.equal(changed);
  });

  it('opened pruneExcluded, keeps holds in memory until the next transaction, and writes none a release deletes', async () => {
    index.close();
    index = SqliteCacheIndex.open(root, { now: () => clock, pruneExcluded: true });
    const k = key('a');
    await index.put(k, { result: fs('snap-a', ['a']), size: 5 });
    const leaseRows = (): unknown => {
      const db = new DatabaseSync(join(root, 'cache.db'));
      try { return db.prepare('SELECT COUNT(*) AS n FROM lease_keys').get()?.['n']; } finally { db.close(); }
    };
    await index.hold('build-1', [k.digest]);
    expect(leaseRows()).to.equal(0);
    index.flush();
    expect(leaseRows()).to.equal(1);
    await index.hold('build-2', [k.digest]);
    await index.release('build-2');
    await index.release('build-1');
    expect(leaseRows()).to.equal(0);
  });

  it('reads when a record was made without counting it as a use', async () => {
    const k = key('a');
    await index.put(k, { result: fs('snap-a', ['a']), size: 5 });
    clock = 5000;
    expect(index.createdAt([k.digest, sha256('nope')])).to.deep.equal(new Map([[k.digest, 1000]]));
    index.close();
    index = open();
    expect(index.du().entries[0]?.lastUsed).to.equal(1000);
  });

  it('returns nothing for a key it never stored', async () => {
    expect(await index.get(sha256('nope'))).to.equal(undefined);
  });

  it('prunes least recently used first down to keep-storage, returning the snapshots and blobs nothing else uses', async () => {
    const old = key('old');
    const mid = key('mid');
    const fresh = key('fresh');
    await index.put(old, { result: fs('s-old', ['shared', 'old']), size: 10 });
    clock = 2000;
    await index.put(mid, { result: fs('s-mid', ['shared', 'mid']), size: 10 });
    clock = 3000;
    await index.put(fresh, { result: fs('s-fresh', ['shared', 'fresh']), size: 10 });
    clock = 4000;
    await index.get(old.digest); // now the old one is the most recently used
    const plan = index.prune({ reservedSpace: 15 });
    expect(plan.keys).to.deep.equal([mid.digest, fresh.digest]);
    expect(plan.snapshots).to.deep.equal(['s-mid', 's-fresh']);
    expect(plan.blobs).to.deep.equal([sha256('mid'), sha256('fresh')]);
    expect(plan.reclaimed).to.equal(20);
    expect(index.du()).to.deep.include({ count: 1, size: 10 });
  });

  it('prunes only what was last used before `until`, and keeps what a kept record was built on', async () => {
    const parent = key('parent');
    const child1 = key('child', [parent.digest]);
    await index.put(parent, { result: fs('s-p', ['p']), size: 1 });
    await index.put(child1, { result: fs('s-c', ['p', 'c']), size: 1 });
    clock = 5000;
    await index.put(key('new'), { result: fs('s-n', ['n']), size: 1 });
    expect(index.prune({ until: 3000 }).snapshots).to.deep.equal(['s-c', 's-p']);
    expect(index.du().count).to.equal(1);
  });

  it('hands back the snapshot and blobs of a result that a forced rebuild replaced, once nothing uses them', async () => {
    const k = key('rebuilt');
    await index.put(k, { result: fs('s-first', ['base', 'first']), size: 1 });
    await index.put(k, { result: fs('s-second', ['base', 'second']), size: 1 });
    const plan = index.prune({ reservedSpace: 100 });
    expect(plan.keys).to.deep.equal([]);
    expect(plan.snapshots).to.deep.equal(['s-first']);
    expect(plan.blobs).to.deep.equal([sha256('first')]);
    expect(index.prune({ reservedSpace: 100 }).snapshots).to.deep.equal([]);
  });

  it('never prunes what a live process leases, and ignores the lease once that process died', async () => {
    const k = key('held');
    await index.put(k, { result: fs('s-held', ['h']), size: 1 });
    const holder = spawn(NODE, [CHILD, 'hold', root, 'build-x', k.digest], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    expect(index.prune({ all: true }).keys).to.deep.equal([]);
    expect(index.du().entries[0]?.leased).to.equal(true);
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    expect(index.prune({ all: true }).keys).to.deep.equal([k.digest]);
  });

  it('stays correct with two processes writing and reading one cache.db at once', async () => {
    const outs = await Promise.all([child(['hammer', root, 'a', '2000']), child(['hammer', root, 'b', '2000'])]);
    const spans = outs.map((o) => o.trim().split(' '));
    expect(spans.map((s) => s.slice(0, 2).join(' '))).to.deep.equal(['a done', 'b done']);
    // The premise of the test: each child began before the other had finished, so they really ran at once.
    const [a, b] = spans.map((s) => ({ start: Number(s[2]), end: Number(s[3]) }));
    expect(a !== undefined && b !== undefined && a.start < b.end && b.start < a.end).to.equal(true);
    const du = index.du();
    expect(du.count).to.equal(4000);
    expect(du.size).to.equal(2 * ((1999 * 2000) / 2));
    for (const name of ['a', 'b']) {
      for (const i of [0, 1000, 1999]) {
        const k = cacheKey({ v: 1, op: `${name}-${i}`, opText: '', inputs: [], content: {}, args: {}, platform: 'linux/amd64' });
        expect((await index.get(k.digest))?.result.snapshot).to.equal(`${name}-${i}`);
      }
    }
  });
});
