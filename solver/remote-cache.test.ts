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

  it('with a min export, reruns the stages outside the target chain and still hits the target chain', async () => {
    const remote = new FakeRemoteCache(cacheExport(graphOf(twoStages()), built, 'min'));
    const r = await b.solve(graphOf(twoStages()), { remote });
    expect(r.records.filter((x) => !x.cached).map((x) => x.id)).to.deep.equal(['s0.1', 's0.2']);
    expect(step(r, 's1.1').cacheSource).to.equal('remote');
  });

  it('exports one record per key: the shared FROM once, and min mode only the target chain', () => {
    const max = cacheExport(graphOf(twoStages()), built, 'max');
    const min = cacheExport(graphOf(twoStages()), built, 'min');
    expect(max.records).to.have.length(6); // 7 vertices, both FROM alpine:3 share a key
    expect(min.records.map((x) => x.locator)).to.deep.equal(['Dockerfile#1/0', 'Dockerfile#1/1', 'Dockerfile#1/2', 'Dockerfile#1/3']);
    expect(max.contents).to.have.length(1); // the COPY --from's selection over the build stage's result
    expect(min.contents).to.deep.equal([]);
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
