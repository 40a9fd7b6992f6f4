import type { BuildHistory, BuildRecord } from '../../solver/index.js';

/**
 * The last `limit` recorded builds of the Dockerfile at `dockerfile` (an absolute path; that of the latest build
 * when absent), oldest first: the history trends and the context report's change counts read.
 */
export function recordedBuilds(index: BuildHistory, dockerfile: string | undefined, limit: number): BuildRecord[] {
  const file = dockerfile ?? index.listBuilds(1)[0]?.dockerfile;
  if (file === undefined) return [];
  return index.buildsOf(file, limit).reverse();
}
