import path from 'node:path';
import type { CopyOp } from '../../frontend/index.js';
import type { ProgressSink } from '../../solver/index.js';
import { ConfinedFsError, RootSession, inRootPath, readAccounts } from '../confined/index.js';
import type { Accounts } from '../confined/index.js';
import { addGit } from './add-git.js';
import type { RemoteAccess } from './remote-access.js';
import { addUrl, isUrl } from './add-url.js';
import { redactUrl } from '../../common/index.js';
import { isGitUrl } from './git-ref.js';
import { detectArchive, extractArchive } from './archive.js';
import { parentDirMode, parseChmod } from './chmod.js';
import { resolveChown } from './chown.js';
import { CopyError, throwIfAborted } from './errors.js';
import { PathFilter } from './filters.js';
import { excludesSource, pivotDir, selectSources, sessionResolver, type SelectedSource } from './select-sources.js';
import type { CopySourceDir } from './source.js';
import type { FileRecords } from './copy-history.js';
import { sourceRelative, TreeWriter, type WriteOptions, type WriterHistory } from './tree-writer.js';
import { walkTree, type StatMemo } from './walk.js';

/**
 * An incremental COPY (worker/linux-worker.ts decides when one may be): regular files the last result of the same COPY
 * wrote from an unchanged source, with the same owner and mode, are hard-linked from that result's upper dir instead
 * of copied (worker/native/fsattr/root.c, op_inherit, says when linking is safe; otherwise it copies).
 */
export interface IncrementalCopy {
  /** The upper dir of the snapshot mounted at the root, and the lower dirs under it, top first. */
  upperDir: string;
  lowerDirs: string[];
  /** The last result of the same COPY: its upper dir and what it wrote (CopyRecord.files). */
  previous: { dir: string; files: FileRecords } | undefined;
}

/** What the worker lends a copy besides its op and source; all optional. */
export interface CopyResources {
  /** Link unchanged files from the last result of the same COPY (COPY from a context only). */
  incremental?: IncrementalCopy | undefined;
  /** What ADD <git url> and ADD <url> fetch with. */
  remote?: RemoteAccess | undefined;
  /**
   * A directory under the state root for ADD <url> downloads (never the host's /tmp: add-url.ts), its entries named
   * `<kind>-<pid>-…` so that the worker removes those of a killed build; needed only for URL sources.
   */
  tempDir?: string | undefined;
}

/** What an incremental copy wrote, for the next one; undefined when it cannot be used (see TreeWriter.written). */
export interface CopyOutcome { written: FileRecords | undefined }

/**
 * COPY/ADD with Docker/BuildKit semantics into the mounted root filesystem `rootDir`:
 * - a directory source copies its contents (not itself); a file goes inside a dest that ends in `/` or is an existing
 *   directory, else becomes dest; more than one selected source needs a directory dest;
 * - the source's top-level symlinks are followed inside the source root, links inside copied directories stay links;
 * - owners are 0:0 for the context and heredocs, kept for COPY --from (as BuildKit does), --chown overrides both;
 * - modes are kept unless --chmod; mtimes are kept; hardlinks within one copy are kept;
 * - ADD extracts local tar archives (by magic bytes) and downloads http(s) URLs.
 * Every write goes through one confined writer (worker/confined) on `rootDir`: destination symlinks are followed
 * inside the root only (openat2 RESOLVE_IN_ROOT), files are created O_EXCL|O_NOFOLLOW, and all writes happen in one
 * process in order.
 */
export async function copyInto(op: CopyOp, source: CopySourceDir, rootDir: string, signal: AbortSignal, progress: ProgressSink, resources: CopyResources = {}): Promise<CopyOutcome> {
  throwIfAborted(signal);
  const sourceRoot = source.kind === 'dir' ? source.path : undefined;
  // ADD writes archives and downloads outside the TreeWriter: never incremental.
  const incremental = op.mode === 'copy' && source.kind === 'dir' ? resources.incremental : undefined;
  const previous = incremental?.previous;
  const options = previous === undefined || incremental === undefined ? { sourceRoot }
    : { sourceRoot, lowerRoots: incremental.lowerDirs, inherit: { upperDir: incremental.upperDir, previousDir: previous.dir } };
  try {
    return await RootSession.with(rootDir, options, (session) => copyWith(session, op, source, signal, progress, incremental === undefined ? undefined : { previous: previous?.files }, resources));
  } catch (err) {
    throw copyFailure(err);
  }
}

async function copyWith(session: RootSession, op: CopyOp, source: CopySourceDir, signal: AbortSignal, progress: ProgressSink, history: WriterHistory | undefined, resources: CopyResources): Promise<CopyOutcome> {
  let accounts: Promise<Accounts> | undefined;
  const opts: WriteOptions = {
    owner: op.chown === undefined || op.chown === '' ? undefined : await resolveChown(op.chown, () => (accounts ??= readAccounts(session)), progress),
    keepIds: op.from.kind === 'vertex',
    mode: parseChmod(op.chmod),
    isLinkXattrsKept: op.from.kind === 'vertex',
    signal,
    progress,
  };
  session.policy('copy');
  // Parent directories COPY creates are 0755 (an octal --chmod's mode: parentDirMode) and owned by --chown (with its
  // resolved gid) or root: the destination's own (fsutil MkdirAll). The directories COPY --parents keeps under it are
  // made from their sources first (makeKeptDirs).
  session.parents(opts.owner ?? { uid: 0, gid: 0 }, parentDirMode(op.chmod) ?? 0o755);
  const writer = new TreeWriter(session, opts, history);
  const destIsDir = op.dest.endsWith('/') || (await session.stat(inRootPath(op.dest))) === 'dir';
  // A destination that is not a directory but a symlink in the image is written through, to the link's target inside
  // the root, as BuildKit does (`COPY tz /etc/localtime` changes the zone file and keeps the link). A directory dest is
  // followed already: stat above follows links, and so does every write's parent.
  const dest = destIsDir || op.parents ? op.dest : await throughLink(session, op.dest);
  if (source.kind === 'inline') {
    await copyInline(source.files, dest, destIsDir, session, opts);
    return { written: undefined };
  }
  const urls = op.mode === 'add' ? op.sources.filter(isUrl) : [];
  const local = op.sources.filter((s) => !urls.includes(s));
  if (op.checksum !== undefined && local.length > 0) {
    throw new CopyError('INVALID_ARGUMENT', `--checksum only applies to URL sources, not ${JSON.stringify(local[0])}`, 'remove --checksum or use an http(s) URL source');
  }
  const ignore = new PathFilter(source.excludes);
  const label = op.from.kind === 'vertex' ? `stage ${op.from.id}` : 'build context';
  const selectionRoot = { dir: source.path, ignore, label, resolve: sessionResolver(session) };
  const items = local.length === 0 ? [] : await selectSources(local, selectionRoot, op);
  const exclude = new PathFilter(op.exclude);
  const kept = items.filter((i) => !excludesSource(exclude, i, op.parents));
  if (op.parents && kept.length === 0) {
    // `COPY --parents /a/./b* /out/` matching nothing still makes /out (as dirTarget makes a destination: its first
    // source directory's times, the metadata a copy's new destination gets).
    for (const s of local) {
      const dir = await pivotDir(s, selectionRoot);
      if (dir !== undefined) writer.dirTarget(op.dest, dir.stat, dir.rel);
    }
  }
  // Several sources (or matches of one wildcard) and a destination that is no directory is no error in BuildKit: each
  // is copied in turn (solver/llbsolver/file/backend.go, docopy), and fsutil's prepareTargetDir looks at the
  // destination again each time. So the last file wins, and `ADD *.tar /dest` extracts every archive into /dest.
  const isMany = kept.length + urls.length > 1 && !destIsDir;
  // What ADD wrote besides the copied files, for the step's last status line (the TreeWriter counts only copies).
  const added = { archives: 0, entries: 0, urls: 0, repos: 0 };
  for (const url of urls) {
    if (resources.tempDir === undefined) throw new Error(`ADD ${redactUrl(url)}: the worker gave the copy no temp dir to download into`);
    if (isGitUrl(url)) { await addGit(url, op.dest, op.keepGitDir, op.checksum, session, opts, resources.tempDir, resources.remote); added.repos++; continue; }
    if (resources.remote === undefined) throw new Error(`ADD ${redactUrl(url)}: the worker gave the copy no downloads to fetch with`);
    if ((await addUrl(url, dest, destIsDir, op.checksum, session, opts, resources.remote.downloads, op.unpack === true)) === 'extracted') added.archives++;
    else added.urls++;
  }
  const keptDirs = { source: -1, made: new Set<string>() };
  for (const item of kept) {
    throwIfAborted(signal);
    if (op.parents) makeKeptDirs(item, source.path, op.dest, writer, keptDirs);
    // ADD extracts a local archive unless --unpack=false (BuildKit: unpack defaults to isAddCommand).
    if (op.mode === 'add' && op.unpack !== false && item.stat.isFile()) {
      const compression = await detectArchive(item.abs, signal);
      if (compression !== undefined) {
        added.entries += await extractArchive(item.abs, compression, op.parents ? path.posix.join(op.dest, path.posix.dirname(item.keep)) : op.dest, session, opts);
        added.archives++;
        continue;
      }
    }
    const isDirNow = isMany && (await session.stat(inRootPath(op.dest))) === 'dir';
    await copyItem(item, source.path, op, isDirNow ? op.dest : dest, destIsDir || isDirNow, writer, { ignore, exclude }, signal, source.memo);
  }
  // Also waits for every write: a record of a copy that wrote anything through a symlink is not kept (the path an
  // entry was sent with is then not where it is).
  const counts = await session.writeCounts();
  const copied = counts.linked === 0 ? `copied ${writer.files} files`
    : `copied ${writer.files - counts.linked} of ${writer.files} files, ${counts.linked} linked from the previous result`;
  const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
  progress.status([
    ...(writer.files > 0 || added.archives + added.urls + added.repos === 0 ? [copied] : []),
    ...(added.archives > 0 ? [`extracted ${count(added.entries, 'entry', 'entries')} from ${count(added.archives, 'archive', 'archives')}`] : []),
    ...(added.urls > 0 ? [`downloaded ${count(added.urls, 'file', 'files')}`] : []),
    ...(added.repos > 0 ? [`checked out ${count(added.repos, 'git repository', 'git repositories')}`] : []),
  ].join(', '));
  return { written: counts.crossed === 0 ? writer.written : undefined };
}

// `memo`: the build's listing of its context (walk.ts StatMemo), which the COPY's content key has already taken.
// `dest`: op.dest, or where it leads when it is a symlink (throughLink).
async function copyItem(item: SelectedSource, sourceRoot: string, op: CopyOp, dest: string, destIsDir: boolean, writer: TreeWriter, filters: { ignore: PathFilter; exclude: PathFilter }, signal: AbortSignal, memo: StatMemo | undefined): Promise<void> {
  if (item.stat.isDirectory()) {
    const destDir = op.parents ? path.posix.join(op.dest, item.keep) : dest;
    const sourceRel = sourceRelative(sourceRoot, item.abs);
    writer.dirTarget(destDir, item.stat, sourceRel, op.parents);
    // Entry paths below a directory are clean (names from readdir), so they are joined to the cleaned destination and
    // source paths by concatenation: no path.join/relative per entry.
    const destRel = inRootPath(destDir);
    for (const entry of walkTree(item.abs, item.rel, filters, signal, memo)) {
      const full = writer.putRel(destRel === '' ? entry.rel : `${destRel}/${entry.rel}`, entry.abs, sourceRel === '' ? entry.rel : `${sourceRel}/${entry.rel}`, entry.stat);
      if (full !== undefined) await full;
    }
    return;
  }
  const name = path.posix.basename(item.rel);
  const target = op.parents ? path.posix.join(op.dest, item.keep) : destIsDir ? path.posix.join(dest, name) : dest;
  await writer.put(target, item.abs, sourceRelative(sourceRoot, item.abs), item.stat);
}

/**
 * Makes the directories COPY --parents keeps on the way to `item` (TreeWriter.keptDir). Each COPY source is a copy of
 * its own in BuildKit, with its own record of the directories it made (fsutil's parentDirs): a later source that keeps
 * the same directory finds it there and sets its source mode again, so `made` starts over with each source.
 */
function makeKeptDirs(item: SelectedSource, sourceRoot: string, dest: string, writer: TreeWriter, state: { source: number; made: Set<string> }): void {
  if (item.source !== state.source) {
    state.source = item.source;
    state.made.clear();
  }
  for (const dir of item.kept) {
    if (state.made.has(dir.keep)) continue;
    state.made.add(dir.keep);
    writer.keptDir(path.posix.join(dest, dir.keep), dir.stat, sourceRelative(sourceRoot, dir.abs));
  }
}

async function copyInline(files: { name: string; content: string }[], dest: string, destIsDir: boolean, session: RootSession, opts: WriteOptions): Promise<void> {
  if (files.length > 1 && !destIsDir) {
    throw new CopyError('INVALID_ARGUMENT', 'when using COPY with more than one heredoc file, the destination must be a directory and end with a /', `write the destination as ${dest}/`);
  }
  for (const file of files) {
    const target = destIsDir ? path.posix.join(dest, file.name) : dest;
    // An existing symlink at a name inside a directory dest is replaced (O_EXCL|O_NOFOLLOW on the C side); only the
    // dest itself is written through (throughLink), as in BuildKit.
    await session.file(inRootPath(target), Buffer.from(file.content, 'utf8'));
    session.meta({ ...(opts.owner ?? { uid: 0, gid: 0 }), mode: opts.mode === undefined ? 0o644 : opts.mode(0o644, false) });
  }
  await session.sync();
}

/** The image path a write to `dest` lands on: `dest`, or the target of the symlink(s) there (RootSession.resolveDest). */
async function throughLink(session: RootSession, dest: string): Promise<string> {
  const r = await session.resolveDest(inRootPath(dest));
  if ('rel' in r) return `/${r.rel}`;
  if (r.errno === 40) {
    throw new CopyError('INVALID_ARGUMENT', `cannot copy to ${dest}: too many levels of symbolic links`, 'the destination is a symlink loop in the image; remove it in an earlier step or copy to another path');
  }
  throw new CopyError('INVALID_ARGUMENT', `cannot copy to ${dest}: it is a symlink whose target's directory does not exist in the image`,
    'create that directory in an earlier step, remove the link, or copy to another path');
}

// errno values of the host, not of the Dockerfile: they stay plain errors.
const HOST_ERRNOS = new Set([5, 12, 24, 28, 30, 122]);

/** Turns a confined writer failure into the CopyError the user can act on. */
function copyFailure(err: unknown): unknown {
  if (!(err instanceof ConfinedFsError) || HOST_ERRNOS.has(err.errno)) return err;
  const at = `/${err.arg}`;
  switch (err.errno) {
    case 21:
      return new CopyError('INVALID_ARGUMENT', `cannot replace directory ${at} with a file`, 'remove the directory in an earlier step or copy to another path', { cause: err });
    case 20:
      return new CopyError('INVALID_ARGUMENT', `cannot copy to non-directory: ${at}`, 'the destination (or one of its parents) exists in the image as a file; pick another destination', { cause: err });
    case 18:
    case 40:
      return new CopyError('INVALID_ARGUMENT', `entry ${JSON.stringify(err.arg)} points outside the destination (${err.op})`,
        'the archive is unsafe to extract (path traversal through a symlink); repack it with relative paths inside the archive', { cause: err });
    default:
      // What an ADD archive's hard link names was not extracted before it (missing, absolute, or a directory).
      if (err.op.includes('link target')) {
        return new CopyError('INVALID_ARGUMENT', `hard link ${JSON.stringify(err.arg)} names no file written before it`,
          'a hard link in an archive can only name a regular file earlier in the same archive; repack it (tar -cf) from a tree that holds the file', { cause: err });
      }
      return new CopyError('INVALID_ARGUMENT', `COPY failed at ${at}: ${err.message}`, undefined, { cause: err });
  }
}
