import { createHash } from 'node:crypto';
import { readlink } from 'node:fs/promises';
import type { CopyOp } from '../../frontend/index.js';
import type { ContentDigest } from '../../solver/index.js';
import { canonicalJson, sha256, type Digest } from '../../registry/oci/index.js';
import { isUrl } from './add-url.js';
import { throwIfAborted } from './errors.js';
import { PathFilter } from './filters.js';
import type { EntryStat } from './dir-listing.js';
import { hashFile } from './hash-file.js';
import type { HashCache } from './hash-cache.js';
import { RootSession } from '../confined/index.js';
import { selectSources, sessionResolver, type SelectedSource, type SourceResolver } from './select-sources.js';
import type { CopySourceDir } from './source.js';
import { StatMemo, walkTree } from './walk.js';

/** At most this many per-path digests are returned; beyond, paths are grouped by leading directories. */
export const MAX_FILE_DIGESTS = 1000;

interface Found { path: string; abs: string; stat: EntryStat }

/**
 * Files are hashed by LANES reads at a time, each lane reading into its own reused buffer: no Buffer per file (a
 * `readFile` per small file and a stream per big one made ~200 MB of short-lived external memory for a 200 MB
 * context, which V8 collects only after it has grown by 64 MiB).
 */
const LANES = 16;
const READ_BUFFER = 64 * 1024;

/**
 * The content digest of exactly what `op` selects from `source`: per path (relative to the source root) its type,
 * permission bits (setuid/setgid/sticky included), content sha256 or symlink target, and device numbers; uid/gid only
 * for COPY --from without --chown (the one case where BuildKit keeps them; context files always become 0:0). Never
 * mtime, never atime. ADD URLs contribute the URL and --checksum (their bytes are unknown before download).
 */
export async function contentDigest(op: CopyOp, source: CopySourceDir, signal: AbortSignal, cache?: HashCache): Promise<ContentDigest> {
  const perPath = new Map<string, Digest>();
  if (source.kind === 'inline') {
    for (const f of source.files) perPath.set(f.name, sha256(canonicalJson({ type: 'file', mode: 0o644, content: sha256(f.content) })));
    return finish(perPath);
  }
  const urls = op.mode === 'add' ? op.sources.filter(isUrl) : [];
  for (const url of urls) perPath.set(url, sha256(canonicalJson({ type: 'url', url, checksum: op.checksum })));
  const local = op.sources.filter((s) => !urls.includes(s));
  const ignore = new PathFilter(source.excludes);
  const exclude = new PathFilter(op.exclude);
  const label = op.from.kind === 'vertex' ? `stage ${op.from.id}` : 'build context';
  const memo = source.memo ?? new StatMemo();
  const items = local.length === 0 ? [] : await withResolver(source.path, memo, (resolve) => selectSources(local, { dir: source.path, ignore, label, resolve }, op));
  // Walked twice from the build's listing (no syscall): once for the stat key of the whole selection, and, only when
  // that misses, to hash. Nothing per entry is kept but its digest.
  const selection = (): Generator<Found> => selected(items, exclude, ignore, signal, memo);
  const keepIds = op.from.kind === 'vertex' && (op.chown === undefined || op.chown === '');
  // The stat cache for the whole selection: an unchanged tree is one lookup, no file read, no per-entry hash.
  const treeKey = cache?.getTree === undefined ? undefined : selectionKey(perPath, selection(), keepIds);
  const known = treeKey === undefined ? undefined : cache?.getTree?.(treeKey);
  if (known !== undefined) return known;
  const buffers: Buffer[] = [];
  await forEachLimit(selection(), LANES, async (f, lane) => {
    throwIfAborted(signal);
    perPath.set(f.path, await entryDigest(f, keepIds, cache, (buffers[lane] ??= Buffer.allocUnsafe(READ_BUFFER))));
  });
  const result = finish(perPath);
  cache?.flush?.();
  if (treeKey !== undefined) cache?.setTree?.(treeKey, result);
  return result;
}

/** Every entry `items` select, in order: each item, then (for a directory) what is below it that no filter hides. */
function* selected(items: SelectedSource[], exclude: PathFilter, ignore: PathFilter, signal: AbortSignal, memo: StatMemo): Generator<Found> {
  for (const item of items) {
    if (exclude.excludes(item.rel)) continue;
    yield { path: item.rel === '' ? '.' : item.rel, abs: item.abs, stat: item.stat };
    if (!item.stat.isDirectory()) continue;
    for (const e of walkTree(item.abs, item.rel, { ignore, exclude }, signal, memo)) {
      yield { path: item.rel === '' ? e.rel : `${item.rel}/${e.rel}`, abs: e.abs, stat: e.stat };
    }
  }
}

/**
 * Runs `fn` with a resolver of source paths. A path whose every component the listing shows as a plain entry (no
 * symlink on the way) resolves to itself, and one that is not listed does not exist: openat2 would answer the same.
 * Any symlink on the way is resolved by the one confined resolver (a read-only tsbuild-fsattr session on the source
 * root, started only then): a process per COPY was most of a cached build's key time for a small context.
 */
async function withResolver<T>(root: string, memo: StatMemo, fn: (resolve: SourceResolver) => Promise<T>): Promise<T> {
  let session: RootSession | undefined;
  const confined = (rel: string): Promise<string | undefined> => sessionResolver(session ??= RootSession.open(root, { sourceRoot: root }))(rel);
  const resolve: SourceResolver = async (rel) => {
    let dir = root.endsWith('/') ? root.slice(0, -1) : root;
    const names = rel.split('/').filter((s) => s !== '' && s !== '.');
    for (const [i, name] of names.entries()) {
      if (name === '..') return await confined(rel);
      const stat = memo.entry(dir, name);
      if (stat === undefined) return undefined;                          // ENOENT
      if (stat.isSymbolicLink()) return await confined(rel);
      if (i < names.length - 1 && !stat.isDirectory()) return undefined;  // ENOTDIR
      dir = `${dir}/${name}`;
    }
    return rel;
  };
  let result: T;
  try {
    result = await fn(resolve);
  } catch (err) {
    await session?.abort();
    throw session?.failure ?? err;
  }
  await session?.close();
  return result;
}

/**
 * Everything entryDigest reads, from the stat alone: path, type and mode, owner when kept, device numbers, and the
 * file cache's content key (dev, ino, size, mtime, ctime). A symlink's target cannot change without a new ctime.
 */
function selectionKey(urls: Map<string, Digest>, found: Iterable<Found>, keepIds: boolean): Digest {
  const hash = createHash('sha256');
  hash.update(`v1 keepIds=${String(keepIds)}\n`);
  for (const [url, digest] of urls) hash.update(`url\0${url}\0${digest}\n`);
  for (const { path, stat: st } of found) {
    hash.update(`${path}\0${st.mode}\0${keepIds ? `${st.uid}:${st.gid}` : ''}\0${st.rdev}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}\n`);
  }
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Runs `fn` over what `items` yields, at most `limit` at a time, telling each call its lane (0 to limit-1: one call a
 * lane at a time, so a lane can own a buffer). A plain pool: p-queue's bookkeeping was a tenth of a 20k-file walk.
 */
async function forEachLimit<T>(items: Iterator<T>, limit: number, fn: (item: T, lane: number) => Promise<void>): Promise<void> {
  const runner = async (lane: number): Promise<void> => {
    for (let r = items.next(); r.done !== true; r = items.next()) await fn(r.value, lane);
  };
  await Promise.all(Array.from({ length: limit }, (_, lane) => runner(lane)));
}

async function entryDigest(f: Found, keepIds: boolean, cache: HashCache | undefined, buffer: Buffer): Promise<Digest> {
  const st = f.stat;
  const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo'
    : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'socket';
  return sha256(canonicalJson({
    type,
    mode: Number(st.mode) & 0o7777,
    uid: keepIds ? Number(st.uid) : undefined,
    gid: keepIds ? Number(st.gid) : undefined,
    content: type === 'file' ? await fileDigest(f.abs, st, cache, buffer) : undefined,
    target: type === 'symlink' ? await readlink(f.abs) : undefined,
    rdev: type === 'char' || type === 'block' ? String(st.rdev) : undefined,
  }));
}

async function fileDigest(abs: string, st: EntryStat, cache: HashCache | undefined, buffer: Buffer): Promise<Digest> {
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  const cached = cache?.get(key);
  if (cached !== undefined) return cached;
  const digest = await hashFile(abs, st.size, buffer);
  cache?.set(key, digest);
  return digest;
}

/** The overall digest over every path; the returned map is bounded by grouping deep paths under their directories. */
function finish(perPath: Map<string, Digest>): ContentDigest {
  const sorted = [...perPath.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { digest: entriesDigest(sorted), files: bound(sorted) };
}

/** sha256 of `canonicalJson({ v: 1, entries: sorted })`, hashed piece by piece: no string of the whole list. */
function entriesDigest(sorted: [string, Digest][]): Digest {
  const hash = createHash('sha256');
  let text = '{"entries":[';
  for (const [i, [path, digest]] of sorted.entries()) {
    text += `${i === 0 ? '' : ','}[${JSON.stringify(path)},${JSON.stringify(digest)}]`;
    if (text.length >= 64 * 1024) { hash.update(text); text = ''; }
  }
  hash.update(`${text}],"v":1}`);
  return `sha256:${hash.digest('hex')}`;
}

function bound(sorted: [string, Digest][]): Record<string, Digest> {
  if (sorted.length <= MAX_FILE_DIGESTS) return Object.fromEntries(sorted);
  let best = new Map<string, [string, Digest][]>();
  for (let depth = 1; ; depth++) {
    const groups = new Map<string, [string, Digest][]>();
    for (const entry of sorted) {
      const parts = entry[0].split('/');
      const key = parts.length > depth ? `${parts.slice(0, depth).join('/')}/**` : entry[0];
      const list = groups.get(key) ?? [];
      list.push(entry);
      groups.set(key, list);
    }
    if (groups.size > MAX_FILE_DIGESTS || groups.size === best.size) break;
    best = groups;
  }
  if (best.size === 0) return Object.fromEntries(sorted.slice(0, MAX_FILE_DIGESTS));
  return Object.fromEntries([...best].map(([key, list]) => [key, list.length === 1 && list[0]?.[0] === key ? (list[0]?.[1] ?? sha256('')) : sha256(canonicalJson(list))]));
}
