import { StatMemo } from '../../worker/index.js';
import { PatternMatcher } from '../../frontend/index.js';

/** One regular file (or symlink) of a build context, by its context-relative path. */
export interface ContextFile { path: string; bytes: number; isExcluded: boolean }

/** What scanContext found: the files, and the excluded directories it did not enter (`node_modules/`). */
export interface ContextScan { files: ContextFile[]; unscanned: string[] }

/**
 * Every file under `dir`, with whether the `.dockerignore` patterns `excludes` drop it. Symlinks are listed, never
 * followed (the context sends the link, not its target). Sorted by path (UTF-16 order).
 *
 * A directory the patterns exclude whole (no `!` pattern can reach inside it, as the COPY walk decides) is not entered
 * unless `scanExcluded`: it is listed in `unscanned` as `name/`. A build records its report this way, so an excluded
 * `node_modules` of 100,000 files costs nothing (its walk was ~0.7 s of every no-op build, twice buildah's whole
 * no-op); `tsbuild context` scans everything, to say what .dockerignore keeps out.
 *
 * `memo` is the build's listing of its context (worker `statMemoFor(context)`): the directories the COPY keys
 * already walked are not listed or stat'ed again, so a build reads its context's metadata once.
 */
export function scanContext(dir: string, excludes: string[], memo: StatMemo = new StatMemo(), opts: { scanExcluded?: boolean } = {}): ContextScan {
  // No patterns means no matcher (it cost ~13 µs a path).
  const matcher = excludes.length === 0 ? undefined : new PatternMatcher(excludes);
  const isExcluded = (path: string): boolean => matcher?.excludes(path) ?? false;
  const out: ContextFile[] = [];
  const unscanned: string[] = [];
  const walk = (abs: string, rel: string): void => {
    // Listings are sorted by name and a directory's files come right after it, so `out` is sorted by path as long
    // as '/' sorts before every name character that follows it; the final sort below settles the rest cheaply.
    for (const { name, stat } of memo.list(abs)) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (stat.isDirectory()) {
        if (opts.scanExcluded !== true && matcher?.excludesWhole(path) === true) unscanned.push(`${path}/`);
        else walk(`${abs}/${name}`, path);
      } else if (stat.isFile() || stat.isSymbolicLink()) {
        out.push({ path, bytes: stat.isFile() ? Number(stat.size) : 0, isExcluded: isExcluded(path) });
      }
    }
  };
  walk(dir.endsWith('/') && dir.length > 1 ? dir.slice(0, -1) : dir, '');
  return { files: out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)), unscanned: unscanned.sort() };
}
