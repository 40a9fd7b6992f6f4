import { measureAlternating } from '../lib/measure.js';
import { ratioOfRows } from '../lib/result.js';
import { BUILDAH_LAYERS, ensureBuilt } from './multi-stage-state.js';
import type { Scenario } from './scenario.js';

/** Rebuilding the multi-stage context with nothing changed: every step a cache hit. */
export const noopRebuild: Scenario = {
  id: 'noop-rebuild',
  title: 'No-op rebuild of the multi-stage build (all steps cached)',
  goal: '≤ 0.1× buildah',
  async run(env, result) {
    const state = await ensureBuilt(env);
    env.tsbuild.peakRssKiB = 0;   // the peak of the measured runs only, not of the untimed set-up builds
    result.rows = await measureAlternating([
      { label: 'tsbuild', role: 'tsbuild', command: 'tsbuild build ctx (warm)', run: async () => (await env.tsbuild.build(state.root, state.ctx.dir)).ms },
      { label: 'buildah', role: 'peer', command: 'buildah bud --layers ctx (warm)', run: async () => (await state.buildah.bud(state.ctx.dir, state.tag, BUILDAH_LAYERS)).ms },
    ], env.reps, env.log);
    const ratio = ratioOfRows(result, 'tsbuild', 'buildah', 0.1);
    if (ratio !== undefined) result.ratios.push(ratio);
  },
  async replay(env, tsbuild) {
    const state = await ensureBuilt(env);
    await tsbuild.build(state.root, state.ctx.dir);
  },
};
