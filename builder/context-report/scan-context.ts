import { lstatSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createIgnoreMatcher } from '../../frontend/index.js';

/** One regular file (or symlink) of a build context, by its context-relative path. */
export interface ContextFile { path: string; bytes: number; isExcluded: boolean }

/**
 * Every file under `dir`, with whether the `.dockerignore` patterns `excludes` drop it. Symlinks are listed, never
 * followed (the context sends the link, not its target). Sorted by path.
 */
export async function scanContext(dir: string, excludes: string[]): Promise<ContextFile[]> {
  // Every build scans its context for the report: no patterns means no matcher (it cost ~13 µs a path), and files
  // are stat'ed synchronously: 20,000 lstat promises cost ~160 ms of main-thread time here, lstatSync ~50 ms.
  const isExcluded = excludes.length === 0 ? () => false : createIgnoreMatcher(excludes);
  const out: ContextFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    const files = entries.filter((e) => e.isFile() || e.isSymbolicLink());
    const sizes = files.map((e) => (e.isFile() ? lstatSync(join(dir, rel, e.name)).size : 0));
    files.forEach((e, i) => {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      out.push({ path, bytes: sizes[i] ?? 0, isExcluded: isExcluded(path) });
    });
    for (const e of entries) if (e.isDirectory()) await walk(rel === '' ? e.name : `${rel}/${e.name}`);
  };
  await walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
