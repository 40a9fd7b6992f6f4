import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { CopyOp } from '../../frontend/index.js';
import type { EntryStat } from './dir-listing.js';
import { CopyError } from './errors.js';
import type { PathFilter } from './filters.js';
import { hasWildcard, matchSegment, unescapeSegment } from './path-match.js';
import { inRootPath, type RootSession } from '../confined/index.js';
import { keepsAnything } from './walk.js';

/** One path a COPY source selected in the source directory, top-level symlinks already followed. */
export interface SelectedSource {
  /** Path relative to the source root as written or matched (before following a symlink), `/`-separated; '' = root. */
  rel: string;
  /** Host path after following symlinks inside the source root. */
  abs: string;
  /** lstat of `abs` (never a symlink: it was followed). */
  stat: EntryStat;
  /** What COPY --parents keeps under the destination: `rel`, or the part after a `/./` pivot. */
  keep: string;
  /** Which of the COPY's sources (its index) selected it: BuildKit copies each source on its own. */
  source: number;
  /** COPY --parents: the directories kept on the way to it under the destination, outermost first; else empty. */
  kept: KeptDir[];
}

/**
 * Whether COPY --exclude drops a selected source itself. fsutil's copier matches the patterns against paths below the
 * source it copies, never the source (copy.go, copier.copy: `srcComponents != ""`); a directory's own name does not
 * reach the destination (CopyDirContentsOnly), so `ADD --exclude=* dir* /6` still makes an empty /6
 * (exclude_patterns_test.go). A file keeps its name there, and is dropped as the documentation says (BuildKit itself
 * copies it: moby/buildkit#5489); with --parents the whole path is kept, so it is matched whole.
 */
export function excludesSource(exclude: PathFilter, item: SelectedSource, isParents: boolean): boolean {
  if (item.stat.isDirectory() && !isParents) return false;
  return exclude.excludes(item.rel);
}

/**
 * A directory COPY --parents keeps between the destination and a selected path without selecting it: BuildKit copies
 * the source root (or the `/./` pivot) with the source as an include pattern, and makes such a directory from its own
 * source directory when something under it matches (fsutil copy.go, createParentDirs). Its mode (and owner, for COPY
 * --from) is in the result, so it is in the COPY's content key too, as BuildKit's checksum has the parents' headers.
 */
export interface KeptDir {
  /** Where it goes, relative to the destination. */
  keep: string;
  /** Its path relative to the source root, as `rel` is. */
  rel: string;
  /** Host path of its source directory, symlinks followed inside the source root. */
  abs: string;
  /** lstat of its source directory (symlinks on the way followed inside the source root). */
  stat: EntryStat;
}

/** What the sources are matched against. */
export interface SelectionRoot {
  dir: string;
  /** The context's .dockerignore: excluded paths are invisible, as if never sent. */
  ignore: PathFilter;
  /** How errors name the source root: 'build context' or 'stage s1.3'. */
  label: string;
  /** Resolves a path in the source root, symlinks followed inside it; undefined when it does not exist. */
  resolve: SourceResolver;
}

/** Resolves a source path to its path relative to the source root after following symlinks inside it. */
export type SourceResolver = (rel: string) => Promise<string | undefined>;

/** The confined resolver (openat2 RESOLVE_IN_ROOT on the session's source root) as a SourceResolver. */
export function sessionResolver(session: RootSession): SourceResolver {
  return async (rel) => {
    const r = await session.resolveSource(inRootPath(rel));
    if ('rel' in r) return r.rel;
    if (r.errno === 2 || r.errno === 20) return undefined;
    if (r.errno === 40) {
      throw new CopyError('INVALID_ARGUMENT', `too many levels of symbolic links resolving ${JSON.stringify(rel)}`, 'a symlink in the source points back into itself');
    }
    throw new Error(`cannot resolve ${JSON.stringify(rel)} in the source: errno ${r.errno}`);
  };
}

/**
 * Expands `sources` against the source root: a leading `/` means the root and `..` stops at it, wildcards follow Go
 * filepath.Match per segment, and a source that is a symlink is followed within the root (BuildKit sets FollowSymlinks
 * for COPY's own sources; links *inside* a copied directory stay links). A wildcard matching nothing selects nothing,
 * as in BuildKit. Throws COPY_SOURCE_NOT_FOUND for a missing or excluded path, with a hint naming the .dockerignore
 * pattern that hid it.
 */
export async function selectSources(sources: readonly string[], root: SelectionRoot, op: Pick<CopyOp, 'parents'>): Promise<SelectedSource[]> {
  const out: SelectedSource[] = [];
  const dirs = new Map<string, { abs: string; stat: EntryStat }>();
  for (const [i, source] of sources.entries()) {
    for (const item of await selectOne(source, i, root, op.parents)) {
      if (op.parents) item.kept = await keptDirs(item, root, dirs);
      out.push(item);
    }
  }
  return out;
}

async function selectOne(source: string, index: number, root: SelectionRoot, parents: boolean): Promise<SelectedSource[]> {
  // A source is cleaned as a path from the source root, where `..` at the root stays at the root: `../a`, `./../../a`
  // and `sub/../../a` all name the root's `a`, as BuildKit's frontend writes them into the copy (dockerfile2llb
  // convert_copy.go dispatchCopy: system.NormalizePath("/", src), a path.Join("/", src)) and its file op cleans them
  // again (solver/llbsolver/file/backend.go cleanPath). Lexical only: links are followed later, inside the root.
  // COPY --parents cleans the part before its `/./` pivot and the part after it each on its own, as dispatchCopy does.
  const pivotAt = parents ? source.indexOf('/./') : -1;
  const base = pivotAt < 0 ? '' : inRootPath(source.slice(0, pivotAt));
  const relPath = pivotAt < 0 ? inRootPath(source) : join(base, inRootPath(source.slice(pivotAt + 3)));
  const segments = splitPath(relPath);
  const pivot = splitPath(base).length;
  const wild = segments.some(hasWildcard);
  let candidates = [''];
  let hidden: string | undefined;
  for (const seg of segments) {
    if (parents && seg === '**') {
      // COPY --parents matches with BuildKit's pattern matcher, where `**` is zero or more directories.
      const next: string[] = [];
      for (const c of candidates) next.push(...(await dirsUnder(root, c)));
      candidates = next;
      continue;
    }
    if (!hasWildcard(seg)) { candidates = candidates.map((c) => join(c, unescapeSegment(seg))); continue; }
    const next: string[] = [];
    for (const c of candidates) {
      for (const name of await listDir(root, c)) {
        const rel = join(c, name);
        if (!matchSegment(seg, name)) continue;
        // An excluded directory may still be in the context with what `!` lines keep in it: decided below.
        if (root.ignore.excludesWhole(rel)) hidden ??= rel;
        else next.push(rel);
      }
    }
    candidates = next;
  }
  const found: SelectedSource[] = [];
  for (const rel of candidates) {
    const resolved = await root.resolve(rel);
    const abs = path.join(root.dir, resolved ?? rel);
    const stat = resolved === undefined ? undefined : await lstatOrUndefined(abs);
    const followedRel = resolved ?? rel;
    const isExcluded = root.ignore.excludes(rel) || root.ignore.excludes(followedRel);
    // BuildKit's context still has a directory .dockerignore excludes when a `!` line keeps something in it (fsutil's
    // walker sends it as the parent of what it keeps, with only that): `COPY a/ /dst/` with `a` and `!a/keep.txt`
    // copies keep.txt. A symlink that is excluded itself is not sent, whatever it points to.
    const isSent = !isExcluded || (stat !== undefined && stat.isDirectory() && (rel === bare(followedRel) || !root.ignore.excludes(rel))
      && keepsAnything(abs, followedRel, root.ignore));
    if (stat === undefined || !isSent) {
      if (wild) { hidden ??= rel; continue; }
      throw await notFound(source, rel, root);
    }
    found.push({ rel, abs, stat, keep: splitPath(rel).slice(pivot).join('/'), source: index, kept: [] });
  }
  // `**` can match a directory and what is under it: the directory's copy holds them already.
  const dirs = found.filter((f) => f.stat.isDirectory()).map((f) => `${f.rel}/`);
  const selected = dirs.length === 0 ? found : found.filter((f) => !dirs.some((d) => f.rel.startsWith(d)));
  if (selected.length === 0) {
    // BuildKit gives every COPY source AllowEmptyWildcard (dockerfile2llb): a wildcard that matches nothing copies
    // nothing, which `COPY package.json yarn.lock* ./` (an optional lockfile) relies on. A plain path must exist.
    if (wild) return [];
    throw await notFound(source, hidden ?? relPath, root);
  }
  return selected.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** The directories `item.keep` passes through, each with the stat of its source directory (cached in `stats`). */
async function keptDirs(item: SelectedSource, root: SelectionRoot, stats: Map<string, { abs: string; stat: EntryStat }>): Promise<KeptDir[]> {
  const keep = splitPath(item.keep);
  const rel = splitPath(item.rel);
  const pivot = rel.length - keep.length;   // components before a `/./` pivot, not kept
  const out: KeptDir[] = [];
  for (let i = 1; i < keep.length; i++) {
    const dirRel = rel.slice(0, pivot + i).join('/');
    let found = stats.get(dirRel);
    if (found === undefined) {
      // Resolved inside the source root as the selected path was: it lies under this directory, so this is one.
      const resolved = await root.resolve(dirRel);
      const abs = path.join(root.dir, resolved ?? dirRel);
      const stat = resolved === undefined ? undefined : await lstatOrUndefined(abs);
      if (stat === undefined || !stat.isDirectory()) throw new Error(`${JSON.stringify(dirRel)} in the ${root.label} is not a directory, yet ${JSON.stringify(item.rel)} was found under it`);
      found = { abs, stat };
      stats.set(dirRel, found);
    }
    out.push({ keep: keep.slice(0, i).join('/'), rel: dirRel, ...found });
  }
  return out;
}

async function notFound(source: string, rel: string, root: SelectionRoot): Promise<CopyError> {
  const culprit = root.ignore.culprit(rel);
  const existsOnDisk = culprit !== undefined && (await lstatOrUndefined(path.join(root.dir, rel))) !== undefined;
  const hint = culprit !== undefined && existsOnDisk
    ? `it is excluded by .dockerignore pattern ${JSON.stringify(culprit.pattern)}; remove that line or add an exception ("!${rel}")`
    : `check the path: sources are relative to the ${root.label}'s root`;
  return new CopyError('COPY_SOURCE_NOT_FOUND', `${JSON.stringify(source)} not found in ${root.label}`, hint);
}

async function listDir(root: SelectionRoot, rel: string): Promise<string[]> {
  const resolved = await root.resolve(rel);
  if (resolved === undefined) return [];
  try {
    return (await readdir(path.join(root.dir, resolved))).sort();
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return [];
    throw err;
  }
}

/**
 * `rel` and every directory below it that .dockerignore leaves visible or may re-include something in, for `**`
 * (selectOne keeps an excluded one only when something in it is kept). A symbolic link is never descended
 * into (a walk of the tree, as BuildKit's, does not follow links); each directory is reached through the resolver.
 */
async function dirsUnder(root: SelectionRoot, rel: string): Promise<string[]> {
  const out: string[] = [];
  const queue = [rel];
  for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
    const resolved = await root.resolve(dir);
    if (resolved === undefined || bare(resolved) !== dir) continue;   // gone, or reached through a link
    const stat = await lstatOrUndefined(path.join(root.dir, resolved));
    if (stat === undefined || !stat.isDirectory()) continue;
    out.push(dir);
    for (const name of await listDir(root, dir)) {
      const child = join(dir, name);
      if (!root.ignore.excludesWhole(child)) queue.push(child);
    }
  }
  return out;
}

/**
 * The directory BuildKit copies a COPY --parents source from: the part before its `/./` pivot, or the source root.
 * dispatchCopy copies that directory with the rest as an include pattern (dockerfile2llb convert_copy.go), so fsutil's
 * prepareTargetDir makes the destination even when the pattern matches nothing. Undefined when that part has a
 * wildcard (BuildKit's AllowEmptyWildcard then copies nothing at all) or is no directory.
 */
export async function pivotDir(source: string, root: SelectionRoot): Promise<{ rel: string; stat: EntryStat } | undefined> {
  const pivotAt = source.indexOf('/./');
  const base = pivotAt < 0 ? '' : inRootPath(source.slice(0, pivotAt));
  if (splitPath(base).some(hasWildcard)) return undefined;
  const resolved = base === '' ? '' : await root.resolve(base);
  if (resolved === undefined) return undefined;
  const stat = await lstatOrUndefined(path.join(root.dir, resolved));
  return stat?.isDirectory() === true ? { rel: bare(resolved), stat } : undefined;
}

async function lstatOrUndefined(p: string): Promise<EntryStat | undefined> {
  try {
    return await lstat(p, { bigint: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** A resolver's answer in selectOne's own form: '' for the root, no leading or trailing slash. */
function bare(rel: string): string {
  return rel.replace(/^[./]+$/, '').replace(/^\/+|\/+$/g, '');
}

function join(a: string, b: string): string {
  return a === '' ? b : `${a}/${b}`;
}

/** Splits a path into its components, ignoring empty ones (leading, doubled or trailing slashes). */
function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '');
}

/** True when `err` is a Node system error with this `code`. */
function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === code;
}
