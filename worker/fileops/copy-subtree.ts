import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import type { SourceRef } from '../../frontend/index.js';
import type { ProgressSink } from '../../solver/index.js';
import { copyInto } from './copy-into.js';
import { CopyError } from './errors.js';
import type { CopySourceDir } from './source.js';

/**
 * Copies the subtree `path` of `source` (read from `from`) to the same path in `dir`, a directory tsbuild just made:
 * what a `RUN --mount=type=cache,from=…` cache starts with (worker/exec/seeded-cache.ts). It is a `COPY --parents`,
 * so it has COPY --from's rules (owners kept from a stage, 0:0 from the context; modes, times, xattrs and hardlinks
 * kept; a symlink on the way to `path` followed inside the source, never out of it; every write through the confined
 * writer on `dir`), and the directories on the way, `path` included, are made from their source directories, as they
 * are in BuildKit's cache, which is the whole source snapshot. `isOptional`: a source without `path` copies nothing.
 */
export async function copySubtree(from: SourceRef, path: string, isOptional: boolean, source: CopySourceDir, dir: string, signal: AbortSignal, progress: ProgressSink): Promise<void> {
  try {
    await copyInto({ kind: 'copy', mode: 'copy', from, sources: [path], dest: '/', link: false, parents: true, exclude: [] }, source, dir, signal, progress);
  } catch (err) {
    if (isOptional && err instanceof CopyError && err.code === 'COPY_SOURCE_NOT_FOUND') return;
    throw err;
  }
  // COPY leaves its destination root alone; here the root is the source root (`path` is `/`): its owner, mode, times.
  if (path === '/' && source.kind === 'dir') {
    const st = await lstat(source.path);   // the mount point tsbuild made for the source, not a path the build names
    const root = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      if (from.kind === 'vertex') await root.chown(st.uid, st.gid);
      await root.chmod(st.mode & 0o7777);
      await root.utimes(st.atime, st.mtime);
    } finally {
      await root.close();
    }
  }
}
