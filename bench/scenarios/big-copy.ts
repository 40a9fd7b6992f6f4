import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { removeTree } from '../lib/remove-tree.js';
import { runShell } from '../lib/command.js';
import { setBigCopyNonce } from '../lib/contexts.js';
import { measureAlternating } from '../lib/measure.js';
import { ratioOfRows } from '../lib/result.js';
import { bigCopy } from './big-copy-state.js';
import type { Scenario } from './scenario.js';

/**
 * COPY of a 200 MB / 20,000-file tree that misses every time (tree/nonce.txt changes before each repetition), base
 * already local: the whole build, so walking, hashing the
 * content for the cache key, writing the snapshot and making the layer all count. The `tsbuild` row builds on the
 * root of its previous repetition, so its incremental COPY links the unchanged files; `tsbuild, fresh root` copies
 * every byte into an empty root (its tiny base pulled in the timed build), as buildah's `bud` always does. References: the same tree through
 * `tar | gzip -1` and `tar | pigz -1` into a file, which is what making a gzip layer costs at the least.
 */
/**
 * Every contender here writes ~200 MB. Untimed before each run, the host's dirty pages are written out (`sync`), so a
 * run starts with no other contender's writeback pending: on this disk one run's backlog stalled the next one's
 * writes (2.6 to 14.8 s for the same build), whoever it was. Each run's own writeback is its own business: buildah
 * does not sync its layers, and tsbuild's syncfs runs detached after it exits (worker/snapshots/overlay.ts).
 */
async function settleDisk(): Promise<void> {
  await runShell('sync');
}

export const bigCopyScenario: Scenario = {
  id: 'big-copy',
  title: 'COPY of a 200 MB / 20,000-file tree (a miss, base already pulled)',
  async run(env, result) {
    const state = await bigCopy(env);
    result.notes.push(`tree: ${state.files} files, ${(state.bytes / 2 ** 20).toFixed(0)} MiB of incompressible bytes`);
    env.log('  pulling the base once into each builder (untimed)');
    await env.pullBase(state.root, state.buildah);
    const tree = join(state.ctx.dir, 'tree');
    const out = join(env.work, 'state/reference.tar.gz');
    env.tsbuild.peakRssKiB = 0;   // the peak of the measured runs only, not of the untimed set-up builds
    result.rows = await measureAlternating([
      {
        label: 'tsbuild', role: 'tsbuild', command: 'tsbuild build ctx (tree/nonce.txt changed)', bytes: state.bytes,
        before: async (rep) => { await settleDisk(); await setBigCopyNonce(state.ctx, `tsbuild-${rep}-${Date.now()}`); },
        run: async () => (await env.tsbuild.build(state.root, state.ctx.dir)).ms,
      },
      {
        label: 'tsbuild, fresh root', role: 'tsbuild', command: 'tsbuild build --root EMPTY ctx (tree/nonce.txt changed)', bytes: state.bytes,
        before: async (rep) => { await settleDisk(); await setBigCopyNonce(state.ctx, `tsbuild-fresh-${rep}-${Date.now()}`); },
        run: async () => {
          const root = await mkdtemp(join(env.work, 'state/fresh-root-'));
          try {
            return (await env.tsbuild.build(root, state.ctx.dir)).ms;
          } finally {
            await removeTree(root);   // set aside until the bench ends (bench/lib/remove-tree.ts)
          }
        },
      },
      {
        label: 'buildah', role: 'peer', command: 'buildah bud --layers ctx (tree/nonce.txt changed)', bytes: state.bytes,
        before: async (rep) => { await settleDisk(); await setBigCopyNonce(state.ctx, `buildah-${rep}-${Date.now()}`); },
        run: async () => (await state.buildah.bud(state.ctx.dir, state.tag, ['--layers'])).ms,
      },
      {
        label: 'tar | gzip -1', role: 'reference', command: 'tar -cf - tree | gzip -1 > file', bytes: state.bytes, before: settleDisk,
        run: async () => (await runShell(`tar -C '${tree}' -cf - . | gzip -1 > '${out}'`)).ms,
      },
      {
        label: 'tar | pigz -1', role: 'reference', command: 'tar -cf - tree | pigz -1 > file', bytes: state.bytes, before: settleDisk,
        run: async () => (await runShell(`tar -C '${tree}' -cf - . | pigz -1 > '${out}'`)).ms,
      },
    ], env.reps, env.log);
    state.isBuilt = true;
    await rm(out, { force: true });
    result.notes.push('Both builders keep layers uncompressed while building and gzip them when an image leaves (no output here).');
    for (const peer of ['buildah', 'tar | gzip -1', 'tar | pigz -1']) {
      const ratio = ratioOfRows(result, 'tsbuild', peer);
      if (ratio !== undefined) result.ratios.push(ratio);
    }
    const fresh = ratioOfRows(result, 'tsbuild, fresh root', 'buildah');
    if (fresh !== undefined) result.ratios.push(fresh);
  },
  async replay(env, tsbuild) {
    const state = await bigCopy(env);
    await setBigCopyNonce(state.ctx, `profile-${Date.now()}`);
    await tsbuild.build(state.root, state.ctx.dir);
  },
};
