import { createHash, hash } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import type { CopyOp } from '../../frontend/index.js';
import type { ContentDigest } from '../../solver/index.js';
import { canonicalJson, sha256, type Digest } from '../../registry/oci/index.js';
import { isUrl } from './add-url.js';
import { throwIfAborted } from './errors.js';
import { PathFilter } from './filters.js';
import { STAT_KEY_BYTES, statKeyText, writeStatKey, type EntryStat } from './dir-listing.js';
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
  await forEachLimit(selection(), LANES, (f, lane) => {
    throwIfAborted(signal);
    const digest = entryDigest(f, keepIds, cache, () => (buffers[lane] ??= Buffer.allocUnsafe(READ_BUFFER)));
    if (typeof digest === 'string') perPath.set(f.path, digest);
    else return digest.then((d) => { perPath.set(f.path, d); });
    return undefined;
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
  hash.update(`v2 keepIds=${String(keepIds)}\n`);
  for (const [url, digest] of urls) hash.update(`url\0${url}\0${digest}\n`);
  // Per entry its path, a NUL and its stat key, batched through one buffer: no string or BigInt per entry.
  const buffer = Buffer.allocUnsafe(64 * 1024);
  let at = 0;
  for (const { path, stat } of found) {
    if (at + path.length * 3 + STAT_KEY_BYTES + 1 > buffer.length) {
      hash.update(buffer.subarray(0, at));
      at = 0;
    }
    if (path.length * 3 + STAT_KEY_BYTES + 1 > buffer.length) hash.update(path);
    else at += buffer.write(path, at);
    buffer[at++] = 0;
    writeStatKey(stat, buffer, at);
    if (!keepIds) buffer.fill(0, at + 24, at + 40);   // uid, gid: context files become 0:0 whoever owns them
    at += STAT_KEY_BYTES;
  }
  hash.update(buffer.subarray(0, at));
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Runs `fn` over what `items` yields, at most `limit` at a time, telling each call its lane (0 to limit-1: one call a
 * lane at a time, so a lane can own a buffer). A call that returns no promise (a file in the hash cache) is not
 * waited for: no promise per entry. A plain pool: p-queue's bookkeeping was a tenth of a 20k-file walk.
 */
async function forEachLimit<T>(items: Iterator<T>, limit: number, fn: (item: T, lane: number) => Promise<void> | undefined): Promise<void> {
  const runner = async (lane: number): Promise<void> => {
    for (let r = items.next(); r.done !== true; r = items.next()) {
      const pending = fn(r.value, lane);
      if (pending !== undefined) await pending;
    }
  };
  await Promise.all(Array.from({ length: limit }, (_, lane) => runner(lane)));
}

/**
 * sha256 of canonicalJson({ type, mode, uid?, gid?, content?, target?, rdev? }), the text written out directly (keys
 * in canonical order): synchronous unless a file's content must be read (not in the hash cache).
 */
function entryDigest(f: Found, keepIds: boolean, cache: HashCache | undefined, buffer: () => Buffer): Digest | Promise<Digest> {
  const st = f.stat;
  if (!st.isFile()) return oneShot(entryJson(f, keepIds, undefined));
  const key = statKeyText(st);   // device, inode, size, mtime, ctime
  const cached = cache?.get(key);
  if (cached !== undefined) return oneShot(entryJson(f, keepIds, cached));
  return hashFile(f.abs, st.size, buffer()).then((content) => {
    cache?.set(key, content);
    return oneShot(entryJson(f, keepIds, content));
  });
}

/** sha256 of `text` without a Hash object (and its native context, freed only by a GC) per entry. */
function oneShot(text: string): Digest {
  return `sha256:${hash('sha256', text)}`;
}

function entryJson({ abs, stat: st }: Found, keepIds: boolean, content: Digest | undefined): string {
  const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo'
    : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'socket';
  let json = content === undefined ? '{' : `{"content":"${content}",`;
  if (keepIds) json += `"gid":${Number(st.gid)},`;
  json += `"mode":${Number(st.mode) & 0o7777},`;
  if (type === 'char' || type === 'block') json += `"rdev":"${st.rdev}",`;
  // Synchronous like the walk: one readlink is a few µs, a promise round trip cost more.
  if (type === 'symlink') json += `"target":${JSON.stringify(readlinkSync(abs))},`;
  json += `"type":"${type}"`;
  if (keepIds) json += `,"uid":${Number(st.uid)}`;
  return `${json}}`;
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
  for (let i = 0; i < sorted.length; i++) {
    const [path, digest] = sorted[i] ?? ['', ''];
    text += `${i === 0 ? '' : ','}[${JSON.stringify(path)},"${digest}"]`;   // a digest needs no escaping
    if (text.length >= 64 * 1024) { hash.update(text); text = ''; }
  }
  hash.update(`${text}],"v":1}`);
  return `sha256:${hash.digest('hex')}`;
}

function bound(sorted: [string, Digest][]): Record<string, Digest> {
  if (sorted.length <= MAX_FILE_DIGESTS) return Object.fromEntries(sorted);
  // The deepest grouping that still fits (or the last one that changed anything), counted without building it.
  let depth = 0;
  let size = 0;
  for (let d = 1; ; d++) {
    const groups = groupCount(sorted, d);
    if (groups > MAX_FILE_DIGESTS || groups === size) break;
    depth = d;
    size = groups;
  }
  if (depth === 0) return Object.fromEntries(sorted.slice(0, MAX_FILE_DIGESTS));
  const best = new Map<string, [string, Digest][]>();
  for (const entry of sorted) {
    const at = prefixEnd(entry[0], depth);
    const key = at < 0 ? entry[0] : `${entry[0].slice(0, at)}/**`;
    const list = best.get(key);
    if (list === undefined) best.set(key, [entry]); else list.push(entry);
  }
  // JSON.stringify of [path, digest] pairs is canonicalJson of them: arrays of strings only.
  return Object.fromEntries([...best].map(([key, list]) => [key, list.length === 1 && list[0]?.[0] === key ? (list[0]?.[1] ?? sha256('')) : sha256(JSON.stringify(list))]));
}

/**
 * How many keys grouping by the first `depth` components makes: a path with more components goes under
 * `<first depth components>/**`, others stay themselves. Paths sharing a prefix are adjacent in sorted order, so each
 * group is one run.
 */
function groupCount(sorted: [string, Digest][], depth: number): number {
  let count = 0;
  let run: string | undefined;
  for (let i = 0; i < sorted.length; i++) {
    const path = sorted[i]?.[0] ?? '';
    const at = prefixEnd(path, depth);
    if (at < 0) { count++; run = undefined; continue; }
    if (run !== undefined && at === run.length && path.startsWith(run)) continue;
    run = path.slice(0, at);
    count++;
  }
  return count;
}

/** The index of the `depth`-th '/' in `path` (the end of its first `depth` components), or -1 when it has no more. */
function prefixEnd(path: string, depth: number): number {
  let at = -1;
  for (let d = 0; d < depth; d++) {
    at = path.indexOf('/', at + 1);
    if (at < 0) return -1;
  }
  return at;
}
