import { chmod, lchown, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CopyOp } from '../../frontend/index.js';
import type { ProgressSink } from '../../solver/index.js';
import { addUrl, isUrl } from './add-url.js';
import { detectArchive, extractArchive } from './archive.js';
import { parseChmod } from './chmod.js';
import { resolveChown } from './chown.js';
import { CopyError, throwIfAborted } from './errors.js';
import { PathFilter } from './filters.js';
import { resolveInRoot } from './resolve-in-root.js';
import { selectSources, type SelectedSource } from './select-sources.js';
import type { CopySourceDir } from './source.js';
import { lstatOrUndefined, TreeWriter, type WriteOptions } from './tree-writer.js';
import { walkTree } from './walk.js';

/**
 * COPY/ADD with Docker/BuildKit semantics into the mounted root filesystem `rootDir`:
 * - a directory source copies its contents (not itself); a file goes inside a dest that ends in `/` or is an existing
 *   directory, else becomes dest; more than one selected source needs a directory dest;
 * - the source's top-level symlinks are followed inside the source root, links inside copied directories stay links;
 * - owners are 0:0 for the context and heredocs, kept for COPY --from (as BuildKit does), --chown overrides both;
 * - modes are kept unless --chmod; mtimes are kept; hardlinks within one copy are kept;
 * - ADD extracts local tar archives (by magic bytes) and downloads http(s) URLs.
 * Nothing is ever written outside `rootDir`: every destination is resolved with resolveInRoot.
 */
export async function copyInto(op: CopyOp, source: CopySourceDir, rootDir: string, signal: AbortSignal, progress: ProgressSink): Promise<void> {
  throwIfAborted(signal);
  const opts: WriteOptions = {
    rootDir,
    owner: op.chown === undefined || op.chown === '' ? undefined : await resolveChown(op.chown, rootDir),
    keepIds: op.from.kind === 'vertex',
    mode: parseChmod(op.chmod),
    signal,
    progress,
  };
  const writer = new TreeWriter(opts);
  const destExists = (await lstatOrUndefined(await resolveInRoot(rootDir, op.dest, { followLast: true })))?.isDirectory() === true;
  const destIsDir = op.dest.endsWith('/') || destExists;
  if (source.kind === 'inline') {
    await copyInline(source.files, op.dest, destIsDir, writer, opts);
    await writer.finish();
    return;
  }
  const urls = op.mode === 'add' ? op.sources.filter(isUrl) : [];
  const local = op.sources.filter((s) => !urls.includes(s));
  if (op.checksum !== undefined && local.length > 0) {
    throw new CopyError('INVALID_ARGUMENT', `--checksum only applies to URL sources, not ${JSON.stringify(local[0])}`, 'remove --checksum or use an http(s) URL source');
  }
  const ignore = new PathFilter(source.excludes);
  const label = op.from.kind === 'vertex' ? `stage ${op.from.id}` : 'build context';
  const items = local.length === 0 ? [] : await selectSources(local, { dir: source.path, ignore, label }, op);
  const exclude = new PathFilter(op.exclude);
  const kept = items.filter((i) => !exclude.excludes(i.rel));
  if (kept.length + urls.length > 1 && !destIsDir) {
    throw new CopyError('INVALID_ARGUMENT', `when using ${op.mode.toUpperCase()} with more than one source file, the destination must be a directory and end with a /`,
      `write the destination as ${op.dest}/`);
  }
  for (const url of urls) await addUrl(url, op.dest, destIsDir, op.checksum, writer, opts);
  for (const item of kept) {
    throwIfAborted(signal);
    if (op.mode === 'add' && item.stat.isFile()) {
      const compression = await detectArchive(item.abs, signal);
      if (compression !== undefined) {
        await extractArchive(item.abs, compression, op.parents ? path.posix.join(op.dest, path.posix.dirname(item.keep)) : op.dest, writer, opts);
        continue;
      }
    }
    await copyItem(item, op, destIsDir, writer, { ignore, exclude }, signal);
  }
  const files = await writer.finish();
  progress.status(`copied ${files} files`);
}

async function copyItem(item: SelectedSource, op: CopyOp, destIsDir: boolean, writer: TreeWriter, filters: { ignore: PathFilter; exclude: PathFilter }, signal: AbortSignal): Promise<void> {
  if (item.stat.isDirectory()) {
    const destDir = op.parents ? path.posix.join(op.dest, item.keep) : op.dest;
    const hostDirs = new Map<string, { host: string; container: string }>([['', { host: await writer.dirTarget(destDir, item.stat), container: destDir }]]);
    for await (const entry of walkTree(item.abs, item.rel, filters, signal)) {
      const parentRel = path.posix.dirname(entry.rel) === '.' ? '' : path.posix.dirname(entry.rel);
      const parent = hostDirs.get(parentRel);
      if (parent === undefined) throw new Error(`walk yielded ${entry.rel} before its directory`);
      const name = path.posix.basename(entry.rel);
      const container = path.posix.join(parent.container, name);
      const dir = await writer.put(path.join(parent.host, name), container, entry.abs, entry.stat);
      if (dir !== undefined) hostDirs.set(entry.rel, { host: dir, container });
    }
    return;
  }
  const name = path.posix.basename(item.rel);
  const target = op.parents ? path.posix.join(op.dest, item.keep) : destIsDir ? path.posix.join(op.dest, name) : op.dest;
  const parentHost = await writer.ensureDir(path.posix.dirname(target));
  await writer.put(path.join(parentHost, path.posix.basename(target)), target, item.abs, item.stat);
}

async function copyInline(files: { name: string; content: string }[], dest: string, destIsDir: boolean, writer: TreeWriter, opts: WriteOptions): Promise<void> {
  if (files.length > 1 && !destIsDir) {
    throw new CopyError('INVALID_ARGUMENT', 'when using COPY with more than one heredoc file, the destination must be a directory and end with a /', `write the destination as ${dest}/`);
  }
  for (const file of files) {
    const target = destIsDir ? path.posix.join(dest, file.name) : dest;
    const host = path.join(await writer.ensureDir(path.posix.dirname(target)), path.posix.basename(target));
    const existing = await lstatOrUndefined(host);
    if (existing?.isDirectory() === true) throw new CopyError('INVALID_ARGUMENT', `cannot replace directory ${target} with a file`, 'pick another destination');
    // Never write through an existing symlink: its target is an image path, the kernel would read it as a host path.
    if (existing !== undefined) await unlink(host);
    await writeFile(host, file.content, { flush: true });
    const owner = opts.owner ?? { uid: 0, gid: 0 };
    await lchown(host, owner.uid, owner.gid);
    await chmod(host, opts.mode === undefined ? 0o644 : opts.mode(0o644, false));
  }
}
