import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createIgnoreMatcher } from '../../frontend/index.js';

/** One regular file (or symlink) of a build context, by its context-relative path. */
export interface ContextFile { path: string; bytes: number; isExcluded: boolean }

/**
 * Every file under `dir`, with whether the `.dockerignore` patterns `excludes` drop it. Symlinks are listed, never
 * followed (the context sends the link, not its target). Sorted by path.
 */
export async function scanContext(dir: string, excludes: string[]): Promise<ContextFile[]> {
  const isExcluded = createIgnoreMatcher(excludes);
  const out: ContextFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(path);
      else if (e.isFile() || e.isSymbolicLink()) {
        const info = await lstat(join(dir, path));
        out.push({ path, bytes: e.isFile() ? info.size : 0, isExcluded: isExcluded(path) });
      }
    }
  };
  await walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
