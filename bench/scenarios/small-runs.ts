import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runShell } from '../lib/command.js';
import { smallRunsContext } from '../lib/contexts.js';
import { measureAlternating } from '../lib/measure.js';
import { ratioOfRows } from '../lib/result.js';
import { removeTree } from '../lib/remove-tree.js';
import type { Scenario } from './scenario.js';

const STEPS = 30;
const TAG = 'localhost/bench-small-runs:1';

/**
 * The floor a step cannot go below on this kernel: new namespaces around a trivial process, plus one overlay
 * mount and unmount, done STEPS times from a shell.
 */
function floorScript(dir: string): string {
  return [
    `for i in $(seq 1 ${STEPS}); do`,
    '  unshare --fork --pid --mount --uts --ipc --net true',
    `  mount -t overlay overlay -o lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work ${dir}/merged`,
    `  umount ${dir}/merged`,
    'done',
  ].join('\n');
}

/**
 * 30 small RUN steps, every one a miss (a new nonce in the first step's command each repetition), base image
 * already local: the per-step overhead of each builder, next to the kernel's floor.
 */
export const smallRuns: Scenario = {
  id: 'small-runs',
  title: `${STEPS} small RUN steps (all miss, base already pulled)`,
  async run(env, result) {
    const root = await env.freshRoot('small-runs');
    const buildah = env.buildah('small-runs');
    const floorDir = join(env.work, 'state/floor');
    const ctx = await smallRunsContext(env.work, env.base, STEPS, 'first');
    env.log('  pulling the base once into each builder (untimed)');
    await env.pullBase(root, buildah);
    const nonce = async (who: string, rep: number): Promise<void> => { await smallRunsContext(env.work, env.base, STEPS, `${who}-${rep}-${Date.now()}`); };
    env.tsbuild.peakRssKiB = 0;   // the peak of the measured runs only, not of the untimed set-up builds
    result.rows = await measureAlternating([
      {
        label: 'tsbuild', role: 'tsbuild', command: 'tsbuild build ctx (new nonce: 30 misses)', steps: STEPS,
        before: (rep) => nonce('tsbuild', rep),
        run: async () => (await env.tsbuild.build(root, ctx.dir)).ms,
      },
      {
        label: 'buildah', role: 'peer', command: 'buildah bud --layers ctx (new nonce: 30 misses)', steps: STEPS,
        before: (rep) => nonce('buildah', rep),
        run: async () => (await buildah.bud(ctx.dir, TAG, ['--layers'])).ms,
      },
      {
        label: 'buildah, one commit', role: 'peer', command: 'buildah bud ctx (no --layers: one container, one commit at the end)', steps: STEPS,
        before: (rep) => nonce('buildah-single', rep),
        run: async () => (await buildah.bud(ctx.dir, TAG)).ms,
      },
      {
        label: 'floor', role: 'reference', steps: STEPS,
        command: `${STEPS} × (unshare --fork --pid --mount --uts --ipc --net true; mount -t overlay …; umount)`,
        before: async () => {
          await removeTree(floorDir);
          for (const d of ['lower', 'upper', 'work', 'merged']) await mkdir(join(floorDir, d), { recursive: true });
        },
        run: async () => (await runShell(floorScript(floorDir))).ms,
      },
    ], env.reps, env.log);
    await removeTree(floorDir);
    for (const peer of ['buildah', 'floor']) {
      const ratio = ratioOfRows(result, 'tsbuild', peer);
      if (ratio !== undefined) result.ratios.push(ratio);
    }
    // Issue 15's goal is per step over the floor, not a ratio: (tsbuild − floor) / steps ≤ 20 ms.
    const ours = result.rows.find((r) => r.label === 'tsbuild');
    const floor = result.rows.find((r) => r.label === 'floor');
    if (ours !== undefined && floor !== undefined) {
      const over = (ours.ms.median - floor.ms.median) / STEPS;
      result.notes.push(`tsbuild per step over the floor: ${over.toFixed(1)} ms (goal ≤ 20 ms: ${over <= 20 ? '✅ met' : '❌ missed'})`);
    }
  },
  async replay(env, tsbuild) {
    const ctx = await smallRunsContext(env.work, env.base, STEPS, `profile-${Date.now()}`);
    await tsbuild.build(join(env.work, 'state/tsbuild-small-runs'), ctx.dir);
  },
};
