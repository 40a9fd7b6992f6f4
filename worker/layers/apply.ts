import { createHash, type Hash } from 'node:crypto';
import { addAbortSignal, type Readable } from 'node:stream';
import { HOST_PATH_MAX, joinComponents, nameBytes, showName } from '../../common/index.js';
import type { FsName } from '../../common/index.js';
import type { Digest } from '../../registry/oci/index.js';
import { ConfinedFsError, EscapeError, RootSession, cleanComponents } from '../confined/index.js';
import type { EntryMeta } from '../confined/index.js';
import { LayerError } from '../errors.js';
import { isInUserNamespace, isOverlayXattr, mappedIdLimits } from '../rootless/index.js';
import { decompressed } from './decompress.js';
import { readTar, unpackTimes, type TarEntry } from './tar-reader.js';
import { OPAQUE_MARKER, whiteoutTarget } from './whiteouts.js';

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
  // One confined writer for the whole layer, its parents resolved in-root over the merged view ('union').
  const session = RootSession.open(targetDir, { lowerRoots: options.lowerDirs ?? [] });
  session.base('', 'union');
  session.policy('layer');
  let source: Readable | undefined;
  try {
    source = await decompressed(input);
    if (options.signal) addAbortSignal(options.signal, source);
    for await (const entry of readTar(hashed(source, hash))) await applyEntry(entry, session, options, dropped);
  } catch (err) {
    await session.abort();
    source?.destroy();
    input.destroy();
    const failure: unknown = session.failure ?? err;
    // A refused entry or a host failure (ENOSPC, EIO) is reported as it is; anything else broke the stream the
    // entries come from.
    if (failure instanceof LayerError || failure instanceof ConfinedFsError) throw layerFailure(failure, options);
    throw unreadable(failure, options);
  }
  // Directory mtimes are set by the writer at the end, deepest first, through the fds it kept.
  await session.close().catch((err: unknown) => { throw layerFailure(err, options); });
  return { diffId: `sha256:${hash.digest('hex')}`, dropped };
}

/** (uid_t)-1: no file can have it, and chown(2) takes it for "keep the owner" (containerd's Lchown kept root's). */
const NO_ID = 4294967295;

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

/** The chunks of `source`, each added to `hash` on the way: the diffId is over every byte of the uncompressed tar. */
async function* hashed(source: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer, void, undefined> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

async function applyEntry(entry: TarEntry, session: RootSession, options: ApplyOptions, dropped: DroppedEntry[]): Promise<void> {
  const h = entry.header;
  const fail = (message: string, cause?: unknown): LayerError => new LayerError(message, { entry: showName(h.name), layer: options.layer, cause });
  const { parts, path } = entryComponents(h.name, fail);
  if (parts.length === 0) return;   // the root itself: its metadata belongs to the parent snapshot
  const base = parts[parts.length - 1] as FsName;
  const parent = joinComponents(parts.slice(0, -1));
  const meta: EntryMeta = { uid: h.uid, gid: h.gid, mode: h.mode, ...unpackTimes(h) };
  if (meta.uid >= NO_ID || meta.gid >= NO_ID) {
    throw fail(`refused: owner ${meta.uid}:${meta.gid} is not a Linux id (ids are below ${NO_ID}, which chown reads as "leave unchanged")`);
  }
  const limits = mappedIdLimits();
  if (meta.uid >= limits.uid || meta.gid >= limits.gid) {
    // Rootless: the user namespace maps ids 0..N-1 (the user and its /etc/subuid range); the kernel cannot store
    // another owner, and changing it would change the image.
    throw new LayerError(`owner ${meta.uid}:${meta.gid} is outside the ids this user namespace maps (uid < ${limits.uid}, gid < ${limits.gid})`,
      { entry: showName(h.name), layer: options.layer, hint: 'give the user a larger range in /etc/subuid and /etc/subgid (65536 ids cover most images), or build as root' });
  }

  if (base === OPAQUE_MARKER) {
    session.opaque(parent);
    return;
  }
  const hidden = whiteoutTarget(base);
  if (hidden !== undefined) {
    if (hidden === '' || hidden === '.' || hidden === '..') throw fail('refused: whiteout names no entry');
    session.whiteout(joinComponents([...parts.slice(0, -1), hidden]));
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
      // O_CREAT|O_EXCL|O_NOFOLLOW: never through a symlink that appeared at the final component.
      await session.file(path, entry.body);
      session.meta(meta);
      break;
    case 'symlink':
      session.symlink(path, h.linkname);
      session.meta({ ...meta, mode: undefined });
      break;
    case 'link': {
      const target = entryComponents(h.linkname, fail);
      if (target.parts.length === 0) throw fail('refused: hardlink to the root');
      session.hardlink(path, target.path);
      break;
    }
    case 'character-device':
    case 'block-device':
      if (!options.allowDevices) throw fail(`refused: device node (${h.devmajor}:${h.devminor}) in a layer`);
      if (h.type === 'character-device' && h.devmajor === 0 && h.devminor === 0) {
        // In an upper dir a 0/0 character device *is* an overlay whiteout (containerd's overlay apply mknods it as
        // written, and the mount then hides the name): made as one, so it is only made where it hides something.
        session.whiteout(path);
        session.meta({ ...meta, mode: undefined });
        return;
      }
      // In a user namespace mknod of a real device is EPERM.
      if (isInUserNamespace()) {
        dropped.push({ entry: showName(path), what: `${h.type} ${h.devmajor}:${h.devminor}` });
        return;
      }
      session.node(path, h.type === 'character-device' ? 'char' : 'block', h.devmajor, h.devminor);
      session.meta(meta);
      break;
    case 'fifo':
      session.node(path, 'fifo');
      session.meta(meta);
      break;
    case 'unknown':
      // containerd and docker refuse a type they do not know too ("unhandled tar header type").
      throw fail(`refused: unsupported entry type ${JSON.stringify(h.typeflag)}`);
  }
  setXattrs(session, h.xattrs, (name) => dropped.push({ entry: showName(path), what: `xattr ${name}` }));
  await session.flushIfFull();
}

/**
 * The clean components of an entry's name or hardlink target, and the path they make. One that climbs out of the
 * root is refused, and so is one as long as PATH_MAX or longer: containerd's applyNaive stats it joined to the root
 * and gets ENAMETOOLONG, and the walk down half a million components of a 1 MiB GNU long name (all Go's reader
 * allows) never ended.
 */
function entryComponents(name: FsName, fail: (message: string, cause?: unknown) => LayerError): { parts: FsName[]; path: FsName } {
  let parts: FsName[];
  try {
    parts = cleanComponents(name);
  } catch (err) {
    if (err instanceof EscapeError) throw fail(`refused: ${err.message}`, err);
    throw err;
  }
  const path = joinComponents(parts);
  const length = nameBytes(path).length;
  if (length >= HOST_PATH_MAX) throw fail(`refused: a path of ${length} bytes, longer than this host allows (${HOST_PATH_MAX} bytes)`);
  return { parts, path };
}

/**
 * Sets a tar entry's xattrs on the entry the session made last, as a layer apply and ADD's unpack both do (docker's
 * untar does for ADD too). overlayfs's own (trusted.overlay.*, user.overlay.*) would change what the mount shows:
 * never from a tar. trusted.* needs CAP_SYS_ADMIN in the initial user namespace: rootless it can only be named
 * (`dropped`), not kept.
 */
export function setXattrs(session: RootSession, xattrs: ReadonlyArray<[string, Buffer]>, dropped: (name: string) => void): void {
  for (const [name, value] of xattrs) {
    if (isOverlayXattr(name)) continue;
    if (isInUserNamespace() && name.startsWith('trusted.')) dropped(name);
    else session.xattr(name, value);
  }
}

// Errors while decompressing or parsing are the layer's fault (truncated, corrupt, not a tar); cancellation is not.
function unreadable(err: unknown, options: ApplyOptions): unknown {
  if (err instanceof LayerError || options.signal?.aborted || (err instanceof Error && err.name === 'AbortError')) return err;
  return new LayerError(`cannot read the layer: ${err instanceof Error ? err.message : String(err)}`, { layer: options.layer, cause: err });
}
