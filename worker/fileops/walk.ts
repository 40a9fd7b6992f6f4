import { lstat, readdir } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import { throwIfAborted } from './errors.js';
import type { PathFilter } from './filters.js';

/** One entry below a selected source, in pre-order (a directory before its contents), names sorted. */
export interface WalkEntry {
  /** Path relative to the selected source, `/`-separated. */
  rel: string;
  abs: string;
  stat: BigIntStats;
}

/** What hides entries during a walk. */
export interface WalkFilters {
  /** The context's .dockerignore, matched against paths relative to the source root. */
  ignore: PathFilter;
  /** COPY --exclude, matched against paths relative to the selected source. */
  exclude: PathFilter;
}

/**
 * Walks the directory `abs` (whose path relative to the source root is `rootRel`), yielding every entry below it that
 * neither filter hides. An excluded directory is skipped whole unless the filter has `!` exceptions, in which case it
 * is entered and yielded only when something inside it is kept (Docker's behaviour for .dockerignore exceptions).
 */
export async function* walkTree(abs: string, rootRel: string, filters: WalkFilters, signal: AbortSignal): AsyncGenerator<WalkEntry> {
  yield* walkDir(abs, '', rootRel, filters, signal);
}

async function* walkDir(dirAbs: string, dirRel: string, rootRel: string, filters: WalkFilters, signal: AbortSignal): AsyncGenerator<WalkEntry> {
  throwIfAborted(signal);
  const names = (await readdir(dirAbs)).sort();
  const stats = await Promise.all(names.map((n) => lstat(path.join(dirAbs, n), { bigint: true })));
  for (const [i, name] of names.entries()) {
    const stat = stats[i];
    if (stat === undefined) continue;
    const rel = dirRel === '' ? name : `${dirRel}/${name}`;
    const abs = path.join(dirAbs, name);
    const fromRoot = rootRel === '' ? rel : `${rootRel}/${rel}`;
    const hidden = filters.ignore.excludes(fromRoot) || filters.exclude.excludes(rel);
    if (!hidden) {
      yield { rel, abs, stat };
      if (stat.isDirectory()) yield* walkDir(abs, rel, rootRel, filters, signal);
      continue;
    }
    if (!stat.isDirectory() || !(filters.ignore.hasExceptions || filters.exclude.hasExceptions)) continue;
    let announced = false;
    for await (const inner of walkDir(abs, rel, rootRel, filters, signal)) {
      if (!announced) { yield { rel, abs, stat }; announced = true; }
      yield inner;
    }
  }
}
