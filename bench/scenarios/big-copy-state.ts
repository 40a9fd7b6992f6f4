import type { BenchEnv } from '../lib/bench-env.js';
import { bigCopyContext, type Context } from '../lib/contexts.js';
import type { Buildah } from '../lib/tools.js';

/** The ~200 MB COPY context and each builder's state for it, shared by the COPY, push and re-push scenarios. */
export interface BigCopy {
  ctx: Context;
  bytes: number;
  files: number;
  root: string;
  buildah: Buildah;
  tag: string;
  isBuilt: boolean;
}

const states = new WeakMap<BenchEnv, BigCopy>();

/** The shared state, created (tree generated once per checkout, roots empty) on first use. */
export async function bigCopy(env: BenchEnv): Promise<BigCopy> {
  const known = states.get(env);
  if (known !== undefined) return known;
  env.log('  generating (or reusing) the 200 MB / 20,000-file tree in bench/work');
  const ctx = await bigCopyContext(env.work, env.base);
  const state: BigCopy = {
    ctx, bytes: ctx.bytes, files: ctx.files,
    root: await env.freshRoot('big-copy'),
    buildah: env.buildah('big-copy'),
    tag: 'localhost/bench-big-copy:1',
    isBuilt: false,
  };
  states.set(env, state);
  return state;
}

/** Builds once with each builder (untimed) unless the COPY scenario already did. */
export async function ensureBigBuilt(env: BenchEnv): Promise<BigCopy> {
  const state = await bigCopy(env);
  if (!state.isBuilt) {
    env.log('  building the big image once with each builder (untimed)');
    await env.tsbuild.build(state.root, state.ctx.dir);
    await state.buildah.bud(state.ctx.dir, state.tag, ['--layers']);
    state.isBuilt = true;
  }
  return state;
}
