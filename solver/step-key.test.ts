import { expect } from 'chai';
import { predict } from './predict.js';
import { graphOf } from './testing/graph-of.js';
import type { StageSpec } from './testing/graph-of.js';
import { Harness } from './testing/harness.js';

// predict() (`tsbuild plan`) and solve() (`tsbuild build`) key, look up and explain steps through step-key.ts: what
// plan says of a step must be what the next build does with it.

const app = (opts: { label?: string; run?: string } = {}): StageSpec[] => [
  { from: { image: 'alpine:3' }, steps: [{ label: opts.label ?? 'v1' }, { copy: ['src'], dest: '/app/' }, { run: opts.run ?? 'make' }] },
];

describe('step keys: plan agrees with the next build', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
    h.worker.context = { 'src/a.ts': 'a' };
  });
  afterEach(() => h.dispose());

  const changes: [string, () => StageSpec[], () => void][] = [
    ['nothing changed', () => app(), () => undefined],
    ['only a LABEL changed (config-only: the steps after it still hit)', () => app({ label: 'v2' }), () => undefined],
    ['the RUN changed', () => app({ run: 'make test' }), () => undefined],
    ['a copied file changed', () => app(), () => { h.worker.context = { 'src/a.ts': 'a2' }; }],
  ];
  for (const [name, next, edit] of changes) {
    it(`predicts the hits, misses, keys and reasons of the next build when ${name}`, async () => {
      await h.solve(graphOf(app()));
      edit();
      const graph = graphOf(next());
      const predicted = await predict(graph, { worker: h.worker, cache: h.cache, context: { kind: 'context', dir: '/nonexistent', excludes: [] }, signal: new AbortController().signal });
      const built = await h.solve(graph);
      expect(predicted.every((p) => p.wouldHit), 'every step predicted to hit').to.equal(name === 'nothing changed');
      for (const p of predicted) {
        const record = built.records.find((r) => r.id === p.id);
        expect(record?.cached, `${p.id} hit`).to.equal(p.wouldHit);
        if (p.key !== undefined) expect(record?.key, `${p.id} key`).to.equal(p.key);
        if (p.reasons[0]?.kind !== 'parent') expect(record?.reasons, `${p.id} reasons`).to.deep.equal(p.reasons);
      }
    });
  }
});
