import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import type { Digest } from '../../registry/oci/index.js';
import { LayerError } from '../errors.js';
import { decompressed } from './decompress.js';
import { applySpecial } from './fs-attrs.js';
import type { SpecialOp } from './fs-attrs.js';
import { EscapeError, cleanComponents, resolveDirInRoot } from './in-root.js';
import { OPAQUE_MARKER, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX } from './whiteouts.js';

/** How a layer is applied. */
export interface ApplyOptions {
  signal?: AbortSignal | undefined;
  /** Names the layer (its digest) in errors. */
  layer?: string | undefined;
  /** Create block and character device nodes; off by default, where they are refused as INVALID_LAYER. */
  allowDevices?: boolean | undefined;
}

interface Meta { path: string; mode: number | undefined; uid: number; gid: number; mtime: Date; isSymlink: boolean }

/**
 * Extracts a layer tar (plain, gzip or zstd) into `targetDir`, an empty overlay upper dir, converting OCI whiteouts
 * to overlay ones. Every path stays inside `targetDir`: `..` that climbs out, symlinked parents that lead out and
 * hardlinks to outside are refused with LayerError (INVALID_LAYER). Returns the diffId (digest of the plain tar).
 */
export async function applyLayer(input: Readable, targetDir: string, options: ApplyOptions = {}): Promise<{ diffId: Digest }> {
  const hash = createHash('sha256');
  const tap = new Transform({ transform(chunk: Buffer, _enc, cb) { hash.update(chunk); cb(null, chunk); } });
  const extract = tar.extract();
  const state: ApplyState = { root: targetDir, options, special: [], later: [], dirs: [] };
  const source = await decompressed(input);
  const feeding = pipeline(source, tap, extract, options.signal ? { signal: options.signal } : {});
  const consuming = (async () => {
    try {
      for await (const entry of extract) {
        await applyEntry(entry as unknown as Readable & { header: Header }, state);
        entry.resume();
      }
    } catch (err) {
      extract.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  })();
  const [fed, consumed] = await Promise.allSettled([feeding, consuming]);
  if (consumed.status === 'rejected') {
    const err: unknown = consumed.reason;
    // A refused entry or a host failure (ENOSPC, EIO: errors with a syscall) is reported as it is; anything else
    // broke the stream the entries come from.
    if (err instanceof LayerError || (err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string')) throw err;
    throw unreadable(fed.status === 'rejected' ? fed.reason : err, options);
  }
  if (fed.status === 'rejected') throw unreadable(fed.reason, options);
  await applySpecial(state.special).catch((err: unknown) => { throw new LayerError('cannot create special files', { layer: options.layer, cause: err }); });
  for (const m of state.later) await setMeta(m);
  // Directory mtimes last, deepest first: creating anything inside a directory bumps its mtime.
  for (const m of state.dirs.reverse()) await lutimes(m.path, m.mtime, m.mtime);
  return { diffId: `sha256:${hash.digest('hex')}` };
}

interface ApplyState { root: string; options: ApplyOptions; special: SpecialOp[]; later: Meta[]; dirs: Meta[] }

async function applyEntry(entry: Readable & { header: Header }, state: ApplyState): Promise<void> {
  const h = entry.header;
  const fail = (message: string, cause?: unknown): LayerError => new LayerError(message, { entry: h.name, layer: state.options.layer, cause });
  let parts: string[];
  let parent: string;
  try {
    parts = cleanComponents(h.name);
    if (parts.length === 0) return;   // the root itself: its metadata belongs to the parent snapshot
    parent = await resolveDirInRoot(state.root, parts.slice(0, -1), true);
  } catch (err) {
    if (err instanceof EscapeError) throw fail(`refused: ${err.message}`, err);
    throw err;
  }
  const base = parts[parts.length - 1] as string;
  const path = join(parent, base);
  const meta: Meta = { path, mode: h.mode, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime ?? new Date(0), isSymlink: false };

  if (base === OPAQUE_MARKER) {
    state.special.push({ op: 'setxattr', path: parent, name: OVERLAY_OPAQUE_XATTR, value: Buffer.from('y') });
    return;
  }
  if (base.startsWith(WHITEOUT_PREFIX)) {
    const hidden = base.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') throw fail('refused: whiteout names no entry');
    const target = join(parent, hidden);
    await rm(target, { recursive: true, force: true });
    state.special.push({ op: 'mknod', path: target, kind: 'char', mode: 0, major: 0, minor: 0 });
    state.later.push({ ...meta, path: target, mode: 0 });
    return;
  }

  const existing = await lstat(path).catch(() => undefined);
  if (existing && !(h.type === 'directory' && existing.isDirectory())) await rm(path, { recursive: true, force: true });

  switch (h.type) {
    case 'directory':
      if (!existing?.isDirectory()) await mkdir(path, { mode: 0o700 });
      await setMeta(meta, false);
      state.dirs.push(meta);
      break;
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null:
      // 'wx' (O_CREAT|O_EXCL) never follows a symlink that appeared at the final component.
      await pipeline(entry, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
      await setMeta(meta);
      break;
    case 'symlink':
      await symlink(h.linkname ?? '', path);
      await setMeta({ ...meta, isSymlink: true });
      break;
    case 'link': {
      let target: string;
      try {
        const linkParts = cleanComponents(h.linkname ?? '');
        if (linkParts.length === 0) throw new EscapeError('hardlink to the root');
        target = join(await resolveDirInRoot(state.root, linkParts.slice(0, -1), false), linkParts[linkParts.length - 1] as string);
        const st = await lstat(target).catch(() => undefined);
        if (!st) throw new EscapeError(`hardlink target "${h.linkname ?? ''}" is not in the layer`);
        if (st.isDirectory()) throw new EscapeError('hardlink to a directory');
      } catch (err) {
        if (err instanceof EscapeError) throw fail(`refused: ${err.message}`, err);
        throw err;
      }
      await link(target, path);
      break;
    }
    case 'character-device':
    case 'block-device':
      if (!state.options.allowDevices) throw fail(`refused: device node (${h.devmajor ?? 0}:${h.devminor ?? 0}) in a layer`);
      state.special.push({ op: 'mknod', path, kind: h.type === 'character-device' ? 'char' : 'block', mode: 0o600, major: h.devmajor ?? 0, minor: h.devminor ?? 0 });
      state.later.push(meta);
      break;
    case 'fifo':
      state.special.push({ op: 'mknod', path, kind: 'fifo', mode: 0o600, major: 0, minor: 0 });
      state.later.push(meta);
      break;
    default:
      throw fail(`refused: unsupported entry type ${String(h.type)}`);
  }
  for (const [name, value] of xattrsOf(h)) state.special.push({ op: 'setxattr', path, name, value });
}

// Errors while decompressing or parsing are the layer's fault (truncated, corrupt, not a tar); cancellation is not.
function unreadable(err: unknown, options: ApplyOptions): unknown {
  if (err instanceof LayerError || options.signal?.aborted || (err instanceof Error && err.name === 'AbortError')) return err;
  return new LayerError(`cannot read the layer: ${err instanceof Error ? err.message : String(err)}`, { layer: options.layer, cause: err });
}

async function setMeta(m: Meta, withTimes = true): Promise<void> {
  await lchown(m.path, m.uid, m.gid);
  // chown clears setuid/setgid, so the mode goes on after it.
  if (!m.isSymlink && m.mode !== undefined) await chmod(m.path, m.mode & 0o7777);
  if (withTimes) await lutimes(m.path, m.mtime, m.mtime);
}

function xattrsOf(h: Header): Array<[string, Buffer]> {
  const pax = h.pax !== null && typeof h.pax === 'object' ? (h.pax as Record<string, unknown>) : {};
  const out: Array<[string, Buffer]> = [];
  for (const [key, value] of Object.entries(pax)) {
    if (!key.startsWith('SCHILY.xattr.') || typeof value !== 'string') continue;
    const name = key.slice('SCHILY.xattr.'.length);
    // tar-stream decodes PAX values as UTF-8; a replacement character means the value was binary and is lost.
    if (name.startsWith('trusted.overlay.') || value.includes('\uFFFD')) continue;
    out.push([name, Buffer.from(value, 'utf8')]);
  }
  return out;
}
