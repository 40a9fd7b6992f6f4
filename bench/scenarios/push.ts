import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningRegistry } from '../../test/fixtures/registry-server.js';
import type { BenchEnv } from '../lib/bench-env.js';
import { measureAlternating } from '../lib/measure.js';
import { removeTree } from '../lib/remove-tree.js';
import { ratioOfRows } from '../lib/result.js';
import { curlPushFloor, skopeoCopy } from '../lib/tools.js';
import { TsbuildDaemon } from '../lib/tsbuild-daemon.js';
import { ensureBigBuilt } from './big-copy-state.js';
import type { Scenario } from './scenario.js';

/**
 * At least this many repetitions, whatever BENCH_REPS says. A repetition takes about 8 s for all seven contenders, and
 * with 3 the first one decides too much: in the full run of 2026-12-01 08:04 the direct push took 1,096, 661 and 887 ms
 * (1.30× skopeo copy). Four runs of 7 repetitions straight after gave 655-662 ms against skopeo's 661-685 ms
 * (bench/RESULTS.md, ninth round).
 */
const PUSH_REPS = 7;

/** A registry that lives for one repetition: each push goes to an empty one, so nothing is already there. */
class FreshTarget {
  #current: RunningRegistry | undefined;
  readonly #env: BenchEnv;
  constructor(env: BenchEnv) { this.#env = env; }
  async next(): Promise<string> {
    await this.stop();
    this.#current = await this.#env.startRegistry();
    return this.#current.host;
  }
  get host(): string {
    if (this.#current === undefined) throw new Error('FreshTarget: next() was not called');
    return this.#current.host;
  }
  async stop(): Promise<void> {
    await this.#current?.stop();
    this.#current = undefined;
  }
}

/**
 * `--provenance=false` on every tsbuild push and layout the skopeo comparisons use. buildx's default min provenance
 * (on for `--push` and `type=oci`) makes the tag an index over the image and an attestation manifest; `skopeo copy` of
 * a layout copies one platform's image only, and the re-push goal counts requests per blob of one manifest. The
 * comparison is of moving the same image, so both sides move the same single manifest.
 */
export const SAME_SHAPE_AS_SKOPEO = ['--provenance=false'];

/** Exports the big image as an OCI layout (untimed), the source `skopeo copy` pushes from. */
export async function bigOciLayout(env: BenchEnv): Promise<string> {
  const state = await ensureBigBuilt(env);
  const dir = join(env.work, 'state/big-oci');
  await removeTree(dir);
  await env.tsbuild.build(state.root, state.ctx.dir, ['-o', `type=oci,dest=${dir},tar=false`, ...SAME_SHAPE_AS_SKOPEO]);
  return dir;
}

/**
 * Push of a new image (~200 MB of layers) to an empty registry. `skopeo copy` moves an image that already exists (an
 * OCI layout of tsbuild's output); the row counted the same way is `tsbuild push`, which moves the same image from
 * tsbuild's store (its gzip layers were made when the layout was exported, as skopeo's were). `tsbuild build --push`
 * with every step cached is measured too: its figure adds a no-op build (measured alone on the next row). buildah
 * pushes its own build of the same Dockerfile (it gzips at push time).
 */
export const pushScenario: Scenario = {
  id: 'push',
  title: 'Push of a new image (~200 MB of layers) to an empty registry',
  goal: '≤ 1.0× skopeo copy',
  async run(env, result) {
    const state = await ensureBigBuilt(env);
    const oci = await bigOciLayout(env);
    // The image `tsbuild push` moves: the one the layout holds (same build, --provenance=false), named by its id.
    const iidfile = join(env.work, 'state/big-iid');
    await env.tsbuild.build(state.root, state.ctx.dir, ['--iidfile', iidfile, ...SAME_SHAPE_AS_SKOPEO]);
    const imageId = (await readFile(iidfile, 'utf8')).trim();
    const targets = {
      tsbuild: new FreshTarget(env), push: new FreshTarget(env), daemon: new FreshTarget(env), skopeo: new FreshTarget(env),
      curl: new FreshTarget(env), buildah: new FreshTarget(env),
    };
    const daemon = await TsbuildDaemon.start(env.tsbuild.bin);
    try {
      env.tsbuild.peakRssKiB = 0;   // the peak of the measured runs only, not of the untimed set-up builds
    result.rows = await measureAlternating([
        {
          label: 'tsbuild', role: 'tsbuild', command: 'tsbuild build --push --provenance=false -t REG/big:1 ctx (all cached)', bytes: state.bytes,
          before: async () => { await targets.tsbuild.next(); },
          run: async () => (await env.tsbuild.build(state.root, state.ctx.dir, ['-t', `${targets.tsbuild.host}/big:1`, '--push', ...SAME_SHAPE_AS_SKOPEO])).ms,
        },
        {
          label: 'tsbuild push', role: 'tsbuild', command: 'tsbuild push --image-id ID REG/big:1 (the built image)', bytes: state.bytes,
          before: async () => { await targets.push.next(); },
          run: async () => (await env.tsbuild.push(state.root, `${targets.push.host}/big:1`, ['--image-id', imageId])).ms,
        },
        {
          label: 'tsbuild push daemon', role: 'tsbuild', command: 'tsbuild push --image-id ID REG/big:1 through `tsbuild daemon`', bytes: state.bytes,
          before: async () => { await targets.daemon.next(); },
          run: async () => {
            const ms = (await env.tsbuild.push(state.root, `${targets.daemon.host}/big:1`, ['--image-id', imageId], daemon.env)).ms;
            await daemon.settled();   // the next warm process pre-warms before the next contender's run, not during it
            return ms;
          },
        },
        {
          label: 'tsbuild, no push', role: 'tsbuild', command: 'tsbuild build ctx (all cached, no output)',
          run: async () => (await env.tsbuild.build(state.root, state.ctx.dir)).ms,
        },
        {
          label: 'skopeo copy', role: 'peer', command: 'skopeo copy oci:LAYOUT docker://REG/big:1', bytes: state.bytes,
          before: async () => { await targets.skopeo.next(); },
          run: async () => (await skopeoCopy(oci, `${targets.skopeo.host}/big:1`, env.registriesConf)).ms,
        },
        {
          label: 'curl floor', role: 'reference', command: 'curl: every blob POST + one PUT, all at once, then the manifest (the registry\'s floor)', bytes: state.bytes,
          before: async () => { await targets.curl.next(); },
          run: async () => (await curlPushFloor(oci, targets.curl.host, 'big', '1')).ms,
        },
        {
          label: 'buildah push', role: 'peer', command: 'buildah push IMAGE docker://REG/big:1 (compresses at push)', bytes: state.bytes,
          before: async () => { await targets.buildah.next(); },
          run: async () => (await state.buildah.push(state.tag, `${targets.buildah.host}/big:1`)).ms,
        },
      ], Math.max(env.reps, PUSH_REPS), env.log);
    } finally {
      await daemon.stop();
      for (const t of Object.values(targets)) await t.stop();
    }
    for (const ours of ['tsbuild push', 'tsbuild push daemon']) {
      const ratio = ratioOfRows(result, ours, 'skopeo copy', 1.0);
      if (ratio !== undefined) result.ratios.push(ratio);
    }
    for (const ours of ['tsbuild push', 'skopeo copy']) {
      const floor = ratioOfRows(result, ours, 'curl floor');
      if (floor !== undefined) result.ratios.push(floor);
    }
    const withBuild = ratioOfRows(result, 'tsbuild', 'skopeo copy');
    if (withBuild !== undefined) result.ratios.push(withBuild);
    const buildah = ratioOfRows(result, 'tsbuild', 'buildah push');
    if (buildah !== undefined) result.ratios.push(buildah);
  },
  async replay(env, tsbuild) {
    const state = await ensureBigBuilt(env);
    const target = new FreshTarget(env);
    try {
      await tsbuild.build(state.root, state.ctx.dir, ['-t', `${await target.next()}/big:1`, '--push']);
    } finally {
      await target.stop();
    }
  },
};
