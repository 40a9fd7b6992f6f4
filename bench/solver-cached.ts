// Benchmark: a generated 1,000-vertex graph, fully cached, solves in under a second (fake worker, real sqlite index).
// Run: scripts/node dist/bench/solver-cached.js
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteCacheIndex, solve } from '../solver/index.js';
import { FakeImages, FakeWorker, graphOf } from '../solver/testing/index.js';
import type { StageSpec, StepSpec } from '../solver/testing/index.js';

const STAGES = 10;
const STEPS = 99; // + FROM = 100 vertices per stage

function specs(): StageSpec[] {
  return Array.from({ length: STAGES }, (_, s) => {
    const steps: StepSpec[] = Array.from({ length: STEPS }, (_, i): StepSpec => {
      if (i % 10 === 3) return { copy: ['src'], dest: `/app/${i}/` };
      if (i % 10 === 5) return { env: `V${i}=${s}` };
      if (i % 10 === 7 && s > 0) return { copy: ['1'], dest: `/from/${i}/`, from: s - 1 }; // the file step 1 wrote
      return { run: `step ${s} ${i}`, args: { N: String(i) } };
    });
    return { name: `stage${s}`, from: { image: `img${s % 3}` }, steps };
  });
}

const root = mkdtempSync(join(tmpdir(), 'tsbuild-bench-'));
try {
  const worker = new FakeWorker();
  worker.context = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`src/f${i}.ts`, `content ${i}`]));
  const images = new FakeImages();
  const graph = graphOf(specs());
  const context = { kind: 'context' as const, dir: root, excludes: [] };
  const cache = SqliteCacheIndex.open(join(root, 'cache'));
  const cold = performance.now();
  await solve(graph, { worker, images, cache, context, concurrency: 8 });
  const coldMs = performance.now() - cold;
  const warm = performance.now();
  const result = await solve(graph, { worker, images, cache, context, concurrency: 8 });
  const warmMs = performance.now() - warm;
  const cached = result.records.filter((r) => r.cached).length;
  cache.close();
  console.log(`solver-cached: ${graph.vertices.length} vertices, ${cached} cached; cold ${coldMs.toFixed(0)} ms, fully cached ${warmMs.toFixed(0)} ms (${(warmMs / graph.vertices.length).toFixed(3)} ms/vertex)`);
  if (cached !== graph.vertices.length) throw new Error(`expected every vertex cached, got ${cached}`);
  if (warmMs >= 1000) {
    console.error('solver-cached: FAILED, a fully cached solve must take under 1 s');
    process.exitCode = 1;
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
