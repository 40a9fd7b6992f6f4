import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename } from 'node:fs/promises';
import { removeTree } from '../../common/index.js';
import type { CacheSeed } from './cache-mount.js';

// A `RUN --mount=type=cache,from=SRC` cache starts as a copy of its source, as BuildKit's starts as a mutable ref on
// the source's snapshot (solver/llbsolver/mounts/mount.go getRefCacheDirNoCache, makeMutable(ref)). Here only the
// subtree the step mounts is copied, to the same path inside the cache, by the worker's confined COPY (the source is
// a stage or image: its links are followed inside it, and every write into the cache goes through the writer on the
// cache directory). A shared cache is filled beside its final name and renamed into place when whole, so a step never
// finds half a seed, and a build killed while seeding leaves no cache that looks complete.

/** Seeds of shared caches being filled by this process, by final path: a second run of the same cache waits for it. */
const filling = new Map<string, Promise<void>>();

/**
 * How a seeded cache is made: `isPrivate` for a private run's throwaway copy; `isOptional` when `subpath` is BuildKit's
 * `/cache`, which the source may lack (then it is made with the mount's owner and mode); `mark` notes a use of an
 * existing one.
 */
export interface SeedOptions { isPrivate: boolean; isOptional: boolean; mark(path: string): Promise<void> }

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
  const pending = filling.get(path);
  if (pending !== undefined) {
    await pending;
    await options.mark(path).catch(() => undefined);
    return false;
  }
  if (await exists(path)) {
    await options.mark(path).catch(() => undefined);   // bookkeeping: never a reason to fail the step
    return false;
  }
  const made = seedAside(path, subpath, seed, options.isOptional);
  filling.set(path, made.then(() => undefined, () => undefined));
  try {
    return await made;
  } finally {
    filling.delete(path);
  }
}

// Filled under a name of its own in the same directory, then renamed into place. Another process that seeded the same
// cache meanwhile wins: its directory (same source content) is kept and ours removed.
async function seedAside(path: string, subpath: string, seed: CacheSeed, isOptional: boolean): Promise<boolean> {
  const aside = `${path}-seeding-${randomBytes(6).toString('hex')}`;
  await mkdir(aside);
  try {
    await fill(aside, subpath, seed, isOptional);
    if (await exists(path)) return false;
    try {
      await rename(aside, path);
    } catch (err) {
      if (typeof err === 'object' && err !== null && 'code' in err && (err.code === 'ENOTEMPTY' || err.code === 'EEXIST')) return false;
      throw err;
    }
    return true;
  } finally {
    await removeTree(aside).catch(() => undefined);   // gone already when renamed
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
