import dockerignore from '@balena/dockerignore';

// The package is CommonJS with a `default` self-reference; NodeNext types the default import as the module object.
const ignore = dockerignore.default;

/**
 * A set of .dockerignore-style patterns (Docker's semantics: a pattern also excludes everything below a matched
 * directory, `!` re-includes). Used for the context's .dockerignore and for COPY --exclude.
 */
export class PathFilter {
  readonly #patterns: string[];
  readonly #matcher: ReturnType<typeof ignore>;
  /** True when some pattern starts with `!`: an excluded directory may then still hold included files. */
  readonly hasExceptions: boolean;

  constructor(patterns: readonly string[]) {
    this.#patterns = patterns.map((p) => p.trim()).filter((p) => p !== '' && !p.startsWith('#'));
    this.#matcher = ignore().add(this.#patterns);
    this.hasExceptions = this.#patterns.some((p) => p.startsWith('!'));
  }

  /** True when there are no patterns at all (the fast path: nothing to check). */
  get isEmpty(): boolean {
    return this.#patterns.length === 0;
  }

  /** True when `rel` (a path relative to the filtered root, `/`-separated, no leading `./`) is excluded. */
  excludes(rel: string): boolean {
    if (this.#patterns.length === 0 || rel === '' || rel === '.') return false;
    return this.#matcher.ignores(rel);
  }

  /** The last pattern that on its own excludes `rel`, for an error hint; undefined when none does. */
  culprit(rel: string): { pattern: string; index: number } | undefined {
    let found: { pattern: string; index: number } | undefined;
    this.#patterns.forEach((pattern, index) => {
      if (!pattern.startsWith('!') && ignore().add(pattern).ignores(rel)) found = { pattern, index };
    });
    return found;
  }
}
