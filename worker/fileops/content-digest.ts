import { createHash, hash } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import type { CopyOp } from '../../frontend/index.js';
import type { ContentDigest, FileChange } from '../../solver/index.js';
import { canonicalJson, sha256, type Digest } from '../../registry/oci/index.js';
import { isUrl } from './add-url.js';
import { gitAuth, type RemoteAccess } from './remote-access.js';
import { verifyGitChecksum } from './git-fetch.js';
import { parseGitRef } from './git-ref.js';
import { redactUrl } from '../../common/index.js';
import { throwIfAborted } from './errors.js';
import { PathFilter } from './filters.js';
import { STAT_KEY_BYTES, statKeyText, writeStatKey, type EntryStat } from './dir-listing.js';
import { hashFile } from './hash-file.js';
import type { HashCache } from './hash-cache.js';
import { KeyXattrReader } from './key-xattrs.js';
import { RootSession } from '../confined/index.js';
import { excludesSource, selectSources, sessionResolver, type SelectedSource, type SourceResolver } from './select-sources.js';
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
 * permission bits (setuid/setgid/sticky included), content sha256 or symlink target, device numbers, and the xattrs
 * BuildKit's key counts (key-xattrs.ts: a capability, user.* ones, not an ACL or an SELinux label); uid/gid only for
 * COPY --from without --chown (the one case where BuildKit keeps them; context files always become 0:0). Never
 * mtime, never atime. An ADD URL contributes the content it serves now (or its --checksum), a git source the commit
 * its ref resolves to (both through `access`, the build's resolutions, which an op with a remote source needs: the
 * ADD then writes that very body or commit).
 */
export async function contentDigest(op: CopyOp, source: CopySourceDir, signal: AbortSignal, cache?: HashCache, access?: RemoteAccess): Promise<ContentDigest> {
  const perPath = new PathDigests();
  if (source.kind === 'inline') {
    for (const f of source.files) perPath.add(f.name, sha256(canonicalJson({ type: 'file', mode: 0o644, content: sha256(f.content) })));
    return finish(perPath);
  }
  const urls = op.mode === 'add' ? op.sources.filter(isUrl) : [];
  for (const url of urls) {
    if (access === undefined) throw new Error(`contentDigest: ${redactUrl(url)} is a remote source, and no RemoteAccess was given to resolve it with`);
    const git = parseGitRef(url);
    if (git === undefined) {
      // By the content the URL serves now (or its --checksum), as BuildKit's http source keys it: a file changed on
      // the server misses. Last-Modified is the file's mtime, so it is part of the result too (formatCacheKey).
      const got = await access.downloads.key(url, op.checksum, signal);
      perPath.add(redactUrl(url), sha256(canonicalJson({ type: 'url', digest: got.digest, lastModified: got.lastModified ?? null })));
      continue;
    }
    // A git source is keyed by the commit its ref resolves to now (ls-remote), never by the URL's credentials.
    const how = { signal, code: 'COPY_SOURCE_NOT_FOUND', ...(await gitAuth(access, git.remote)) } as const;
    const commit = await access.commits.resolve(git, how);
    verifyGitChecksum(op.checksum === undefined || op.checksum === '' ? git : { ...git, checksum: op.checksum }, commit, how.code);
    perPath.add(redactUrl(url), sha256(canonicalJson({ type: 'git', commit, subdir: git.subdir, keepGitDir: op.keepGitDir === true || git.keepGitDir === true, submodules: git.submodules !== false })));
  }
  // Walked twice from the build's listing (no syscall): once for the stat key of the whole selection, and, only when
  // that misses, to hash. Nothing per entry is kept but its path and digest.
  const selection = await selectionOf(op, source, op.sources.filter((s) => !urls.includes(s)), signal);
  const keepIds = keepsIds(op);
  // The stat cache for the whole selection: an unchanged tree is one lookup, no file read, no per-entry hash.
  const treeKey = cache?.getTree === undefined ? undefined : selectionKey(perPath, selection(), keepIds);
  const known = treeKey === undefined ? undefined : cache?.getTree?.(treeKey);
  if (known !== undefined) return known;
  const buffers: Buffer[] = [];
  const xattrs = new KeyXattrReader();
  await forEachLimit(selection(), LANES, (f, lane) => {
    throwIfAborted(signal);
    const slot = perPath.add(f.path);
    return entryFields(f, { cache, xattrs, buffer: () => (buffers[lane] ??= Buffer.allocUnsafe(READ_BUFFER)) }, (content, read) => perPath.set(slot, oneShot(entryJson(f, keepIds, content, read))));
  });
  await xattrs.drain();
  const result = finish(perPath);
  cache?.flush?.();
  if (treeKey !== undefined) cache?.setTree?.(treeKey, result);
  return result;
}

/**
 * `changes` (the listed files of a content miss over what `op` selects from `source`) with `mode: { before, after }`
 * on each that is the same entry with other permission bits. A per-file digest is a hash with no fields to compare,
 * but a mode is twelve bits: an entry that hashes to `after` as it is now, and to `before` with one of the 4,096
 * modes in place of its own, differs in its mode alone. Files checked out under another umask (or by git with
 * core.fileMode off) are a common reason a CI runner misses what a laptop built, and "changed" would not say so.
 * Reads the stats of the selection (the build's listing) and the content of the changed files only, from the hash
 * cache when it knows them.
 */
export async function withModeChanges(op: CopyOp, source: CopySourceDir, changes: FileChange[], signal: AbortSignal, cache?: HashCache): Promise<FileChange[]> {
  const wanted = new Map(changes.filter((c) => c.before !== undefined && c.after !== undefined).map((c) => [c.path, c]));
  if (source.kind === 'inline' || wanted.size === 0) return changes;
  const local = op.sources.filter((s) => !isUrl(s));
  const keepIds = keepsIds(op);
  const xattrs = new KeyXattrReader();
  const buffer = Buffer.allocUnsafe(READ_BUFFER);
  const found = new Map<string, FileChange['mode']>();
  let left = wanted.size;
  for (const f of (await selectionOf(op, source, local, signal))()) {
    const change = wanted.get(f.path);
    if (change === undefined) continue;
    let fields: [Digest | undefined, Digest | null] | undefined;
    await entryFields(f, { cache, xattrs, buffer: () => buffer }, (content, read) => { fields = [content, read]; });
    await xattrs.drain();
    if (fields === undefined) continue;
    left--;
    const [content, read] = fields;
    if (oneShot(entryJson(f, keepIds, content, read)) !== change.after) continue;   // changed again since its digest
    const now = Number(f.stat.mode) & 0o7777;
    const before = MODE_GUESSES.find((m) => m !== now && oneShot(entryJson(f, keepIds, content, read, m)) === change.before);
    if (before !== undefined) found.set(f.path, { before, after: now });
    if (left === 0) break;
  }
  return changes.map((c) => {
    const mode = found.get(c.path);
    return mode === undefined ? c : { ...c, mode };
  });
}

/** Every mode, the usual ones first (a umask's 0644/0664, 0755/0775 …): most mode-only changes are found in a few. */
const MODE_GUESSES: readonly number[] = (() => {
  const usual = [0o644, 0o664, 0o755, 0o775, 0o600, 0o700, 0o666, 0o777, 0o640, 0o750, 0o444, 0o555, 0o660, 0o770];
  return [...usual, ...Array.from({ length: 0o10000 }, (_, m) => m).filter((m) => !usual.includes(m))];
})();

/** What `op` selects from the directory `source`: a generator over the build's listing, walked again at each call. */
async function selectionOf(op: CopyOp, source: Extract<CopySourceDir, { kind: 'dir' }>, local: string[], signal: AbortSignal): Promise<() => Generator<Found>> {
  const ignore = new PathFilter(source.excludes);
  const exclude = new PathFilter(op.exclude);
  const label = op.from.kind === 'vertex' ? `stage ${op.from.id}` : 'build context';
  const memo = source.memo ?? new StatMemo();
  const items = local.length === 0 ? [] : await withResolver(source.path, memo, (resolve) => selectSources(local, { dir: source.path, ignore, label, resolve }, op));
  return () => selected(items, exclude, op.parents, ignore, signal, memo);
}

/** Whether the key counts owners: only COPY --from without --chown keeps them (context files always become 0:0). */
function keepsIds(op: CopyOp): boolean {
  return op.from.kind === 'vertex' && (op.chown === undefined || op.chown === '');
}

/**
 * The digest of each selected path, in the order they were selected: the paths in an array, the digests as 32 bytes
 * each in one buffer. A Map of 20,000 path → digest strings (and its sorted copy) outlived the young generation of a
 * big context's hash and was old-generation garbage by the COPY (peak RSS). A path added twice keeps the digest it
 * was given last, as the Map did.
 */
class PathDigests {
  readonly paths: string[] = [];
  #digests = Buffer.allocUnsafe(32 * 1024);

  /** Adds `path` (with `digest`, or set later through the returned slot). */
  add(path: string, digest?: Digest): number {
    const slot = this.paths.length;
    this.paths.push(path);
    if (this.#digests.length < (slot + 1) * 32) {
      const grown = Buffer.allocUnsafe(this.#digests.length * 2);
      this.#digests.copy(grown);
      this.#digests = grown;
    }
    if (digest !== undefined) this.set(slot, digest);
    return slot;
  }

  set(slot: number, digest: Digest): void {
    this.#digests.write(digest.slice(DIGEST_PREFIX.length), slot * 32, 32, 'hex');
  }

  /** The digest of slot `slot`, as text. */
  digest(slot: number): Digest {
    return `${DIGEST_PREFIX}${this.#digests.toString('hex', slot * 32, slot * 32 + 32)}`;
  }

  /** The slots sorted by path (UTF-16 order), each path once (its last slot). */
  sorted(): Uint32Array {
    const { paths } = this;
    const order = new Uint32Array(paths.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => {
      const pa = paths[a] ?? '';
      const pb = paths[b] ?? '';
      return pa < pb ? -1 : pa > pb ? 1 : a - b;
    });
    let kept = 0;
    for (let i = 0; i < order.length; i++) {
      const slot = order[i] ?? 0;
      const next = order[i + 1];
      if (next !== undefined && paths[next] === paths[slot]) continue;   // a later slot has the same path
      order[kept++] = slot;
    }
    return order.subarray(0, kept);
  }
}

const DIGEST_PREFIX = 'sha256:';

/**
 * Every entry `items` select, in order: the directories COPY --parents keeps on the way to an item (each once), the
 * item, then (for a directory) what is below it that no filter hides.
 */
function* selected(items: SelectedSource[], exclude: PathFilter, isParents: boolean, ignore: PathFilter, signal: AbortSignal, memo: StatMemo): Generator<Found> {
  const kept = new Set<string>();
  for (const item of items) {
    if (excludesSource(exclude, item, isParents)) continue;
    for (const dir of item.kept) {
      if (kept.has(dir.rel)) continue;
      kept.add(dir.rel);
      yield { path: dir.rel, abs: dir.abs, stat: dir.stat };
    }
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
 * Everything entryFields reads, from the stat alone: path, type and mode, owner when kept, device numbers, and the
 * file cache's content key (dev, ino, size, mtime, ctime). A symlink's target cannot change without a new ctime.
 */
function selectionKey(urls: PathDigests, found: Iterable<Found>, keepIds: boolean): Digest {
  const hash = createHash('sha256');
  // v3: entries' xattrs count (a result stored before, without them, must not answer for the same stats).
  hash.update(`v3 keepIds=${String(keepIds)}\n`);
  for (const [slot, url] of urls.paths.entries()) hash.update(`url\0${url}\0${urls.digest(slot)}\n`);
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

/** What entryFields reads with: the hash cache, the xattr reader, and the calling lane's read buffer. */
interface EntryReaders { cache: HashCache | undefined; xattrs: KeyXattrReader; buffer: () => Buffer }

/**
 * Hands `done` what an entry's digest needs besides its stat: a file's content digest and the digest of the xattrs
 * the key counts (entryJson). At once when the hash cache knows the entry (by its stat: a changed xattr changes
 * ctime); a file whose content it does not know is read first (the returned promise), and xattrs it does not know are
 * queued for a batch read (a promise only when the lane must wait for earlier batches).
 */
function entryFields(f: Found, { cache, xattrs, buffer }: EntryReaders, done: (content: Digest | undefined, xattrs: Digest | null) => void): Promise<void> | undefined {
  const st = f.stat;
  const key = statKeyText(st);   // device, inode, size, mtime, ctime
  const known = cache?.get(key);
  const withXattrs = (content: Digest | undefined): Promise<void> | undefined => {
    const knownXattrs = known?.xattrs;
    if (knownXattrs !== undefined) {
      if (content !== known?.content) cache?.set(key, { content, xattrs: knownXattrs });
      done(content, knownXattrs);
      return undefined;
    }
    return xattrs.read(f.abs, (read) => {
      cache?.set(key, { content, xattrs: read });
      done(content, read);
    });
  };
  if (!st.isFile()) return withXattrs(undefined);
  if (known?.content !== undefined) return withXattrs(known.content);
  return hashFile(f.abs, st.size, buffer()).then(withXattrs);
}

/** sha256 of `text` without a Hash object (and its native context, freed only by a GC) per entry. */
function oneShot(text: string): Digest {
  return `sha256:${hash('sha256', text)}`;
}

function entryJson({ abs, stat: st }: Found, keepIds: boolean, content: Digest | undefined, xattrs: Digest | null, mode = Number(st.mode) & 0o7777): string {
  const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo'
    : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'socket';
  let json = content === undefined ? '{' : `{"content":"${content}",`;
  if (keepIds) json += `"gid":${Number(st.gid)},`;
  json += `"mode":${mode},`;
  if (type === 'char' || type === 'block') json += `"rdev":"${st.rdev}",`;
  // Synchronous like the walk: one readlink is a few µs, a promise round trip cost more.
  if (type === 'symlink') json += `"target":${JSON.stringify(readlinkSync(abs))},`;
  json += `"type":"${type}"`;
  if (keepIds) json += `,"uid":${Number(st.uid)}`;
  // Only an entry that has some: every other keeps the digest it had before xattrs counted.
  if (xattrs !== null) json += `,"xattrs":"${xattrs}"`;
  return `${json}}`;
}

/** The overall digest over every path; the returned map is bounded by grouping deep paths under their directories. */
function finish(perPath: PathDigests): ContentDigest {
  const order = perPath.sorted();
  return { digest: entriesDigest(perPath, order), files: bound(perPath, order) };
}

/** sha256 of `canonicalJson({ v: 1, entries: sorted })`, hashed piece by piece: no string of the whole list. */
function entriesDigest(perPath: PathDigests, order: Uint32Array): Digest {
  return pairsDigest('{"entries":', perPath, order, ',"v":1}');
}

/**
 * sha256 of `head` + JSON.stringify of the [path, digest] pairs of `slots` (canonicalJson of them: arrays of strings
 * only) + `tail`, the text hashed in 64 KiB pieces.
 */
function pairsDigest(head: string, perPath: PathDigests, slots: Uint32Array, tail: string): Digest {
  const hash = createHash('sha256');
  let text = `${head}[`;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i] ?? 0;
    text += `${i === 0 ? '' : ','}[${JSON.stringify(perPath.paths[slot])},"${perPath.digest(slot)}"]`;   // a digest needs no escaping
    if (text.length >= 64 * 1024) { hash.update(text); text = ''; }
  }
  hash.update(`${text}]${tail}`);
  return `sha256:${hash.digest('hex')}`;
}

function bound(perPath: PathDigests, order: Uint32Array): Record<string, Digest> {
  const { paths } = perPath;
  const pathAt = (i: number): string => paths[order[i] ?? 0] ?? '';
  const entries = (from: number, to: number): [string, Digest][] => Array.from(order.subarray(from, to), (slot) => [paths[slot] ?? '', perPath.digest(slot)]);
  if (order.length <= MAX_FILE_DIGESTS) return Object.fromEntries(entries(0, order.length));
  // The deepest grouping that still fits (or the last one that changed anything), counted without building it.
  let depth = 0;
  let size = 0;
  for (let d = 1; ; d++) {
    const groups = groupCount(order.length, pathAt, d);
    if (groups > MAX_FILE_DIGESTS || groups === size) break;
    depth = d;
    size = groups;
  }
  if (depth === 0) return byLeadingCharacters(perPath, order, pathAt) ?? Object.fromEntries(entries(0, MAX_FILE_DIGESTS));
  // A group is a run of sorted paths (those sharing a prefix are adjacent): its digest is that of its pairs' JSON.
  const out: [string, Digest][] = [];
  for (let i = 0; i < order.length;) {
    const path = pathAt(i);
    const at = prefixEnd(path, depth);
    if (at < 0) {
      out.push([path, perPath.digest(order[i] ?? 0)]);
      i++;
      continue;
    }
    const prefix = path.slice(0, at + 1);
    let end = i + 1;
    while (end < order.length && pathAt(end).startsWith(prefix)) end++;   // the same prefix: the same depth-th slash
    const key = `${prefix}**`;
    // A lone entry that is itself named like its group (a file called `**`) keeps its own digest.
    out.push([key, end === i + 1 && path === key ? perPath.digest(order[i] ?? 0) : pairsDigest('', perPath, order.subarray(i, end), '')]);
    i = end;
  }
  return Object.fromEntries(out);
}

/**
 * When no grouping by directories fits (more than MAX_FILE_DIGESTS entries side by side in one directory), groups by
 * the paths' first characters instead: the longest prefix length whose groups fit, each group keyed `<prefix>*` (a
 * path no longer than the prefix keeps its own name). A changed file is then named by a narrow pattern (`f149*` of
 * f0000.txt … f1499.txt) instead of not at all, and adding a file changes only its own group. Undefined when even one
 * character makes too many groups.
 */
function byLeadingCharacters(perPath: PathDigests, order: Uint32Array, pathAt: (i: number) => string): Record<string, Digest> | undefined {
  const keyOf = (path: string, k: number): string => (path.length > k ? `${path.slice(0, k)}*` : path);
  const count = (k: number): number => {
    let n = 0;
    let last: string | undefined;
    for (let i = 0; i < order.length; i++) {
      const key = keyOf(pathAt(i), k);
      if (key !== last) { n++; last = key; }
    }
    return n;
  };
  // Longer prefixes make more groups (a shared stretch, `file_`, makes the same number): the longest that fits.
  let best = 0;
  for (let k = 1; ; k++) {
    const n = count(k);
    if (n > MAX_FILE_DIGESTS) break;
    best = k;
    if (n === order.length) break;   // every path its own group already
  }
  if (best === 0) return undefined;
  const out: Record<string, Digest> = {};
  for (let i = 0; i < order.length;) {
    const key = keyOf(pathAt(i), best);
    let end = i + 1;
    while (end < order.length && keyOf(pathAt(end), best) === key) end++;
    out[key] = end === i + 1 && key === pathAt(i) ? perPath.digest(order[i] ?? 0) : pairsDigest('', perPath, order.subarray(i, end), '');
    i = end;
  }
  return out;
}

/**
 * How many keys grouping by the first `depth` components makes: a path with more components goes under
 * `<first depth components>/**`, others stay themselves. Paths sharing a prefix are adjacent in sorted order, so each
 * group is one run.
 */
function groupCount(length: number, pathAt: (i: number) => string, depth: number): number {
  let count = 0;
  let run: string | undefined;
  for (let i = 0; i < length; i++) {
    const path = pathAt(i);
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
