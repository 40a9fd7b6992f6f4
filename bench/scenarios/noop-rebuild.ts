import { ensureBuilt } from './multi-stage-state.js';
import { measureWarmRebuild } from './warm-rebuild.js';
import type { Scenario } from './scenario.js';

/** Rebuilding the multi-stage context with nothing changed: every step a cache hit. */
export const noopRebuild: Scenario = {
  id: 'noop-rebuild',
  title: 'No-op rebuild of the multi-stage build (all steps cached)',
  goal: '≤ 0.1× buildah',
  async run(env, result) {
    const state = await ensureBuilt(env);
    await measureWarmRebuild(env, result, state);
  },
  async replay(env, tsbuild) {
    const state = await ensureBuilt(env);
    await tsbuild.build(state.root, state.ctx.dir);
  },
};
