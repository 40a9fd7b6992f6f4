import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunMount } from '../../frontend/index.js';

type CacheMount = Extract<RunMount, { type: 'cache' }>;

/** A cache directory made ready for one run: where it is, the lock file to hold, and what to do afterwards. */
export interface CacheDir { path: string; lock?: string; release(): Promise<void> }

// Cache directories this process is using right now, with a use count: `sharing=private` takes a fresh directory
// when its cache is in use. Only this process's runs are seen; concurrent tsbuild processes can share a private
// cache (use sharing=locked for cross-process exclusion, which flock()s through the helper).
const inUse = new Map<string, number>();

async function create(path: string, m: CacheMount): Promise<void> {
  try {
    await mkdir(path);
  } catch (err) {
    if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'EEXIST') return;
    throw err;
  }
  // Owner and mode apply when the cache is created, as in BuildKit; later runs see it as they left it.
  await chown(path, m.uid, m.gid);
  await chmod(path, m.mode);
}

/** Prepares `<cacheDir>/<sha256(id)>` for a `RUN --mount=type=cache`. */
export async function prepareCacheDir(cacheDir: string, m: CacheMount): Promise<CacheDir> {
  await mkdir(cacheDir, { recursive: true });
  const name = createHash('sha256').update(m.id).digest('hex');
  const shared = join(cacheDir, name);
  let path = shared;
  let isFresh = false;
  if (m.sharing === 'private' && (inUse.get(shared) ?? 0) > 0) {
    path = join(cacheDir, `${name}-private-${randomBytes(6).toString('hex')}`);
    isFresh = true;
  }
  // Counted before the first await, so two runs starting together cannot both see the cache as free.
  inUse.set(path, (inUse.get(path) ?? 0) + 1);
  const release = async (): Promise<void> => {
    const n = (inUse.get(path) ?? 1) - 1;
    if (n > 0) inUse.set(path, n);
    else inUse.delete(path);
    if (isFresh) await rm(path, { recursive: true, force: true });
  };
  try {
    await create(path, m);
  } catch (err) {
    await release();
    throw err;
  }
  return {
    path,
    lock: m.sharing === 'locked' ? `${shared}.lock` : undefined,
    release,
  };
}
