import { expect } from 'chai';
import type { SolveResult } from './solve.js';
import { graphOf } from './testing/graph-of.js';
import type { StageSpec } from './testing/graph-of.js';
import { Harness } from './testing/harness.js';

const app = (run = 'make', args: Record<string, string> = {}): StageSpec[] => [
  { from: { image: 'alpine:3' }, steps: [{ workdir: '/app' }, { copy: ['src'], dest: '/app/' }, { run, args }] },
];

function step(result: SolveResult, id: string): SolveResult['records'][number] {
  const record = result.records.find((r) => r.id === id);
  if (record === undefined) throw new Error(`no record for ${id}`);
  return record;
}

describe('solve: the cache matrix', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
    h.worker.context = { 'src/a.ts': 'a', 'src/b.ts': 'b', 'README.md': 'r' };
  });
  afterEach(() => h.dispose());

  it('builds everything the first time and says each step is new', async () => {
    const r = await h.solve(graphOf(app()));
    expect(r.records.map((x) => x.cached)).to.deep.equal([false, false, false, false]);
    expect(r.records.every((x) => x.reasons[0]?.kind === 'new')).to.equal(true);
    expect(h.worker.filesOf(r.results['s0.3'] ?? { snapshot: null, layers: [] })).to.include({ '/app/src/a.ts': 'a', '/make': 'make' });
  });

  it('takes every step from the cache when nothing changed, without running anything, even after reopening the index', async () => {
    await h.solve(graphOf(app()));
    h.reopen();
    const runs = h.worker.count('exec') + h.worker.count('copy');
    const r = await h.solve(graphOf(app()));
    expect(r.records.map((x) => x.cached)).to.deep.equal([true, true, true, true]);
    expect(h.worker.count('exec') + h.worker.count('copy')).to.equal(runs);
    expect(h.images.pulls).to.equal(1);
  });

  it('misses when the instruction changes and names the old and new text', async () => {
    await h.solve(graphOf(app('make')));
    const r = await h.solve(graphOf(app('make test')));
    expect(step(r, 's0.2').cached).to.equal(true);
    expect(step(r, 's0.3').reasons).to.deep.equal([{ kind: 'instruction', before: 'RUN make', after: 'RUN make test' }]);
  });

  it('misses when a build arg the step uses changes and names the arg', async () => {
    await h.solve(graphOf(app('make', { V: '1' })));
    const r = await h.solve(graphOf(app('make', { V: '2' })));
    expect(step(r, 's0.3').reasons).to.deep.equal([{ kind: 'arg', name: 'V', before: '1', after: '2' }]);
  });

  it('misses when a copied file changes, names the file, and cascades to the next step as a parent miss', async () => {
    await h.solve(graphOf(app()));
    h.worker.context['src/b.ts'] = 'b2';
    const r = await h.solve(graphOf(app()));
    const copy = step(r, 's0.2');
    expect(copy.cached).to.equal(false);
    expect(copy.reasons).to.have.length(1);
    expect(copy.reasons[0]).to.deep.include({ kind: 'content', source: 'context', count: 1 });
    expect(copy.reasons[0]?.kind === 'content' && copy.reasons[0].changes.map((c) => c.path)).to.deep.equal(['src/b.ts']);
    expect(step(r, 's0.3').reasons).to.deep.equal([{ kind: 'parent', vertex: 's0.2', text: 'COPY src /app/' }]);
  });

  it('hits when a file outside the copied sources changes, and when the content digest is the same (mtime is the worker’s to ignore)', async () => {
    await h.solve(graphOf(app()));
    h.worker.context['README.md'] = 'changed';
    h.worker.context['src/a.ts'] = 'a'; // rewritten with the same bytes: a fresh mtime, the same content digest
    const r = await h.solve(graphOf(app()));
    expect(r.records.every((x) => x.cached)).to.equal(true);
  });

  it('misses on reordered steps and hits again once the order is restored', async () => {
    const ab: StageSpec[] = [{ from: 'scratch', steps: [{ run: 'a' }, { run: 'b' }] }];
    const ba: StageSpec[] = [{ from: 'scratch', steps: [{ run: 'b' }, { run: 'a' }] }];
    await h.solve(graphOf(ab));
    const swapped = await h.solve(graphOf(ba));
    expect(step(swapped, 's0.1').reasons).to.deep.equal([{ kind: 'instruction', before: 'RUN a', after: 'RUN b' }]);
    // `RUN a` stood first before: it moved after `RUN b`, which missed (an instruction change at its place).
    expect(step(swapped, 's0.2').reasons).to.deep.equal([{ kind: 'parent', vertex: 's0.1', text: 'RUN b' }]);
    const restored = await h.solve(graphOf(ab));
    expect(restored.records.every((x) => x.cached)).to.equal(true);
  });

  it('misses on a new base image digest with a base reason and rebuilds the steps on it', async () => {
    const on = (digest: `sha256:${string}`): StageSpec[] => [{ from: { image: 'alpine:3', digest }, steps: [{ run: 'make' }] }];
    const d1 = `sha256:${'1'.repeat(64)}` as const;
    const d2 = `sha256:${'2'.repeat(64)}` as const;
    await h.solve(graphOf(on(d1)));
    const r = await h.solve(graphOf(on(d2)));
    expect(step(r, 's0.0').reasons).to.deep.equal([{ kind: 'base', ref: 'alpine:3', before: d1, after: d2 }]);
    expect(step(r, 's0.1').reasons).to.deep.equal([{ kind: 'parent', vertex: 's0.0', text: 'FROM alpine:3' }]);
  });

  it('an ENV change misses the RUN after it with the variable that changed, not an instruction reason', async () => {
    const withEnv = (v: string): StageSpec[] => [{ from: 'scratch', steps: [{ env: `A=${v}` }, { run: 'make' }] }];
    await h.solve(graphOf(withEnv('1')));
    const r = await h.solve(graphOf(withEnv('2')));
    expect(step(r, 's0.1').reasons).to.deep.equal([{ kind: 'instruction', before: 'ENV A=1', after: 'ENV A=2' }]);
    expect(step(r, 's0.2').reasons).to.deep.equal([{ kind: 'setting', setting: 'ENV', name: 'A', before: '1', after: '2' }]);
  });

  it('a LABEL change misses only the LABEL: config-only steps do not invalidate the steps after them', async () => {
    const withLabel = (v: string): StageSpec[] => [{ from: 'scratch', steps: [{ label: `v=${v}` }, { run: 'make' }] }];
    await h.solve(graphOf(withLabel('1')));
    const r = await h.solve(graphOf(withLabel('2')));
    expect(step(r, 's0.1').cached).to.equal(false);
    expect(step(r, 's0.2').cached).to.equal(true);
  });

  it('a COPY --from a rebuilt stage still hits when the files it takes are the same', async () => {
    const two = (extra: string): StageSpec[] => [
      { name: 'build', from: 'scratch', steps: [{ run: extra }, { run: 'bin' }] },
      { from: 'scratch', steps: [{ copy: ['bin'], dest: '/usr/', from: 0 }] },
    ];
    await h.solve(graphOf(two('one')));
    const r = await h.solve(graphOf(two('two')));
    expect(step(r, 's0.2').cached).to.equal(false);
    expect(step(r, 's1.1').cached).to.equal(true);
  });

  it('rebuilds a hit whose snapshot the worker no longer has, saying it was evicted', async () => {
    const first = await h.solve(graphOf(app()));
    const snapshot = first.results['s0.3']?.snapshot;
    if (typeof snapshot !== 'string') throw new Error('expected a snapshot');
    h.worker.dropSnapshot(snapshot);
    const r = await h.solve(graphOf(app()));
    expect(step(r, 's0.2').cached).to.equal(true);
    expect(step(r, 's0.3').reasons).to.deep.equal([{ kind: 'evicted' }]);
  });

  it('--no-cache runs every step and says so', async () => {
    await h.solve(graphOf(app()));
    const r = await h.solve(graphOf(app()), { noCache: true });
    expect(r.records.map((x) => x.cached)).to.deep.equal([false, false, false, false]);
    expect(r.records.every((x) => x.reasons[0]?.kind === 'no-cache')).to.equal(true);
    expect(h.images.pulls).to.equal(2);
  });

  it('--no-cache-filter runs the named stage and the steps built on it, and takes the rest from the cache', async () => {
    const specs: StageSpec[] = [
      { name: 'deps', from: 'scratch', steps: [{ run: 'deps' }] },
      { name: 'build', from: { stage: 0 }, steps: [{ run: 'compile' }] },
      { name: 'other', from: 'scratch', steps: [{ run: 'other' }] },
    ];
    await h.solve(graphOf(specs));
    const r = await h.solve(graphOf(specs), { noCacheFilter: ['deps'] });
    const missed = r.records.filter((x) => !x.cached).map((x) => x.id);
    expect(missed).to.deep.equal(['s0.0', 's0.1', 's1.1']);
    // s1.1 is built on the forced stage: forced too, and it says by which flag.
    expect(step(r, 's1.1').reasons).to.deep.equal([{ kind: 'no-cache', flag: '--no-cache-filter deps' }]);
  });

  it('explains a step inserted before others as new, and the steps after it by their parent, never as an edit into a neighbour', async () => {
    const before: StageSpec[] = [{ name: 'app', from: 'scratch', steps: [{ run: 'one' }, { run: 'two' }, { run: 'three' }] }];
    const inserted: StageSpec[] = [{ name: 'app', from: 'scratch', steps: [{ run: 'inserted' }, { run: 'one' }, { run: 'two' }, { run: 'three' }] }];
    await h.solve(graphOf(before));
    const r = await h.solve(graphOf(inserted));
    const kinds = (id: string): string[] => step(r, id).reasons.map((x) => x.kind);
    expect(kinds('s0.1')).to.deep.equal(['new']);
    for (const id of ['s0.2', 's0.3', 's0.4']) expect(kinds(id), id).to.deep.equal(['parent']);
    // And the other way: removing it again, each step after it is found where it stood.
    const back = await h.solve(graphOf(before));
    for (const id of ['s0.1', 's0.2', 's0.3']) {
      expect(step(back, id).cached || step(back, id).reasons.every((x) => x.kind === 'parent' || x.kind === 'evicted'), id).to.equal(true);
    }
  });

  it('still says an instruction edited in place changed, from what to what', async () => {
    await h.solve(graphOf([{ name: 'app', from: 'scratch', steps: [{ run: 'make' }, { run: 'test' }] }]));
    const r = await h.solve(graphOf([{ name: 'app', from: 'scratch', steps: [{ run: 'make all' }, { run: 'test' }] }]));
    expect(step(r, 's0.1').reasons.map((x) => x.kind)).to.deep.equal(['instruction']);
  });

  it('stores each miss with the size of the layers it added', async () => {
    const r = await h.solve(graphOf(app()));
    expect(r.records.map((x) => x.size)).to.deep.equal([1000, 100, 100, 100]);
    expect(h.cache.du().size).to.equal(1300);
  });

  it('runs a step two solves of one process come to at once once, when they share runningSteps (bake targets)', async () => {
    const runningSteps = new Map();
    const [a, b] = await Promise.all([h.solve(graphOf(app()), { runningSteps }), h.solve(graphOf(app()), { runningSteps })]);
    // Each step ran in one of them; the other took it from the cache once it was stored.
    expect(h.images.pulls).to.equal(1);
    expect(h.worker.count('exec')).to.equal(1);
    expect(h.worker.count('copy')).to.equal(1);
    for (const id of ['s0.0', 's0.1', 's0.2', 's0.3']) expect([step(a, id).cached, step(b, id).cached].sort(), id).to.deep.equal([false, true]);
    expect(runningSteps.size).to.equal(0);
  });

  it('runs it in both without runningSteps (separate processes share only the cache)', async () => {
    await Promise.all([h.solve(graphOf(app())), h.solve(graphOf(app()))]);
    expect(h.worker.count('exec')).to.equal(2);
  });
});
