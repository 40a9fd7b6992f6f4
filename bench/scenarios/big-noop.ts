import { measureAlternating } from '../lib/measure.js';
import { ratioOfRows } from '../lib/result.js';
import { ensureBigBuilt } from './big-copy-state.js';
import type { Scenario } from './scenario.js';

/**
 * Rebuilding the 200 MB / 20,000-file COPY context with nothing changed: the cache check of a big context, which
 * has to look at every file's metadata but should read none of their bytes.
 */
export const bigNoop: Scenario = {
  id: 'big-noop',
  title: 'No-op rebuild of the 200 MB / 20,000-file COPY (all cached)',
  goal: '≤ 0.1× buildah',
  async run(env, result) {
    const state = await ensureBigBuilt(env);
    env.log('  warming both caches with one untimed build each');
    await env.tsbuild.build(state.root, state.ctx.dir);
    await state.buildah.bud(state.ctx.dir, state.tag, ['--layers']);
    env.tsbuild.peakRssKiB = 0;   // the peak of the measured runs only, not of the untimed set-up builds
    result.rows = await measureAlternating([
      { label: 'tsbuild', role: 'tsbuild', command: 'tsbuild build ctx (warm)', run: async () => (await env.tsbuild.build(state.root, state.ctx.dir)).ms },
      { label: 'buildah', role: 'peer', command: 'buildah bud --layers ctx (warm)', run: async () => (await state.buildah.bud(state.ctx.dir, state.tag, ['--layers'])).ms },
    ], env.reps, env.log);
    const ratio = ratioOfRows(result, 'tsbuild', 'buildah', 0.1);
    if (ratio !== undefined) result.ratios.push(ratio);
  },
  async replay(env, tsbuild) {
    const state = await ensureBigBuilt(env);
    await tsbuild.build(state.root, state.ctx.dir);
  },
};
