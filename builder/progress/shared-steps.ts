import type { ProgressEvent } from '../../solver/index.js';

/**
 * The vertices a display shows as another: one that took another's result because both have the same key (`cached`
 * with `of`: a `FROM --platform=$BUILDPLATFORM` stage's step in each platform's graph) is that step, run once, and
 * BuildKit's progress shows it as one vertex (it merges vertices by digest).
 */
export class SharedSteps {
  readonly #of = new Map<string, string>();

  /** Whether `e` is about a vertex shown as another (remembered from its `cached … of`): the display leaves it out. */
  isShared(e: ProgressEvent): boolean {
    if (e.type === 'cached' && e.of !== undefined) this.#of.set(e.vertex, this.shown(e.of));
    return this.#of.has(e.vertex);
  }

  /** The vertex a display shows for `vertex` (a miss reason may name a shared parent). */
  shown(vertex: string): string {
    return this.#of.get(vertex) ?? vertex;
  }
}
