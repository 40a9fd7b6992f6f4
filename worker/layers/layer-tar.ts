import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { Readable } from 'node:stream';
import { baseName, components, concatNames, dirName, nameBytes, nameKey, nameOf, showName, sortedNames } from '../../common/index.js';
import type { FsName } from '../../common/index.js';
import { readXattrs } from './fs-attrs.js';
import type { BlockSource } from './parallel-gzip.js';
import { encodeTarHeader, END_OF_ARCHIVE, padding } from './tar-header.js';
import type { TarHeader } from './tar-header.js';
import { FUSE_OPAQUE_ENTRIES, fuseOpaqueXattr, isOverlayXattr, overlayOpaqueXattr, snapshotterKind } from '../rootless/index.js';
import type { SnapshotterKind } from '../rootless/index.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX, isOverlayWhiteout } from './whiteouts.js';

/** How a layer tar is written. */
export interface LayerTarOptions {
  /** Clamp every mtime to this (seconds since the epoch), as SOURCE_DATE_EPOCH asks for reproducible layers. */
  sourceDateEpoch?: number | undefined;
  /**
   * The dirs below the upper dir, top first (the snapshot's parent chain). Needed only for an upper dir written
   * through fuse-overlayfs, which marks every directory it creates opaque: one is exported opaque only when it hides
   * something below, as the kernel marks them, so both give the same layer.
   */
  lowerDirs?: string[] | undefined;
  /**
   * The snapshotter that wrote the upper dir, when not this process's (a lazy layer made again later: lazy-layers.ts).
   * Default: snapshotterKind().
   */
  snapshotter?: SnapshotterKind | undefined;
  /**
   * The xattrs the tar carries. 'capability' (default, a layer): security.capability alone, as every layer BuildKit
   * exports (containerd archive/tar.go ChangeWriter.HandleChange reads only that one, for BuildKit's overlay differ
   * util/overlay WriteUpperdir and its walking differ alike; moby's pkg/archive ReadSecurityXattrToTarHeader the same):
   * user.* download URLs, ACLs naming host uids and SELinux labels that COPY and RUN left in the snapshot stay there.
   * 'all': every one but overlay's own, as fsutil's WriteTar writes a `-o type=tar` output (exporter/tar), and as
   * layers were written before v2 of lazy-layers.ts's record (one recorded then is made again with them).
   */
  xattrs?: 'capability' | 'all' | undefined;
}

/** The only xattr a layer carries (see LayerTarOptions.xattrs). */
const CAPABILITY = 'security.capability';

interface WalkEntry { rel: FsName; path: FsName; st: Stats }

// layerTar's chunks (the export path fills the gzip's own 1 MiB blocks instead).
const READ_CHUNK = 256 << 10;

/**
 * Streams an overlay upper dir as an OCI layer tar: entries in depth-first order with names sorted bytewise,
 * whiteout devices as `.wh.<name>`, opaque dirs followed by `<dir>/.wh..wh..opq`, repeated inodes as hardlinks,
 * xattrs (security.capability alone, unless options.xattrs says all) as PAX `SCHILY.xattr.*`. Owner, mode and
 * (clamped) mtime come from the files; nothing else varies, so the same tree always gives the same bytes. Read only as fast as it is consumed, in 256 KiB chunks.
 */
export function layerTar(upperDir: string, options: LayerTarOptions = {}): Readable {
  return tarOf(layerEntries(upperDir, options));
}

/** layerTar of `dir`, then the entries of `extra` (files tsbuild adds: a tar output's attestations), as one tar. */
export function layerTarWith(dir: string, extra: string, options: LayerTarOptions = {}): Readable {
  return tarOf((async function* (): AsyncGenerator<TarEntry> {
    yield* layerEntries(dir, options);
    yield* layerEntries(extra, options);
  })());
}

/** `entries` written as a tar stream (layerTar, subDirsTar), read only as fast as it is consumed, in 256 KiB chunks. */
export function tarOf(entries: AsyncGenerator<TarEntry>): Readable {
  const source = new TarWriter(entries);
  return new Readable({
    read() {
      const chunk = Buffer.allocUnsafe(READ_CHUNK);
      source.fill(chunk).then((n) => {
        if (n > 0) this.push(chunk.subarray(0, n));
        if (n < chunk.length) this.push(null);
      }, (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))));
    },
    destroy(err, cb) {
      source.close();
      cb(err);
    },
  });
}

/**
 * The same tar as layerTar, written straight into the caller's buffers: headers encoded in place, file bodies read
 * with synchronous reads into the buffer itself (no per-file buffer, no queue), only as far as the caller asks.
 * Memory stays flat whatever the layer's size; the export path hands it the gzip's own blocks (parallel-gzip.ts).
 */
export function layerTarSource(upperDir: string, options: LayerTarOptions = {}): BlockSource {
  return new TarWriter(layerEntries(upperDir, options));
}

/** One tar entry: its header and, for a regular file with content, where to read the body. */
export interface TarEntry { header: TarHeader; body?: { path: FsName; st: Stats } | undefined }

// Entries are walked, and their xattrs read, a batch at a time: the layer's header fields are made and dropped as the
// tar is written, so memory does not grow with the number of files (a whole-tree array of 20,000 paths and Stats
// outlived the young generation and grew the old one by ~16 MiB while a big COPY's layer was hashed).
const BATCH = 256;

/** The entries of layerTar's tar, in its order. */
export async function* layerEntries(upperDir: string, options: LayerTarOptions): AsyncGenerator<TarEntry> {
  const clamp = options.sourceDateEpoch === undefined ? Infinity : options.sourceDateEpoch * 1000;
  // Hard-linked inodes already written: the first path of each (later ones become links).
  const seen = new LinkTargets();
  const opaqueXattr = overlayOpaqueXattr();   // user.overlay.opaque when rootless (worker/rootless)
  // Directories fuse-overlayfs marked. As real root it writes the kernel's own xattr, so that reading only applies
  // when it is the snapshotter; rootless its xattr is its own and is read whichever wrote the upper dir.
  const fuseXattr = fuseOpaqueXattr();
  const readsFuse = fuseXattr !== opaqueXattr || (options.snapshotter ?? snapshotterKind()) === 'fuse-overlayfs';
  const isAll = options.xattrs === 'all';
  // A layer's entries are listed, but only these values read: the capability and the opaque markers.
  const wanted = isAll ? undefined : [CAPABILITY, opaqueXattr, ...(readsFuse && fuseXattr !== opaqueXattr ? [fuseXattr] : [])];
  // Filled as the walk goes: the walk is pre-order, so a directory is known before anything inside it.
  const fuseDirs = new Set<string>();   // by nameKey
  const walker = walk(upperDir, '');
  for (;;) {
    const batch: WalkEntry[] = [];
    for (let next = walker.next(); !next.done; next = walker.next()) {
      batch.push(next.value);
      if (batch.length === BATCH) break;
    }
    if (batch.length === 0) return;
    // One helper round trip a batch. Not only files: the kernel takes a capability on a directory or a fifo too, and
    // containerd's HandleChange exports one wherever it is; only directories are opaque. Symlinks are not read, as
    // they never were (only root can give one an xattr; a capability on one is never used, exec goes through it).
    const xattrs = await readXattrs(batch.filter((e) => !e.st.isSymbolicLink()).map((e) => e.path), wanted);
    for (const e of batch) {
      const attrs = xattrs.get(nameKey(e.path)) ?? {};
      if (readsFuse && e.st.isDirectory() && attrs[fuseXattr]?.toString() === 'y') fuseDirs.add(nameKey(e.rel));
      if (isFuseMarker(e, fuseDirs)) continue;
      // Whole seconds, as the ustar mtime field holds them.
      const mtime = (Math.min(Math.floor(e.st.mtimeMs / 1000) * 1000, clamp) / 1000) | 0;
      const marker = { mode: 0, uid: 0, gid: 0, mtime, size: 0 };
      const base = { name: e.rel, mode: e.st.mode & 0o7777, uid: e.st.uid, gid: e.st.gid, mtime, size: 0, pax: paxXattrs(attrs, isAll) };
      if (isOverlayWhiteout(e.st)) {
        const dir = dirName(e.rel);
        yield { header: { ...marker, name: concatNames(dir, dir === '' ? '' : '/', WHITEOUT_PREFIX, baseName(e.rel)), type: 'file' } };
      } else if (e.st.isDirectory()) {
        yield { header: { ...base, name: concatNames(e.rel, '/'), type: 'directory' } };
        // OCI (image-spec layer.md, "Opaque Whiteout") wants the marker with the directory; we write it right after
        // the directory entry so a streaming applier clears the lower contents before writing the new ones.
        const isOpaque = fuseDirs.has(nameKey(e.rel)) ? await existsBelow(options.lowerDirs ?? [], e.rel) : attrs[opaqueXattr]?.toString() === 'y';
        if (isOpaque) yield { header: { ...marker, name: concatNames(e.rel, '/', OPAQUE_MARKER), type: 'file' } };
      } else if (e.st.isSymbolicLink()) {
        yield { header: { ...base, type: 'symlink', linkname: nameOf(readlinkSync(e.path, { encoding: 'buffer' })) } };
      } else {
        const first = e.st.nlink > 1 ? seen.get(e.st.dev, e.st.ino) : undefined;
        if (first !== undefined) {
          yield { header: { ...base, type: 'link', linkname: first } };
          continue;
        }
        if (e.st.nlink > 1) seen.set(e.st.dev, e.st.ino, e.rel);
        if (e.st.isFile()) {
          yield { header: { ...base, type: 'file', size: e.st.size }, body: e.st.size > 0 ? { path: e.path, st: e.st } : undefined };
        } else if (e.st.isCharacterDevice() || e.st.isBlockDevice()) {
          const type = e.st.isCharacterDevice() ? 'character-device' : 'block-device';
          yield { header: { ...base, type, devmajor: major(e.st.rdev), devminor: minor(e.st.rdev) } };
        } else if (e.st.isFIFO()) {
          yield { header: { ...base, type: 'fifo' } };
        }
        // Sockets are not representable in a tar and never belong in an image; they are left out, as docker does.
      }
    }
    // Let other work run between batches: the walk and the reads are synchronous.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * The first path written of each inode with more than one link, packed: inode → offset of the path's bytes. Every
 * file an incremental COPY linked from the previous result has two links (the other one outside this layer), so for a
 * 20,000-file COPY this held 20,000 paths as strings until the layer was hashed (~10 MiB of old generation).
 */
class LinkTargets {
  /** On the device of the first inode (a layer's upper dir is one filesystem); any other is keyed by text. */
  readonly #byInode = new Map<number, number>();
  readonly #other = new Map<string, FsName>();
  #dev: number | undefined;
  #bytes = Buffer.allocUnsafe(64 * 1024);
  #at = 0;

  get(dev: number, ino: number): FsName | undefined {
    if (dev !== this.#dev) return this.#other.get(`${dev}:${ino}`);
    const at = this.#byInode.get(ino);
    return at === undefined ? undefined : nameOf(this.#bytes.subarray(at + 4, at + 4 + this.#bytes.readUInt32LE(at)));   // written once, never changed
  }

  set(dev: number, ino: number, path: FsName): void {
    this.#dev ??= dev;
    if (dev !== this.#dev) {
      this.#other.set(`${dev}:${ino}`, path);
      return;
    }
    const bytes = nameBytes(path);
    const length = bytes.length;
    if (this.#at + 4 + length > this.#bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.#at + 4 + length));
      this.#bytes.copy(grown, 0, 0, this.#at);
      this.#bytes = grown;
    }
    this.#bytes.writeUInt32LE(length, this.#at);
    bytes.copy(this.#bytes, this.#at + 4);
    this.#byInode.set(ino, this.#at);
    this.#at += 4 + length;
  }
}

/**
 * Writes entries into the caller's buffers. State between fills: header bytes not yet copied, the open file whose
 * body is being read (and how much is left), the zero padding still owed, and whether the end marker is out.
 */
class TarWriter implements BlockSource {
  readonly #entries: AsyncGenerator<TarEntry>;
  #pending: Buffer | undefined;
  #pendingAt = 0;
  #file: { fd: number; path: FsName; left: number; offset: number } | undefined;
  #zeros = 0;
  #state: 'entries' | 'end' | 'done' = 'entries';
  #isClosed = false;

  constructor(gen: AsyncGenerator<TarEntry>) { this.#entries = gen; }

  async fill(buf: Buffer): Promise<number> {
    let at = 0;
    while (at < buf.length) {
      if (this.#pending) {
        const n = this.#pending.copy(buf, at, this.#pendingAt);
        at += n;
        this.#pendingAt += n;
        if (this.#pendingAt === this.#pending.length) this.#pending = undefined;
      } else if (this.#file) {
        at += this.#readBody(buf, at);
      } else if (this.#zeros > 0) {
        const n = Math.min(this.#zeros, buf.length - at);
        buf.fill(0, at, at + n);
        at += n;
        this.#zeros -= n;
      } else if (this.#state === 'entries') {
        const next = await this.#entries.next();
        if (this.#isClosed) return at;   // closed meanwhile
        if (next.done) {
          this.#state = 'end';
          this.#zeros = END_OF_ARCHIVE;
          continue;
        }
        const { header, body } = next.value;
        this.#pending = encodeTarHeader(header);
        this.#pendingAt = 0;
        if (body) this.#file = { fd: openNoFollow(body.path, body.st), path: body.path, left: body.st.size, offset: 0 };
      } else {
        this.#state = 'done';
        break;
      }
    }
    return at;
  }

  close(): void {
    this.#isClosed = true;
    this.#closeFile();
    this.#state = 'done';
    this.#entries.return(undefined).catch(() => undefined);
  }

  #readBody(buf: Buffer, at: number): number {
    const file = this.#file;
    if (!file) return 0;
    const want = Math.min(file.left, buf.length - at);
    const n = readSync(file.fd, buf, at, want, file.offset);
    // Shorter than fstat said: the file shrank under the export. Refused rather than padded (a rewrite of the same
    // size could only be told by reading twice, which no tar writer does).
    if (n === 0) throw new Error(`${showName(file.path)} changed while the layer was being written`);
    file.left -= n;
    file.offset += n;
    if (file.left === 0) {
      this.#zeros = padding(file.offset);
      this.#closeFile();
    }
    return n;
  }

  #closeFile(): void {
    if (this.#file) closeSync(this.#file.fd);
    this.#file = undefined;
  }
}

/** An entry fuse-overlayfs put in a directory it marked opaque (see worker/rootless/overlay-flavour.ts). */
function isFuseMarker(e: WalkEntry, fuseDirs: Set<string>): boolean {
  const name = baseName(e.rel);
  if (typeof name !== 'string' || !FUSE_OPAQUE_ENTRIES.includes(name) || !fuseDirs.has(nameKey(dirName(e.rel)))) return false;
  return (e.st.isFile() && e.st.size === 0) || isOverlayWhiteout(e.st);
}

/**
 * Whether `rel` names an entry in the merged view of `lowerDirs` (top first): the first lower that has it decides
 * (a whiteout there: no); a parent that is not a real directory (a file, a whiteout, a symlink, never followed
 * out of the lower) hides it. An opaque parent in an upper lower is not looked at: at worst a directory that replaced
 * something hidden anyway keeps a redundant marker.
 */
async function existsBelow(lowerDirs: string[], rel: FsName): Promise<boolean> {
  const parts = components(rel);
  for (const lower of lowerDirs) {
    let path: FsName = lower;
    let st: Stats | undefined;
    for (const [i, part] of parts.entries()) {
      path = concatNames(path, '/', part);
      st = await lstat(path).catch(() => undefined);
      if (st === undefined) break;
      if (i < parts.length - 1 && !st.isDirectory()) return false;   // a file or whiteout there hides the rest
    }
    if (st !== undefined) return !isOverlayWhiteout(st);
  }
  return false;
}

// Synchronous readdir and lstat (no thread-pool round trip per name); the caller yields to the event loop between
// batches. Pre-order, names sorted bytewise. Names are read as bytes (byte-names.ts): one that is not UTF-8 is
// walked, read and written by its bytes.
function* walk(dir: FsName, rel: FsName): Generator<WalkEntry> {
  const names = sortedNames(readdirSync(dir, { encoding: 'buffer' }));
  for (const name of names) {
    const path = concatNames(dir, '/', name);
    const childRel = rel.length > 0 ? concatNames(rel, '/', name) : name;
    const st = lstatSync(path);
    yield { rel: childRel, path, st };
    if (st.isDirectory()) yield* walk(path, childRel);
  }
}

// The walk lstat()s every name and descends only into real directories, so a symlink in the upper dir (`/leak ->
// /etc/shadow`, `/r -> /root`) is exported as a link and never read through. The file itself is opened with
// O_NOFOLLOW and checked to be the inode the walk saw, so not even a swap between walk and read can make an export
// carry a host file's bytes.
function openNoFollow(path: FsName, seen: Stats): number {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.ino !== seen.ino || st.dev !== seen.dev || st.size !== seen.size) {
      throw new Error(`${showName(path)} changed while the layer was being written`);
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

// The xattrs as PAX `SCHILY.xattr.*` records: a value that is UTF-8 as its text (the bytes tsbuild always wrote), a
// binary one (security.capability, which `setcap` in a RUN step writes) as its bytes, as Go's archive/tar writes
// both. A layer's: security.capability only. Overlay's own trusted.overlay.* (user.overlay.* rootless) never leave
// the host.
function paxXattrs(attrs: Record<string, Buffer>, isAll: boolean): Record<string, FsName> | undefined {
  const out: Record<string, FsName> = {};
  for (const name of Object.keys(attrs).sort()) {
    const value = attrs[name];
    if (!value || isOverlayXattr(name) || (!isAll && name !== CAPABILITY)) continue;
    out[`SCHILY.xattr.${name}`] = nameOf(value);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function major(dev: number): number {
  return ((dev >> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
}

function minor(dev: number): number {
  return (dev & 0xff) | ((dev >> 12) & 0xfff00);
}
