import { constants } from 'node:fs';
import { lstat, mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from '../../common/index.js';
import { makeTempDir } from '../temp-dirs.js';
import type { CacheSeed } from './cache-mount.js';

// A `RUN --mount=type=cache,from=SRC` cache starts as a copy of its source, as BuildKit's starts as a mutable ref on
// the source's snapshot (solver/llbsolver/mounts/mount.go getRefCacheDirNoCache, makeMutable(ref)). Here only the
// subtree the step mounts is copied, to the same path inside the cache, by the worker's confined COPY (the source is
// a stage or image: its links are followed inside it, and every write into the cache goes through the writer on the
// cache directory). A shared cache is filled in the state root's temp dir and renamed into place when whole, so a step
// never finds half a seed, and what a build killed while seeding leaves goes with the next worker's removeDeadTempDirs.

/** Seeds of shared caches being filled by this process, by final path: a second run of the same cache waits for it. */
const filling = new Map<string, Promise<boolean>>();

/**
 * How a seeded cache is made: `isPrivate` for a private run's throwaway copy; `isOptional` when `subpath` is BuildKit's
 * `/cache`, which the source may lack (then it is made with the mount's owner and mode); `mark` notes a use of an
 * existing one.
 */
export interface SeedOptions {
  isPrivate: boolean;
  isOptional: boolean;
  /** The state root's temp dir (worker/temp-dirs.ts), on the file system of the cache directory: rename's source. */
  tempDir: string;
  mark(path: string): Promise<void>;
}

/**
 * Makes the cache directory `path` from `seed` unless it is there (then marks its use); true when it made it.
 * `subpath` is what the step mounts ('' for all of it: cache-mount.ts cacheSubpath).
 */
export async function createSeeded(path: string, subpath: string, seed: CacheSeed, options: SeedOptions): Promise<boolean> {
  if (options.isPrivate) {
    await mkdir(path);
    await fill(path, subpath, seed, options.isOptional);
    return true;
  }
  // Registered before the first await, so two runs of this process starting together never both fill it.
  const pending = filling.get(path);
  if (pending !== undefined) {
    await pending.catch(() => undefined);   // the run that filled it reports its failure; this one looks again
    if (!(await exists(path))) return createSeeded(path, subpath, seed, options);
  } else {
    const made = exists(path).then((isThere) => (isThere ? false : seedAside(path, subpath, seed, options)));
    filling.set(path, made);
    try {
      if (await made) return true;
    } finally {
      filling.delete(path);
    }
  }
  await options.mark(path).catch(() => undefined);   // bookkeeping: never a reason to fail the step
  return false;
}

// Filled in a temp dir of its own, then renamed into place. Another process that seeded the same cache meanwhile wins:
// its directory (same source content) is kept and ours removed.
async function seedAside(path: string, subpath: string, seed: CacheSeed, options: SeedOptions): Promise<boolean> {
  const temp = await makeTempDir(options.tempDir, 'cache-seed');
  const aside = join(temp, 'cache');
  await mkdir(aside);
  try {
    await fill(aside, subpath, seed, options.isOptional);
    if (await exists(path)) return false;
    try {
      await rename(aside, path);
    } catch (err) {
      if (typeof err === 'object' && err !== null && 'code' in err && (err.code === 'ENOTEMPTY' || err.code === 'EEXIST')) return false;
      throw err;
    }
    return true;
  } finally {
    await removeTree(temp);
  }
}

async function fill(dir: string, subpath: string, seed: CacheSeed, isOptional: boolean): Promise<void> {
  // The cache root itself is only seen when the whole source is mounted (fill sets it from the source root then).
  const root = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    await root.chmod(0o755);
  } finally {
    await root.close();
  }
  await seed.fill(dir, `/${subpath}`, isOptional);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT') return false;
    throw err;
  }
}
