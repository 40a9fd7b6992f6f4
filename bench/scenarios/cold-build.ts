import { removeTree } from '../lib/remove-tree.js';
import { measureAlternating } from '../lib/measure.js';
import { ratioOfRows } from '../lib/result.js';
import { BUILDAH_LAYERS, multiStage } from './multi-stage-state.js';
import type { Scenario } from './scenario.js';

/** A cold two-stage build (empty state, base image pulled from the local registry) by each builder. */
export const coldBuild: Scenario = {
  id: 'cold-build',
  title: 'Cold multi-stage build (2 stages, 4 RUN, 4 COPY, base pulled)',
  async run(env, result) {
    const state = await multiStage(env);
    state.isBuilt = false;
    env.tsbuild.peakRssKiB = 0;   // the peak of the measured runs only, not of the untimed set-up builds
    result.rows = await measureAlternating([
      {
        label: 'tsbuild', role: 'tsbuild', command: 'tsbuild build --root EMPTY ctx',
        before: async () => { await removeTree(state.root); },
        run: async () => (await env.tsbuild.build(state.root, state.ctx.dir)).ms,
      },
      {
        label: 'buildah', role: 'peer', command: 'buildah bud --layers ctx (empty storage)',
        before: () => state.buildah.reset(),
        run: async () => (await state.buildah.bud(state.ctx.dir, state.tag, BUILDAH_LAYERS)).ms,
      },
    ], env.reps, env.log);
    state.isBuilt = true;
    const ratio = ratioOfRows(result, 'tsbuild', 'buildah');
    if (ratio !== undefined) result.ratios.push(ratio);
  },
  async replay(env, tsbuild) {
    const state = await multiStage(env);
    await removeTree(state.root);
    await tsbuild.build(state.root, state.ctx.dir);
  },
};
