import { touchLateCopy } from '../lib/contexts.js';
import { measureAlternating } from '../lib/measure.js';
import { ratioOfRows } from '../lib/result.js';
import { BUILDAH_LAYERS, ensureBuilt } from './multi-stage-state.js';
import type { Scenario } from './scenario.js';

/** One source file edited under the last COPY: everything before it is a hit, that COPY and what follows rerun. */
export const lateCopyChange: Scenario = {
  id: 'late-copy-change',
  title: 'Rebuild after one file changed under a late COPY',
  goal: '≤ 0.5× buildah',
  async run(env, result) {
    const state = await ensureBuilt(env);
    env.tsbuild.peakRssKiB = 0;   // the peak of the measured runs only, not of the untimed set-up builds
    result.rows = await measureAlternating([
      {
        label: 'tsbuild', role: 'tsbuild', command: 'edit static/page7.txt; tsbuild build ctx',
        before: (rep) => touchLateCopy(state.ctx, `tsbuild-${rep}`),
        run: async () => (await env.tsbuild.build(state.root, state.ctx.dir)).ms,
      },
      {
        label: 'buildah', role: 'peer', command: 'edit static/page7.txt; buildah bud --layers ctx',
        before: (rep) => touchLateCopy(state.ctx, `buildah-${rep}`),
        run: async () => (await state.buildah.bud(state.ctx.dir, state.tag, BUILDAH_LAYERS)).ms,
      },
    ], env.reps, env.log);
    const ratio = ratioOfRows(result, 'tsbuild', 'buildah', 0.5);
    if (ratio !== undefined) result.ratios.push(ratio);
  },
  async replay(env, tsbuild) {
    const state = await ensureBuilt(env);
    await touchLateCopy(state.ctx, 'profile');
    await tsbuild.build(state.root, state.ctx.dir);
  },
};
