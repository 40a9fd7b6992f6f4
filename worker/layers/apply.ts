import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import type { Digest } from '../../registry/oci/index.js';
import { ConfinedFsError, EscapeError, RootSession, cleanComponents } from '../confined/index.js';
import type { EntryMeta } from '../confined/index.js';
import { LayerError } from '../errors.js';
import { isInUserNamespace, isOverlayXattr, mappedIdLimits } from '../rootless/index.js';
import { decompressed } from './decompress.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './whiteouts.js';

/** How a layer is applied. */
export interface ApplyOptions {
  signal?: AbortSignal | undefined;
  /** Names the layer (its digest) in errors. */
  layer?: string | undefined;
  /** Create block and character device nodes; off by default, where they are refused as INVALID_LAYER. */
  allowDevices?: boolean | undefined;
  /** The parent snapshot's dirs, top first: parents of entries are resolved over them as in the merged view. */
  lowerDirs?: string[] | undefined;
}

/** What a rootless apply could not keep (the kernel refuses it in a user namespace), entry by entry. */
export interface DroppedEntry { entry: string; what: string }

/**
 * Extracts a layer tar (plain, gzip or zstd) into `targetDir`, an empty overlay upper dir over `lowerDirs`,
 * converting OCI whiteouts to overlay ones. Entry names are cleaned lexically (a leading `/` dropped as tar(1) and
 * docker do; `..` that climbs out of the root refused with LayerError INVALID_LAYER); their parent directories are
 * resolved with chroot semantics over the merged view (targetDir over lowerDirs): a symlink on the way, from this
 * layer or a lower one, absolute or relative, is followed *inside* the root as containerd's archive.Apply and
 * docker's chrootarchive do, so `lib64 -> /usr/lib64` plus `lib64/x.so` lands in usr/lib64, never on the host. The
 * last component is never followed: it is replaced and created O_EXCL|O_NOFOLLOW. Returns the diffId.
 */
export async function applyLayer(input: Readable, targetDir: string, options: ApplyOptions = {}): Promise<{ diffId: Digest; dropped: DroppedEntry[] }> {
  const dropped: DroppedEntry[] = [];
  const hash = createHash('sha256');
  const tap = new Transform({ transform(chunk: Buffer, _enc, cb) { hash.update(chunk); cb(null, chunk); } });
  const extract = tar.extract();
  // One confined writer for the whole layer, its parents resolved in-root over the merged view ('union').
  const session = RootSession.open(targetDir, { lowerRoots: options.lowerDirs ?? [] });
  session.base('', 'union');
  session.policy('layer');
  const source = await decompressed(input);
  const feeding = pipeline(source, tap, extract, options.signal ? { signal: options.signal } : {});
  const consuming = (async () => {
    try {
      for await (const entry of extract) {
        await applyEntry(entry as unknown as Readable & { header: Header }, session, options, dropped);
        entry.resume();
      }
    } catch (err) {
      extract.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  })();
  const [fed, consumed] = await Promise.allSettled([feeding, consuming]);
  if (consumed.status === 'rejected' || fed.status === 'rejected') await session.abort();
  if (consumed.status === 'rejected') {
    const err: unknown = session.failure ?? consumed.reason;
    // A refused entry or a host failure (ENOSPC, EIO) is reported as it is; anything else broke the stream the
    // entries come from.
    if (err instanceof LayerError || err instanceof ConfinedFsError) throw layerFailure(err, options);
    throw unreadable(fed.status === 'rejected' ? fed.reason : err, options);
  }
  if (fed.status === 'rejected') throw unreadable(fed.reason, options);
  // Directory mtimes are set by the writer at the end, deepest first, through the fds it kept.
  await session.close().catch((err: unknown) => { throw layerFailure(err, options); });
  return { diffId: `sha256:${hash.digest('hex')}`, dropped };
}

// errno values of the host, not of the layer: they stay plain errors.
const HOST_ERRNOS = new Set([5, 12, 24, 28, 30, 122]);   // EIO ENOMEM EMFILE ENOSPC EROFS EDQUOT

function layerFailure(err: unknown, options: ApplyOptions): unknown {
  if (!(err instanceof ConfinedFsError)) return err;
  const at = { entry: err.arg, layer: options.layer, cause: err };
  if (err.errno === 40) return new LayerError('refused: too many symbolic links on the way (a loop?)', at);
  if (err.isEscape) return new LayerError('refused: the path leads out of the layer through a symlink', at);
  if (err.op.includes('link target')) return new LayerError('refused: the hardlink target is not a file in the layer', at);
  if (HOST_ERRNOS.has(err.errno)) return err;
  return new LayerError(`cannot apply the entry: ${err.message}`, at);
}

async function applyEntry(entry: Readable & { header: Header }, session: RootSession, options: ApplyOptions, dropped: DroppedEntry[]): Promise<void> {
  const h = entry.header;
  const fail = (message: string, cause?: unknown): LayerError => new LayerError(message, { entry: h.name, layer: options.layer, cause });
  let parts: string[];
  try {
    parts = cleanComponents(h.name);
  } catch (err) {
    if (err instanceof EscapeError) throw fail(`refused: ${err.message}`, err);
    throw err;
  }
  if (parts.length === 0) return;   // the root itself: its metadata belongs to the parent snapshot
  const base = parts[parts.length - 1] as string;
  const parent = parts.slice(0, -1).join('/');
  const path = parts.join('/');
  const ns = BigInt((h.mtime ?? new Date(0)).getTime()) * 1_000_000n;
  const meta: EntryMeta = { uid: h.uid ?? 0, gid: h.gid ?? 0, mode: h.mode, atimeNs: ns, mtimeNs: ns };
  const limits = mappedIdLimits();
  if (meta.uid >= limits.uid || meta.gid >= limits.gid) {
    // Rootless: the user namespace maps ids 0..N-1 (the user and its /etc/subuid range); the kernel cannot store
    // another owner, and changing it would change the image.
    throw new LayerError(`owner ${meta.uid}:${meta.gid} is outside the ids this user namespace maps (uid < ${limits.uid}, gid < ${limits.gid})`,
      { entry: h.name, layer: options.layer, hint: 'give the user a larger range in /etc/subuid and /etc/subgid (65536 ids cover most images), or build as root' });
  }

  if (base === OPAQUE_MARKER) {
    session.opaque(parent);
    return;
  }
  if (base.startsWith(WHITEOUT_PREFIX)) {
    const hidden = base.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') throw fail('refused: whiteout names no entry');
    session.whiteout(parent === '' ? hidden : `${parent}/${hidden}`);
    session.meta({ ...meta, mode: undefined });
    return;
  }
  switch (h.type) {
    case 'directory':
      session.dir(path, false);
      session.meta(meta);
      break;
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null:
      // O_CREAT|O_EXCL|O_NOFOLLOW: never through a symlink that appeared at the final component.
      await session.file(path, entry);
      session.meta(meta);
      break;
    case 'symlink':
      session.symlink(path, h.linkname ?? '');
      session.meta({ ...meta, mode: undefined });
      break;
    case 'link': {
      let target: string[];
      try {
        target = cleanComponents(h.linkname ?? '');
      } catch (err) {
        if (err instanceof EscapeError) throw fail(`refused: ${err.message}`, err);
        throw err;
      }
      if (target.length === 0) throw fail('refused: hardlink to the root');
      session.hardlink(path, target.join('/'));
      break;
    }
    case 'character-device':
    case 'block-device':
      if (!options.allowDevices) throw fail(`refused: device node (${h.devmajor ?? 0}:${h.devminor ?? 0}) in a layer`);
      // In a user namespace mknod of a real device is EPERM (a 0/0 whiteout is the one node anyone may make).
      if (isInUserNamespace() && !((h.devmajor ?? 0) === 0 && (h.devminor ?? 0) === 0 && h.type === 'character-device')) {
        dropped.push({ entry: path, what: `${h.type} ${h.devmajor ?? 0}:${h.devminor ?? 0}` });
        return;
      }
      session.node(path, h.type === 'character-device' ? 'char' : 'block', h.devmajor ?? 0, h.devminor ?? 0);
      session.meta(meta);
      break;
    case 'fifo':
      session.node(path, 'fifo');
      session.meta(meta);
      break;
    default:
      throw fail(`refused: unsupported entry type ${String(h.type)}`);
  }
  for (const [name, value] of xattrsOf(h)) {
    // trusted.* needs CAP_SYS_ADMIN in the initial user namespace: rootless it can only be named, not kept.
    if (isInUserNamespace() && name.startsWith('trusted.')) dropped.push({ entry: path, what: `xattr ${name}` });
    else session.xattr(name, value);
  }
  await session.flushIfFull();
}

// Errors while decompressing or parsing are the layer's fault (truncated, corrupt, not a tar); cancellation is not.
function unreadable(err: unknown, options: ApplyOptions): unknown {
  if (err instanceof LayerError || options.signal?.aborted || (err instanceof Error && err.name === 'AbortError')) return err;
  return new LayerError(`cannot read the layer: ${err instanceof Error ? err.message : String(err)}`, { layer: options.layer, cause: err });
}

function xattrsOf(h: Header): Array<[string, Buffer]> {
  const pax = h.pax !== null && typeof h.pax === 'object' ? (h.pax as Record<string, unknown>) : {};
  const out: Array<[string, Buffer]> = [];
  for (const [key, value] of Object.entries(pax)) {
    if (!key.startsWith('SCHILY.xattr.') || typeof value !== 'string') continue;
    const name = key.slice('SCHILY.xattr.'.length);
    // tar-stream decodes PAX values as UTF-8; a replacement character means the value was binary and is lost.
    if (isOverlayXattr(name) || value.includes('\uFFFD')) continue;
    out.push([name, Buffer.from(value, 'utf8')]);
  }
  return out;
}
