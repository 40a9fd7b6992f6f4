import { ensureBigBuilt } from './big-copy-state.js';
import { measureWarmRebuild } from './warm-rebuild.js';
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
    await measureWarmRebuild(env, result, state);
  },
  async replay(env, tsbuild) {
    const state = await ensureBigBuilt(env);
    await tsbuild.build(state.root, state.ctx.dir);
  },
};
