import type { BenchEnv } from '../lib/bench-env.js';
import { measureAlternating } from '../lib/measure.js';
import { ratioOfRows, type ScenarioResult } from '../lib/result.js';
import type { Buildah } from '../lib/tools.js';

/** What a no-op rebuild needs: a context both builders have already built (their caches warm). */
export interface WarmBuild { ctx: { dir: string }; root: string; buildah: Buildah; tag: string }

/**
 * A rebuild with nothing changed, tsbuild against `buildah bud --layers` alternating, and its ratio against the
 * issue's goal (≤ 0.1× buildah): the no-op scenarios differ only in the context they rebuild.
 */
export async function measureWarmRebuild(env: BenchEnv, result: ScenarioResult, state: WarmBuild): Promise<void> {
  env.tsbuild.peakRssKiB = 0;   // the peak of the measured runs only, not of the untimed set-up builds
  result.rows = await measureAlternating([
    { label: 'tsbuild', role: 'tsbuild', command: 'tsbuild build ctx (warm)', run: async () => (await env.tsbuild.build(state.root, state.ctx.dir)).ms },
    { label: 'buildah', role: 'peer', command: 'buildah bud --layers ctx (warm)', run: async () => (await state.buildah.bud(state.ctx.dir, state.tag, ['--layers'])).ms },
  ], env.reps, env.log);
  const ratio = ratioOfRows(result, 'tsbuild', 'buildah', 0.1);
  if (ratio !== undefined) result.ratios.push(ratio);
}
