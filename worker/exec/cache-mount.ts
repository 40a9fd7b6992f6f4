import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunMount } from '../../frontend/index.js';
import { removeTree } from '../../common/index.js';
import { RootSession, inRootPath } from '../confined/index.js';

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
  // Owner and mode apply when the cache is created, as in BuildKit; later runs see it as they left it. They are set
  // on the directory just made, through its fd (O_NOFOLLOW|O_DIRECTORY), never by a path a step could redirect.
  const dir = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    await dir.chown(m.uid, m.gid);
    await dir.chmod(m.mode);
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

/**
 * Prepares `<cacheDir>/<sha256(id)>` for a `RUN --mount=type=cache`: the id is only hashed, so no id (`../../x`,
 * `/etc`) can name a path of its own.
 */
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
    if (isFresh) await removeTree(path);
  };
  try {
    await create(path, m);
    await ensureSubdir(path, m.source, m);
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
