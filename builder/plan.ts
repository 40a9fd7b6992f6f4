import { resolve } from 'node:path';
import { compile, planText, type BuildGraph } from '../frontend/index.js';
import { predict, type Prediction } from '../solver/index.js';
import { hostPlatform, parseReference, type Platform } from '../registry/index.js';
import type { Root } from './commands/root.js';
import { readDockerfile, readExcludes } from './build.js';
import { describeReason } from './report/describe-reason.js';

/** What `tsbuild plan` needs: the build flags that shape the graph, and the root whose cache it consults. */
export interface PlanRequest {
  contextDir: string;
  dockerfile?: string;
  buildArgs: Record<string, string>;
  target?: string;
  platform: Platform | undefined;
  signal: AbortSignal;
}

/** The graph a build would run, and for each step whether the cache in `--root` would answer it. */
export interface Plan { graph: BuildGraph; predictions: Prediction[] }

/** Compiles the Dockerfile to its graph and predicts its cache hits: base images are resolved, nothing runs. */
export async function planBuild(req: PlanRequest, root: Root): Promise<Plan> {
  const contextDir = resolve(req.contextDir);
  const dockerfile = await readDockerfile({ contextDir, ...(req.dockerfile ? { dockerfile: req.dockerfile } : {}) });
  const client = await root.registry();
  const graph = await compile(dockerfile.text, {
    file: dockerfile.path, buildArgs: req.buildArgs, platform: req.platform ?? hostPlatform(), buildPlatform: hostPlatform(),
    ...(req.target ? { target: req.target } : {}),
    resolveImage: async (ref, platform) => {
      const image = await client.resolveImage(parseReference(ref), platform, req.signal);
      return { ref: image.ref, digest: image.descriptor.digest, config: image.config };
    },
  });
  const worker = await root.worker();
  const cache = await root.cache();
  const excludes = await readExcludes(contextDir, dockerfile.path);
  const predictions = await predict(graph, {
    worker, cache, context: { kind: 'context', dir: contextDir, excludes }, signal: req.signal,
    locatorPrefix: `${contextDir}:${dockerfile.path}`,
  });
  return { graph, predictions };
}

/** The text plan: the graph, then one line per step saying whether it would come from the cache, and if not why. */
export function planWithCache(plan: Plan): string {
  const lines = ['', 'cache (from --root):'];
  const text = new Map(plan.graph.vertices.map((v) => [v.id, v.text]));
  for (const p of plan.predictions) {
    const why = p.wouldHit ? '' : `  (${p.reasons.map((r) => describeReason(r, (id) => (text.has(id) ? `${id} ${text.get(id) ?? ''}` : undefined))).join('; ')})`;
    lines.push(`  ${p.id.padEnd(8)} ${p.wouldHit ? 'HIT ' : 'RUN '} ${text.get(p.id) ?? ''}${why}`);
  }
  return `${planText(plan.graph)}${lines.join('\n')}\n`;
}
