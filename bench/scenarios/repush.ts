import { request } from 'undici';
import type { BenchEnv } from '../lib/bench-env.js';
import { startCountingProxy, type CountingProxy, type TrafficCount } from '../lib/counting-proxy.js';
import { measureAlternating } from '../lib/measure.js';
import { ratioOfRows, type Role, type TrafficRow } from '../lib/result.js';
import { skopeoCopy, type Tsbuild } from '../lib/tools.js';
import { ensureBigBuilt } from './big-copy-state.js';
import { SAME_SHAPE_AS_SKOPEO, bigOciLayout } from './push.js';
import type { Scenario } from './scenario.js';

/** Fixed image timestamps: with it a fully cached build gives the same config, so the same image, every time. */
const EPOCH = { SOURCE_DATE_EPOCH: '1700000000' };

/** How many blobs (layers + config) the manifest at `registry/repo:tag` references, read straight from the registry. */
async function blobCount(registry: string, repo: string, tag: string): Promise<number> {
  const res = await request(`http://${registry}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  const body: unknown = await res.body.json();
  if (res.statusCode !== 200 || typeof body !== 'object' || body === null || !('layers' in body) || !Array.isArray(body.layers)) {
    throw new Error(`manifest ${repo}:${tag} on ${registry}: HTTP ${res.statusCode}, no layers`);
  }
  return body.layers.length + 1;
}

function trafficRow(label: string, role: Role, count: TrafficCount, blobs: number): TrafficRow {
  return { label, role, count, blobs, isMet: count.blobBytesUp === 0 && count.requests <= blobs + 1 };
}

/** The worst count (most requests, then most bytes) seen over the repetitions of one contender. */
class Worst {
  count: TrafficCount | undefined;
  keep(c: TrafficCount): void {
    const w = this.count;
    if (w === undefined || c.requests > w.requests || (c.requests === w.requests && c.blobBytesUp > w.blobBytesUp)) this.count = c;
  }
}

/** Runs `push` with the proxy's counters reset first; returns its wall time and hands the count to `worst`. */
async function counted(proxy: CountingProxy, push: () => Promise<number>, worst: Worst): Promise<number> {
  proxy.reset();
  const ms = await push();
  worst.keep(proxy.count());
  return ms;
}

/**
 * Re-push of an image the registry already has, through a counting proxy: requests and blob bytes on the wire.
 * Each contender pushes once (counted too, for scale), then pushes again `reps` times. tsbuild runs twice: as users
 * run it (the image config's `created` is the build time, so a new 1-blob config every build), and with
 * SOURCE_DATE_EPOCH (the same image every build, as buildah's and docker's fully cached builds give). Both with
 * `--provenance=false`: see SAME_SHAPE_AS_SKOPEO (the default provenance is deterministic and re-pushes no bytes
 * either, but adds an index and an attestation manifest to the request count).
 */
export const repushScenario: Scenario = {
  id: 'repush',
  title: 'Re-push of an unchanged image (~200 MB) to a registry that has it',
  goal: '0 blob bytes, ≤ 1 request per blob + 1 for the manifest',
  async run(env, result) {
    const state = await ensureBigBuilt(env);
    const oci = await bigOciLayout(env);
    const registry = await env.startRegistry();
    const proxy = await startCountingProxy(registry.host);
    const push = {
      tsbuild: async (): Promise<number> => (await env.tsbuild.build(state.root, state.ctx.dir, ['-t', `${proxy.host}/big-tsbuild:1`, '--push', ...SAME_SHAPE_AS_SKOPEO])).ms,
      epoch: async (): Promise<number> => (await env.tsbuild.build(state.root, state.ctx.dir, ['-t', `${proxy.host}/big-epoch:1`, '--push', ...SAME_SHAPE_AS_SKOPEO], EPOCH)).ms,
      skopeo: async (): Promise<number> => (await skopeoCopy(oci, `${proxy.host}/big-skopeo:1`, env.registriesConf)).ms,
    };
    const first = { tsbuild: new Worst(), epoch: new Worst(), skopeo: new Worst() };
    const again = { tsbuild: new Worst(), epoch: new Worst(), skopeo: new Worst() };
    try {
      for (const who of ['tsbuild', 'epoch', 'skopeo'] as const) await counted(proxy, push[who], first[who]);
      const blobs = {
        tsbuild: await blobCount(registry.host, 'big-tsbuild', '1'),
        epoch: await blobCount(registry.host, 'big-epoch', '1'),
        skopeo: await blobCount(registry.host, 'big-skopeo', '1'),
      };
      result.rows = await measureAlternating([
        { label: 'tsbuild', role: 'tsbuild', command: 'tsbuild build --push --provenance=false -t REG/big-tsbuild:1 ctx (again)', run: () => counted(proxy, push.tsbuild, again.tsbuild) },
        { label: 'tsbuild, SOURCE_DATE_EPOCH', role: 'tsbuild', command: 'SOURCE_DATE_EPOCH=1700000000 tsbuild build --push --provenance=false -t REG/big-epoch:1 ctx (again)', run: () => counted(proxy, push.epoch, again.epoch) },
        { label: 'skopeo copy', role: 'peer', command: 'skopeo copy oci:LAYOUT docker://REG/big-skopeo:1 (again)', run: () => counted(proxy, push.skopeo, again.skopeo) },
      ], env.reps, env.log);
      const labels = { tsbuild: 'tsbuild', epoch: 'tsbuild, SOURCE_DATE_EPOCH', skopeo: 'skopeo copy' };
      for (const who of ['tsbuild', 'epoch', 'skopeo'] as const) {
        const role: Role = who === 'skopeo' ? 'peer' : 'tsbuild';
        const f = first[who].count;
        if (f !== undefined) result.traffic.push(trafficRow(`${labels[who]}, first push`, role, f, blobs[who]));
      }
      for (const who of ['tsbuild', 'epoch', 'skopeo'] as const) {
        const role: Role = who === 'skopeo' ? 'peer' : 'tsbuild';
        const a = again[who].count;
        if (a !== undefined) result.traffic.push(trafficRow(`${labels[who]}, re-push`, role, a, blobs[who]));
      }
      result.notes.push('Re-push counts are the worst of the repetitions; the tsbuild runs include a fully cached build of the 200 MB context. tsbuild resolves its base image on another registry, not counted here.');
    } finally {
      await proxy.close();
      await registry.stop();
    }
    const ratio = ratioOfRows(result, 'tsbuild', 'skopeo copy');
    if (ratio !== undefined) result.ratios.push(ratio);
  },
  async replay(env: BenchEnv, tsbuild: Tsbuild) {
    const state = await ensureBigBuilt(env);
    const registry = await env.startRegistry();
    try {
      await tsbuild.build(state.root, state.ctx.dir, ['-t', `${registry.host}/big:1`, '--push']);
      await tsbuild.build(state.root, state.ctx.dir, ['-t', `${registry.host}/big:1`, '--push']);
    } finally {
      await registry.stop();
    }
  },
};
