import { expect } from 'chai';
import type { Digest } from '../registry/oci/index.js';
import { cacheExport } from './cache-export.js';
import { materialize } from './materialize.js';
import type { SolveResult } from './solve.js';
import { FakeRemoteCache } from './testing/fake-remote-cache.js';
import { graphOf } from './testing/graph-of.js';
import type { StageSpec } from './testing/graph-of.js';
import { Harness } from './testing/harness.js';

// Two harnesses sharing one layer map are two CI runners: A builds and exports, B starts from an empty root with
// A's export as its remote cache.

const twoStages = (finish = 'finish'): StageSpec[] => [
  { name: 'build', from: { image: 'alpine:3' }, steps: [{ copy: ['src'], dest: '/src/' }, { run: 'compile' }] },
  { from: { image: 'alpine:3' }, steps: [{ copy: ['compile'], dest: '/bin/', from: 0 }, { copy: ['app.txt'], dest: '/' }, { run: finish }] },
];
const CONTEXT = { 'src/a.ts': 'a', 'app.txt': 'v1' };

function step(result: SolveResult, id: string): SolveResult['records'][number] {
  const record = result.records.find((r) => r.id === id);
  if (record === undefined) throw new Error(`no record for ${id}`);
  return record;
}

const layersOf = (r: SolveResult, id: string): Digest[] => (r.results[id]?.layers ?? []).map((l) => l.descriptor.digest);

describe('solve with a remote cache (two runners)', () => {
  let blobs: Map<Digest, Record<string, string>>;
  let a: Harness;
  let b: Harness;
  let built: SolveResult;
  beforeEach(async () => {
    blobs = new Map();
    a = new Harness(blobs);
    b = new Harness(blobs);
    a.worker.context = { ...CONTEXT };
    b.worker.context = { ...CONTEXT };
    built = await a.solve(graphOf(twoStages()));
  });
  afterEach(() => {
    a.dispose();
    b.dispose();
  });

  it('takes every step from a max export on an empty root without running, pulling or fetching anything', async () => {
    const remote = new FakeRemoteCache(cacheExport(graphOf(twoStages()), built, 'max'));
    const r = await b.solve(graphOf(twoStages()), { remote });
    expect(r.records.map((x) => [x.id, x.cached, x.cacheSource, x.cacheRef])).to.deep.equal(
      r.records.map((x) => [x.id, true, 'remote', remote.ref]),
    );
    expect(b.worker.calls.filter((c) => c.method !== 'contentDigest')).to.deep.equal([]);
    expect(b.images.pulls).to.equal(0);
    expect(remote.fetched).to.deep.equal([]);
    expect(r.results['s1.3']?.lazy).to.deep.equal({ ref: remote.ref });
    expect(layersOf(r, 's1.3')).to.deep.equal(layersOf(built, 's1.3'));
    expect(b.events.some((e) => e.type === 'cached' && e.source === remote.ref)).to.equal(true);
  });

  it('names the files that changed against the export, from the per-file digests it carries (and says only that they differ without them)', async () => {
    const exported = cacheExport(graphOf(twoStages()), built, 'max');
    const copy = exported.records.find((x) => x.locator.endsWith('/2') && x.files?.['context'] !== undefined);
    expect(copy?.files?.['context'], 'the COPY app.txt record carries its files').to.have.keys(['app.txt']);
    b.worker.context['app.txt'] = 'v2';
    const r = await b.solve(graphOf(twoStages()), { remote: new FakeRemoteCache(exported) });
    const [reason, ...others] = step(r, 's1.2').reasons;
    expect(others).to.deep.equal([]);
    expect(reason).to.deep.include({ kind: 'content', source: 'context', count: 1 });
    const change = reason?.kind === 'content' ? reason.changes[0] : undefined;
    expect(change?.path).to.equal('app.txt');
    expect(change?.before).to.equal(copy?.files?.['context']?.['app.txt']);
    expect(change?.after).to.be.a('string').and.not.equal(change?.before);
    const withoutFiles = { ...exported, records: exported.records.map(({ files: _files, ...rest }) => rest) };
    const c = new Harness(blobs);
    c.worker.context = { ...CONTEXT, 'app.txt': 'v2' };
    try {
      const r2 = await c.solve(graphOf(twoStages()), { remote: new FakeRemoteCache(withoutFiles) });
      expect(step(r2, 's1.2').reasons).to.deep.equal([{ kind: 'content', source: 'context', changes: [], count: 0, unlisted: true }]);
    } finally {
      c.dispose();
    }
  });

  it('misses only the steps after a changed file and fetches the final chain, never the build stage’s layers', async () => {
    const remote = new FakeRemoteCache(cacheExport(graphOf(twoStages()), built, 'max'));
    b.worker.context['app.txt'] = 'v2';
    const r = await b.solve(graphOf(twoStages()), { remote });
    expect(r.records.filter((x) => !x.cached).map((x) => x.id)).to.deep.equal(['s1.2', 's1.3']);
    expect(remote.fetched).to.deep.equal(layersOf(built, 's1.1'));
    const buildOnly = layersOf(built, 's0.2').slice(1); // above the shared base layer
    expect(remote.fetched.filter((d) => buildOnly.includes(d))).to.deep.equal([]);
    expect(b.worker.filesOf(r.results['s1.3'] ?? { snapshot: null, layers: [] })).to.include({ '/bin/compile': 'compile', '/app.txt': 'v2', '/finish': 'finish' });
  });

  it('with a min export, never runs the build stage: the COPY --from is keyed by the fact about its key', async () => {
    // BuildKit's min mode exports the build stage's cache keys without results; its solver then takes the final
    // stage from the cache without solving the build stage. Before, tsbuild reran every step of it.
    const remote = new FakeRemoteCache(cacheExport(graphOf(twoStages()), built, 'min'));
    const r = await b.solve(graphOf(twoStages()), { remote });
    // s0.0 is FROM alpine:3, one key with s1.0: a remote hit either way.
    expect(r.records.map((x) => [x.id, x.cached])).to.deep.equal([['s0.0', true], ['s1.0', true], ['s1.1', true], ['s1.2', true], ['s1.3', true]]);
    expect(step(r, 's1.1').cacheSource).to.equal('remote');
    expect(b.worker.calls.filter((c) => c.method === 'exec' || c.method === 'copy')).to.deep.equal([]);
    expect(r.results['s0.2']).to.equal(undefined);
    expect(r.skipped).to.deep.equal(['s0.1', 's0.2']);
    expect(r.keys['s0.2']?.digest).to.equal(built.keys['s0.2']?.digest);
    expect(b.events.filter((e) => 'vertex' in e && (e.vertex === 's0.1' || e.vertex === 's0.2'))).to.deep.equal([]);
    // What it learnt is exported again: a third runner hits as well.
    const again = cacheExport(graphOf(twoStages()), r, 'min');
    expect(again.contents).to.deep.equal(cacheExport(graphOf(twoStages()), built, 'min').contents);
  });

  it('with a min export, never runs a stage only another deferred stage is built on (FROM deps AS build)', async () => {
    // Before, `deps` (whose result no fact names: the final stage copies from `build`) was started at once, for nothing.
    const chained = (): StageSpec[] => [
      { name: 'deps', from: { image: 'alpine:3' }, steps: [{ copy: ['src'], dest: '/src/' }, { run: 'install' }] },
      { name: 'build', from: { stage: 0 }, steps: [{ run: 'compile' }] },
      { from: { image: 'alpine:3' }, steps: [{ copy: ['compile'], dest: '/bin/', from: 1 }, { run: 'finish' }] },
    ];
    await a.solve(graphOf(chained()));
    const exported = cacheExport(graphOf(chained()), await a.solve(graphOf(chained())), 'min');
    const r = await b.solve(graphOf(chained()), { remote: new FakeRemoteCache(exported) });
    expect(b.worker.calls.filter((c) => c.method === 'exec' || c.method === 'copy')).to.deep.equal([]);
    expect(r.skipped).to.deep.equal(['s0.1', 's0.2', 's1.1']);   // FROM deps is deps' result itself
    // A changed `build` step has no fact: the stage runs, and runs `deps` under it first.
    const changed = chained();
    changed[1] = { name: 'build', from: { stage: 0 }, steps: [{ run: 'compile' }, { run: 'strip' }] };
    const c = new Harness(blobs);
    c.worker.context = { ...CONTEXT };
    const ran = await c.solve(graphOf(changed), { remote: new FakeRemoteCache(exported) });
    c.dispose();
    expect(ran.records.filter((x) => !x.cached).map((x) => x.id)).to.deep.equal(['s0.1', 's0.2', 's1.1', 's1.2']);
    expect(ran.records.find((x) => x.id === 's2.1')?.cacheSource).to.equal('remote');   // same /compile: still a hit
  });

  it('with a min export and a changed build-stage file, runs the build stage at once (no fact names its new key)', async () => {
    const remote = new FakeRemoteCache(cacheExport(graphOf(twoStages()), built, 'min'));
    b.worker.context['src/a.ts'] = 'a2';
    const r = await b.solve(graphOf(twoStages()), { remote });
    expect(r.records.filter((x) => !x.cached).map((x) => x.id)).to.deep.equal(['s0.1', 's0.2']);
    expect(r.results['s0.2']?.snapshot).to.be.a('string');
    // The compiled output did not change: the final stage still hits.
    expect(step(r, 's1.1').cacheSource).to.equal('remote');
    expect(step(r, 's0.2').durationMs).to.be.at.least(0);
  });

  it('with a min export from before key-named facts, runs the build stage as before', async () => {
    const exported = cacheExport(graphOf(twoStages()), built, 'min');
    const remote = new FakeRemoteCache({ ...exported, contents: exported.contents.filter((c) => c.chain !== undefined) });
    const r = await b.solve(graphOf(twoStages()), { remote });
    expect(r.records.filter((x) => !x.cached).map((x) => x.id)).to.deep.equal(['s0.1', 's0.2']);
    expect(step(r, 's1.1').cacheSource).to.equal('remote');
  });

  it('runs a deferred build stage when a step needs its files, and locates its failure at its own step', async () => {
    const remote = new FakeRemoteCache(cacheExport(graphOf(twoStages()), built, 'min'));
    // The final stage's COPY --from now selects another file: no fact, so the deferred stage runs for it.
    const changed: StageSpec[] = [twoStages()[0] as StageSpec, { from: { image: 'alpine:3' }, steps: [{ copy: ['src'], dest: '/srcs/', from: 0 }, { run: 'finish' }] }];
    const r = await b.solve(graphOf(changed), { remote });
    expect(r.records.filter((x) => !x.cached).map((x) => x.id)).to.deep.equal(['s0.1', 's0.2', 's1.1', 's1.2']);
    // The fake copy keeps the selected path under dest: the build stage's /src/src/a.ts, run here for this COPY.
    expect(b.worker.filesOf(r.results['s1.2'] ?? { snapshot: null, layers: [] })).to.deep.include({ '/srcs/src/src/a.ts': 'a' });
    const c = new Harness(blobs);
    c.worker.context = { ...CONTEXT };
    c.worker.execHook = (op) => { if (op.argv.at(-1) === 'compile') throw new Error('compiler crashed'); };
    let err: unknown;
    try { await c.solve(graphOf(changed), { remote }); } catch (e) { err = e; }
    c.dispose();
    expect(String(err)).to.contain('RUN compile').and.contain('compiler crashed');
  });

  it('exports one record per key: the shared FROM once, and min mode only the target chain', () => {
    const max = cacheExport(graphOf(twoStages()), built, 'max');
    const min = cacheExport(graphOf(twoStages()), built, 'min');
    expect(max.records).to.have.length(6); // 7 vertices, both FROM alpine:3 share a key
    expect(min.records.map((x) => x.locator)).to.deep.equal(['Dockerfile#1/0', 'Dockerfile#1/1', 'Dockerfile#1/2', 'Dockerfile#1/3']);
    expect(max.contents).to.have.length(1); // the COPY --from's selection over the build stage's result
    expect(max.contents[0]?.chain).to.be.a('string');
    // min holds no result of the build stage: the fact is kept by the key of the step that made it.
    expect(min.contents.map((c) => [c.chain, c.source])).to.deep.equal([[undefined, built.keys['s0.2']?.digest]]);
  });

  it('stores an opened remote hit in the local index, so the next build on that root hits locally', async () => {
    const remote = new FakeRemoteCache(cacheExport(graphOf(twoStages()), built, 'max'));
    b.worker.context['app.txt'] = 'v2';
    await b.solve(graphOf(twoStages()), { remote });
    const again = await b.solve(graphOf(twoStages()));
    expect(step(again, 's1.1').cacheSource).to.equal('local');
    expect(step(again, 's1.3').cacheSource).to.equal('local');
  });

  it('prefers a local hit to a remote one', async () => {
    const remote = new FakeRemoteCache(cacheExport(graphOf(twoStages()), built, 'max'));
    const r = await a.solve(graphOf(twoStages()), { remote });
    expect(r.records.every((x) => x.cacheSource === 'local')).to.equal(true);
  });

  it('explains a miss on an empty root against the remote record at the same step', async () => {
    const remote = new FakeRemoteCache(cacheExport(graphOf(twoStages()), built, 'max'));
    const r = await b.solve(graphOf(twoStages('finish --fast')), { remote });
    expect(step(r, 's1.3').reasons).to.deep.equal([{ kind: 'instruction', before: 'RUN finish', after: 'RUN finish --fast' }]);
  });

  it('materializes a lazy result into the files the other runner built', async () => {
    const remote = new FakeRemoteCache(cacheExport(graphOf(twoStages()), built, 'max'));
    const r = await b.solve(graphOf(twoStages()), { remote });
    const lazy = r.results['s1.3'];
    if (lazy === undefined) throw new Error('no result');
    const signal = new AbortController().signal;
    const opened = await materialize(lazy, { worker: b.worker, remote, signal, progress: { log: () => undefined, status: () => undefined } });
    expect(opened.lazy).to.equal(undefined);
    expect(b.worker.filesOf(opened)).to.include({ '/bin/compile': 'compile', '/app.txt': 'v1', '/finish': 'finish' });
    expect(remote.fetched).to.deep.equal(layersOf(built, 's1.3'));
  });
});
