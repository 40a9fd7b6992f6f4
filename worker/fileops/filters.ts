import { PatternMatcher } from '../../frontend/index.js';

/**
 * A set of .dockerignore-style patterns (Docker's semantics: a pattern also excludes everything below a matched
 * directory, `!` re-includes). Used for the context's .dockerignore and for COPY --exclude.
 */
export class PathFilter {
  readonly #patterns: string[];
  readonly #matcher: PatternMatcher;

  constructor(patterns: readonly string[]) {
    this.#patterns = patterns.map((p) => p.trim()).filter((p) => p !== '' && !p.startsWith('#'));
    // moby's patternmatcher, ported in frontend/patternmatcher.ts: the same matcher the cache key uses.
    this.#matcher = new PatternMatcher(this.#patterns);
  }

  /** True when there are no patterns at all (the fast path: nothing to check). */
  get isEmpty(): boolean {
    return this.#patterns.length === 0;
  }

  /** True when `rel` (a path relative to the filtered root, `/`-separated, no leading `./`) is excluded. */
  excludes(rel: string): boolean {
    if (this.#patterns.length === 0 || rel === '' || rel === '.') return false;
    return this.#matcher.excludes(rel);
  }

  /** False when nothing below the excluded directory `rel` can be re-included by a `!` pattern (see PatternMatcher). */
  mayReincludeBelow(rel: string): boolean {
    return this.#matcher.mayReincludeBelow(rel);
  }

  /** True when the directory `rel` is excluded with everything below it (see PatternMatcher.excludesWhole). */
  excludesWhole(rel: string): boolean {
    return this.excludes(rel) && !this.#matcher.mayReincludeBelow(rel);
  }

  /** The last pattern that on its own excludes `rel`, for an error hint; undefined when none does. */
  culprit(rel: string): { pattern: string; index: number } | undefined {
    return this.#matcher.culprit(rel);
  }
}
