import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RunMount } from '../../frontend/index.js';
import type { Digest } from '../../registry/oci/index.js';
import { removeTree } from '../../common/index.js';
import { RootSession, inRootPath } from '../confined/index.js';
import { createSeeded } from './seeded-cache.js';

type CacheMount = Extract<RunMount, { type: 'cache' }>;

/**
 * `<root>/cache-mounts`: one directory per cache id, `<sha256(id)>` (`<sha256(id)>.<source digest>` for a cache with
 * `from=`: seeded-cache.ts), with `<name>.lock` and `<name>.id` beside it.
 */
export function cacheMountsDir(root: string): string {
  return join(root, 'cache-mounts');
}

/** A shared cache directory's name (a private one's copy has a suffix and lives only while its step runs). */
const CACHE_NAME = /^[0-9a-f]{64}(?:\.[0-9a-f]{64})?$/;
/** A cache resetCacheMounts renamed aside to remove. */
const PRUNED_NAME = /^[0-9a-f]{64}(?:\.[0-9a-f]{64})?-pruned-[0-9a-f]{12}$/;

/** A cache mount's directory as `tsbuild du` and `prune` show it (BuildKit's exec.cachemount records). */
export interface CacheMountUsage {
  /** Its directory's name under cacheMountsDir: the sha256 of its id. */
  name: string;
  /** Apparent bytes of everything in it. */
  size: number;
  created: number;
  /** When a step last mounted it. */
  lastUsed: number;
  /** As BuildKit's: `cached mount TARGET with id "ID"`. */
  description: string;
}

/**
 * A cache directory made ready for one run: where it is, the path inside it the step mounts (`source=`, or what
 * cacheSubpath says for a seeded one), the lock file to hold, and what to do afterwards.
 */
export interface CacheDir { path: string; subpath: string; lock?: string; release(): Promise<void> }

/**
 * What a `--mount=type=cache,from=…` starts from: the content digest of what it mounts from its source (the RUN key's
 * `mount:TARGET`), and `fill`, which copies the subtree `path` of that source into a new cache directory `dir` at the
 * same path, as COPY --from keeps it (the worker's confined copy; seeded-cache.ts); with `isOptional` a source without
 * `path` copies nothing.
 */
export interface CacheSeed { digest: Digest; fill(dir: string, path: string, isOptional: boolean): Promise<void> }

// Cache directories this process is using right now, with a use count: `sharing=private` takes a fresh directory
// when its cache is in use. Only this process's runs are seen; concurrent tsbuild processes can share a private
// cache (use sharing=locked for cross-process exclusion, which flock()s through the helper).
const inUse = new Map<string, number>();

/** Makes the cache directory unless it is there (then it marks its use); true when it made it. */
async function create(path: string, m: CacheMount): Promise<boolean> {
  try {
    await mkdir(path);
  } catch (err) {
    if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'EEXIST') {
      await markUsed(path).catch(() => undefined);   // bookkeeping: never a reason to fail the step
      return false;
    }
    throw err;
  }
  // Owner and mode apply when the cache is created, as in BuildKit; later runs see it as they left it. They are set
  // on the directory just made, through its fd (O_NOFOLLOW|O_DIRECTORY), never by a path a step could redirect.
  const dir = await openDir(path);
  try {
    await dir.chown(m.uid, m.gid);
    await dir.chmod(m.mode);
  } finally {
    await dir.close();
  }
  return true;
}

/** The cache directory itself, never through a symlink. */
function openDir(path: string): ReturnType<typeof open> {
  return open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
}

// Its mtime is its last use (du, prune --filter until=): a step's own writes inside only move it when they add or
// remove a top entry, which is a use too. Set through the directory's fd, as owner and mode are.
async function markUsed(path: string): Promise<void> {
  const dir = await openDir(path);
  try {
    const now = new Date();
    await dir.utimes(now, now);
  } finally {
    await dir.close();
  }
}

// `source=` names a directory inside the cache. Earlier steps wrote the cache's content, so the path is resolved by
// the confined writer in-root (a planted `sub -> /etc` leads to <cache>/etc, never the host's) and made when
// missing with the mount's owner and mode; the helper then binds it, resolving it in-root again with openat2.
async function ensureSubdir(path: string, source: string, m: CacheMount): Promise<void> {
  const sub = inRootPath(source);
  if (sub === '') return;
  await RootSession.with(path, {}, async (session) => {
    session.parents({ uid: m.uid, gid: m.gid }, m.mode);
    session.dir(sub, true);
    session.meta({ uid: m.uid, gid: m.gid, mode: m.mode }, true);
  });
}

/** What names a cache directory: the mount's id, namespace, the owner and mode it is made with, and its source. */
type CacheIdentity = Pick<CacheMount, 'id' | 'namespace' | 'uid' | 'gid' | 'mode' | 'source' | 'from'>;

/** True when the mount's uid, gid or mode apply: BuildKit makes its `/cache` with them (setCacheUIDGID). */
function isOwned(m: CacheIdentity): boolean {
  return (m.uid !== 0 || m.gid !== 0 || m.mode !== 0o755) && inRootPath(m.source) === '';
}

/**
 * The path inside the cache directory that the step mounts. Without `from=`, the `source=` subpath. With it, BuildKit
 * bases the cache on the source (dockerfile2llb dispatchRunMounts) and mounts `source=` of it; with no `source=` but a
 * uid, gid or mode it makes `/cache` on the source with them (setCacheUIDGID, a mkdir that keeps an existing one) and
 * mounts that.
 */
function cacheSubpath(m: CacheIdentity): string {
  return m.from !== undefined && isOwned(m) ? 'cache' : inRootPath(m.source);
}

/**
 * With a namespace (BUILDKIT_CACHE_MOUNT_NS) the pair is hashed as JSON, so no id in one namespace can spell another
 * namespace's cache; without one, the id alone (the caches made before namespaces keep their names). A mount with
 * its own uid, gid or mode (and no `source=`) is another cache than the same id without them, as in BuildKit: there
 * such a mount's base is a `mkdir /cache` with that owner and mode (dockerfile2llb setCacheUIDGID), and its cache
 * directory is keyed by id and base (solver/llbsolver/mounts getRefCacheDir). Before, `target=/root/.npm` and
 * `target=/root/.npm,uid=1000` shared one directory, owned by whichever step made it.
 */
function cacheName(m: CacheIdentity, seed?: Digest): string {
  if (m.from !== undefined) {
    if (seed === undefined) throw new Error(`cache mount "${m.id}" has from= but no source digest to name its cache by`);
    return `${seededPrefix(m)}.${seed.slice('sha256:'.length)}`;
  }
  const owned = isOwned(m);
  const name = !owned && m.namespace === undefined ? m.id : JSON.stringify([m.namespace ?? null, m.id, ...(owned ? [m.uid, m.gid, m.mode] : [])]);
  return createHash('sha256').update(name).digest('hex');
}

/**
 * A cache with `from=` is `<prefix>.<hex of the source's content digest>`, the prefix hashing id, namespace, the path
 * it mounts, owner and mode (when they apply) and a `from` marker, so no cache without `from=` has its name. BuildKit
 * keys it `id:refID` (getRefCacheDir), one cache holding the whole source; here a cache holds the subtree it mounts,
 * so the path is in the name too (`source=/a` and `source=/b` with the same content are two caches, each seeded with
 * its own). BuildKit finds every source's cache of an id by the `id:` prefix when --no-cache prunes it (SearchCacheDir
 * withNested); resetCacheMounts does the same with the prefix.
 */
function seededPrefix(m: CacheIdentity): string {
  const owned = isOwned(m);
  return createHash('sha256').update(JSON.stringify([m.namespace ?? null, m.id, 'from', cacheSubpath(m), ...(owned ? [m.uid, m.gid, m.mode] : [])])).digest('hex');
}

/**
 * Empties the shared caches of `mounts` before a build whose steps with them run uncached (--no-cache, or their
 * stage in --no-cache-filter): such a step starts from an empty cache, which the build's later steps and builds then
 * share, as BuildKit prunes the cache mounts of every exec op with IgnoreCache when it loads the build
 * (solver/llbsolver/bridge.go detectPrunedCacheID, worker/base/worker.go PruneCacheMounts; moby/buildkit#5305). The
 * directory is renamed aside first, so a step starting meanwhile makes a fresh one instead of finding half of it.
 */
export async function resetCacheMounts(cacheDir: string, mounts: CacheIdentity[]): Promise<void> {
  const names = new Set(mounts.filter((m) => m.from === undefined).map((m) => cacheName(m)));
  const prefixes = new Set(mounts.filter((m) => m.from !== undefined).map((m) => `${seededPrefix(m)}.`));
  if (names.size === 0 && prefixes.size === 0) return;
  const entries = await readdir(cacheDir).catch(() => []);
  for (const e of entries) {
    if (prefixes.size > 0 && CACHE_NAME.test(e) && prefixes.has(e.slice(0, 65))) names.add(e);
    // What an earlier reset could not remove (a step was changing it): tried again, still without failing the build.
    if (PRUNED_NAME.test(e)) await removeTree(join(cacheDir, e)).catch(() => undefined);
  }
  for (const name of names) {
    const aside = join(cacheDir, `${name}-pruned-${randomBytes(6).toString('hex')}`);
    try {
      await rename(join(cacheDir, name), aside);
    } catch (err) {
      if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT') continue;   // never used
      throw err;
    }
    // A step of another build (or bake target) may still have it mounted and be changing it: what cannot be removed
    // now is no cache any step finds again, and goes with the next reset of the cache or a prune.
    await removeTree(aside).catch(() => undefined);
  }
}

/**
 * Prepares `<cacheDir>/<sha256(id)>` for a `RUN --mount=type=cache`: the id is only hashed, so no id (`../../x`,
 * `/etc`) can name a path of its own. A mount with `from=` needs its `seed`, filled in `tempDir` (seeded-cache.ts).
 */
export async function prepareCacheDir(cacheDir: string, m: CacheMount, seed?: { seed: CacheSeed; tempDir: string }): Promise<CacheDir> {
  await mkdir(cacheDir, { recursive: true });
  const name = cacheName(m, seed?.seed.digest);
  const subpath = cacheSubpath(m);
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
    if (isFresh) await removeTree(path);
  };
  try {
    const isMade = seed === undefined ? await create(path, m) : await createSeeded(path, subpath, seed.seed, { isPrivate: isFresh, isOptional: isOwned(m), tempDir: seed.tempDir, mark: markUsed });
    // What du --verbose says of a shared cache (its directory's name is only a hash): tsbuild's own file beside it.
    if (isMade && !isFresh) {
      await writeFile(`${path}.id`, JSON.stringify({ id: m.id, target: m.target, ...(m.namespace !== undefined ? { namespace: m.namespace } : {}) }), { flag: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW })
        .catch(() => undefined);
    }
    // A seeded cache has its subpath from the seed; only BuildKit's `/cache` is made when the source lacks it.
    if (seed === undefined || isOwned(m)) await ensureSubdir(path, subpath, m);
  } catch (err) {
    await release();
    throw err;
  }
  return {
    path,
    subpath,
    lock: m.sharing === 'locked' ? `${shared}.lock` : undefined,
    release,
  };
}

const execFileAsync = promisify(execFile);

/** The shared cache mounts under `cacheDir`, with their sizes (one `du`, which walks by file descriptor at any depth). */
export async function listCacheMounts(cacheDir: string): Promise<CacheMountUsage[]> {
  let names: string[];
  try {
    names = (await readdir(cacheDir)).filter((n) => CACHE_NAME.test(n)).sort();
  } catch {
    return [];   // no cache mount was ever used on this root
  }
  if (names.length === 0) return [];
  // A directory removed meanwhile (a prune beside this du) fails du for that name only: the others' lines stand.
  const stdout = await execFileAsync('du', ['-s', '-b', '--', ...names], { cwd: cacheDir, maxBuffer: 1 << 24 })
    .then((r) => r.stdout, (err: { stdout?: unknown }) => (typeof err.stdout === 'string' ? err.stdout : ''));
  const sizes = new Map(stdout.split('\n').filter((l) => l !== '').map((l) => {
    const tab = l.indexOf('\t');
    return [l.slice(tab + 1), Number(l.slice(0, tab))] as const;
  }));
  const out: CacheMountUsage[] = [];
  for (const name of names) {
    const st = await lstat(join(cacheDir, name)).catch(() => undefined);
    if (st === undefined || !st.isDirectory()) continue;   // removed meanwhile
    let description = 'cached mount';
    try {
      const known = JSON.parse(await readFile(join(cacheDir, `${name}.id`), 'utf8')) as { id?: unknown; target?: unknown; namespace?: unknown };
      if (typeof known.id === 'string' && typeof known.target === 'string') {
        description = `cached mount ${known.target} with id ${JSON.stringify(known.id)}${typeof known.namespace === 'string' ? ` in namespace ${JSON.stringify(known.namespace)}` : ''}`;
      }
    } catch { /* made before the id was kept */ }
    out.push({ name, size: sizes.get(name) ?? 0, created: st.birthtimeMs || st.ctimeMs, lastUsed: st.mtimeMs, description });
  }
  return out;
}

/** Removes the shared cache mount `name` under `cacheDir` (and its lock and id files); the caller holds the root exclusively. */
export async function removeCacheMount(cacheDir: string, name: string): Promise<void> {
  if (!CACHE_NAME.test(name)) throw new Error(`not a cache mount name: ${name}`);
  const path = join(cacheDir, name);
  await removeTree(path);
  await rm(`${path}.lock`, { force: true });
  await rm(`${path}.id`, { force: true });
}
