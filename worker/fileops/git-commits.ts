import type { GitFetchOptions } from './git-fetch.js';
import { resolveGitCommit } from './git-fetch.js';
import type { GitRef } from './git-ref.js';

/**
 * The commit each git remote and ref resolved to, resolved once for the worker's life (one build command): an
 * `ADD <git url>` is keyed by the commit its ref resolves to and then fetches exactly that commit, so a branch that
 * moves between the key and the fetch cannot put newer content under the older key (BuildKit's git source pins the
 * commit it keyed by the same way). Two ADDs of the same remote and ref in one build see the same commit.
 */
export class GitCommits {
  readonly #commits = new Map<string, Promise<string>>();
  readonly #tempDir: string;

  /** `tempDir`: the state root's temp dir, where git's HOME for ls-remote is made (worker/temp-dirs.ts). */
  constructor(tempDir: string) {
    this.#tempDir = tempDir;
  }

  /** The commit `g`'s ref resolves to: ls-remote the first time, the same answer after. A failure is not kept. */
  resolve(g: GitRef, opts: GitFetchOptions): Promise<string> {
    const key = `${g.remote}\0${g.ref}`;
    const known = this.#commits.get(key);
    if (known !== undefined) return known;
    const resolving = resolveGitCommit(g, this.#tempDir, opts);
    this.#commits.set(key, resolving);
    resolving.catch(() => { if (this.#commits.get(key) === resolving) this.#commits.delete(key); });
    return resolving;
  }
}
