import type { BenchEnv } from '../lib/bench-env.js';
import { multiStageContext, type Context } from '../lib/contexts.js';
import type { Buildah } from '../lib/tools.js';

/** The multi-stage context and each builder's state for it, shared by the cold, no-op and late-COPY scenarios. */
export interface MultiStage {
  ctx: Context;
  /** tsbuild's `--root` for this context. */
  root: string;
  buildah: Buildah;
  /** The image name buildah tags its result with (local storage only). */
  tag: string;
  /** True once both builders hold a complete build of the context (cache warm). */
  isBuilt: boolean;
}

const states = new WeakMap<BenchEnv, MultiStage>();

/** Buildah's flags for every multi-stage build: cache each step, as tsbuild does. */
export const BUILDAH_LAYERS = ['--layers'];

/** The shared state, created (context generated, roots empty) on first use. */
export async function multiStage(env: BenchEnv): Promise<MultiStage> {
  const known = states.get(env);
  if (known !== undefined) return known;
  const state: MultiStage = {
    ctx: await multiStageContext(env.work, env.base),
    root: await env.freshRoot('multi-stage'),
    buildah: env.buildah('multi-stage'),
    tag: 'localhost/bench-multi-stage:1',
    isBuilt: false,
  };
  states.set(env, state);
  return state;
}

/** Builds once with each builder (untimed) unless the cold scenario already left both caches warm. */
export async function ensureBuilt(env: BenchEnv): Promise<MultiStage> {
  const state = await multiStage(env);
  if (!state.isBuilt) {
    env.log('  warming both caches with one untimed build each');
    await env.tsbuild.build(state.root, state.ctx.dir);
    await state.buildah.bud(state.ctx.dir, state.tag, BUILDAH_LAYERS);
    state.isBuilt = true;
  }
  return state;
}
