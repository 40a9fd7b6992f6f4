import type { BuildHistory, BuildRecord } from '../../solver/index.js';

/**
 * The last `limit` recorded builds of the Dockerfile at `dockerfile` (an absolute path; that of the latest build
 * when absent), oldest first: the history trends and the context report's change counts read.
 */
export function recordedBuilds(index: BuildHistory, dockerfile: string | undefined, limit: number): BuildRecord[] {
  const summaries = index.listBuilds(1000);
  const file = dockerfile ?? summaries[0]?.dockerfile;
  return summaries.filter((s) => s.dockerfile === file).slice(0, limit)
    .map((s) => index.getBuild(s.id)).filter((r): r is BuildRecord => r !== undefined).reverse();
}
