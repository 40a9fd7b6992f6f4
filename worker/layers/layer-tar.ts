import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { readXattrs } from './fs-attrs.js';
import type { BlockSource } from './parallel-gzip.js';
import { encodeTarHeader, padding } from './tar-header.js';
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
}

interface WalkEntry { rel: string; path: string; st: Stats }

// layerTar's chunks (the export path fills the gzip's own 1 MiB blocks instead).
const READ_CHUNK = 256 << 10;
// Two zero blocks end a tar.
const END_OF_TAR = 1024;

/**
 * Streams an overlay upper dir as an OCI layer tar: entries in depth-first order with names sorted bytewise,
 * whiteout devices as `.wh.<name>`, opaque dirs followed by `<dir>/.wh..wh..opq`, repeated inodes as hardlinks,
 * xattrs as PAX `SCHILY.xattr.*`. Owner, mode and (clamped) mtime come from the files; nothing else varies, so the
 * same tree always gives the same bytes. Read only as fast as it is consumed, in 256 KiB chunks.
 */
export function layerTar(upperDir: string, options: LayerTarOptions = {}): Readable {
  const source = layerTarSource(upperDir, options);
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
  return new TarWriter(entries(upperDir, options));
}

/** One tar entry: its header and, for a regular file with content, where to read the body. */
interface Entry { header: TarHeader; body?: { path: string; st: Stats } | undefined }

async function* entries(upperDir: string, options: LayerTarOptions): AsyncGenerator<Entry> {
  const walked: WalkEntry[] = [];
  await walk(upperDir, '', walked);
  // Only directories can be opaque and only these xattrs matter for a layer; reading them in one batch keeps the
  // per-layer cost at one helper process.
  const xattrs = await readXattrs(walked.filter((e) => !e.st.isSymbolicLink()).map((e) => e.path));
  const clamp = options.sourceDateEpoch === undefined ? Infinity : options.sourceDateEpoch * 1000;
  const seen = new Map<string, string>();
  const opaqueXattr = overlayOpaqueXattr();   // user.overlay.opaque when rootless (worker/rootless)
  // Directories fuse-overlayfs marked. As real root it writes the kernel's own xattr, so that reading only applies
  // when it is the snapshotter; rootless its xattr is its own and is read whichever wrote the upper dir.
  const fuseXattr = fuseOpaqueXattr();
  const readsFuse = fuseXattr !== opaqueXattr || (options.snapshotter ?? snapshotterKind()) === 'fuse-overlayfs';
  let yields = 0;
  const fuseDirs = new Set(readsFuse ? walked.filter((e) => e.st.isDirectory() && xattrs.get(e.path)?.[fuseXattr]?.toString() === 'y').map((e) => e.rel) : []);
  for (const e of walked) {
    if (isFuseMarker(e, fuseDirs)) continue;
    // Whole seconds, as the ustar mtime field holds them.
    const mtime = (Math.min(Math.floor(e.st.mtimeMs / 1000) * 1000, clamp) / 1000) | 0;
    const marker = { mode: 0, uid: 0, gid: 0, mtime, size: 0 };
    const attrs = xattrs.get(e.path) ?? {};
    const base = { name: e.rel, mode: e.st.mode & 0o7777, uid: e.st.uid, gid: e.st.gid, mtime, size: 0, pax: paxXattrs(attrs) };
    if (isOverlayWhiteout(e.st)) {
      const slash = e.rel.lastIndexOf('/');
      yield { header: { ...marker, name: `${e.rel.slice(0, slash + 1)}${WHITEOUT_PREFIX}${e.rel.slice(slash + 1)}`, type: 'file' } };
    } else if (e.st.isDirectory()) {
      yield { header: { ...base, name: `${e.rel}/`, type: 'directory' } };
      // OCI (image-spec layer.md, "Opaque Whiteout") wants the marker with the directory; we write it right after
      // the directory entry so a streaming applier clears the lower contents before writing the new ones.
      const isOpaque = fuseDirs.has(e.rel) ? await existsBelow(options.lowerDirs ?? [], e.rel) : attrs[opaqueXattr]?.toString() === 'y';
      if (isOpaque) yield { header: { ...marker, name: `${e.rel}/${OPAQUE_MARKER}`, type: 'file' } };
    } else if (e.st.isSymbolicLink()) {
      yield { header: { ...base, type: 'symlink', linkname: readlinkSync(e.path) } };
    } else if (e.st.nlink > 1 && seen.has(`${e.st.dev}:${e.st.ino}`)) {
      yield { header: { ...base, type: 'link', linkname: seen.get(`${e.st.dev}:${e.st.ino}`) ?? '' } };
    } else {
      if (e.st.nlink > 1) seen.set(`${e.st.dev}:${e.st.ino}`, e.rel);
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
    // Let other work run now and then: the walk above and the reads below are synchronous.
    if (++yields % 2048 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Writes entries into the caller's buffers. State between fills: header bytes not yet copied, the open file whose
 * body is being read (and how much is left), the zero padding still owed, and whether the end marker is out.
 */
class TarWriter implements BlockSource {
  readonly #entries: AsyncGenerator<Entry>;
  #pending: Buffer | undefined;
  #pendingAt = 0;
  #file: { fd: number; path: string; left: number; offset: number } | undefined;
  #zeros = 0;
  #state: 'entries' | 'end' | 'done' = 'entries';
  #isClosed = false;

  constructor(gen: AsyncGenerator<Entry>) { this.#entries = gen; }

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
          this.#zeros = END_OF_TAR;
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
    if (n === 0) throw new Error(`${file.path} changed while the layer was being written`);
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
  const slash = e.rel.lastIndexOf('/');
  const name = e.rel.slice(slash + 1);
  if (!FUSE_OPAQUE_ENTRIES.includes(name) || !fuseDirs.has(slash < 0 ? '' : e.rel.slice(0, slash))) return false;
  return (e.st.isFile() && e.st.size === 0) || isOverlayWhiteout(e.st);
}

/**
 * Whether `rel` names an entry in the merged view of `lowerDirs` (top first): the first lower that has it decides
 * (a whiteout there: no); a parent that is not a real directory (a file, a whiteout, a symlink, never followed
 * out of the lower) hides it. An opaque parent in an upper lower is not looked at: at worst a directory that replaced
 * something hidden anyway keeps a redundant marker.
 */
async function existsBelow(lowerDirs: string[], rel: string): Promise<boolean> {
  const parts = rel.split('/');
  for (const lower of lowerDirs) {
    let path = lower;
    let st: Stats | undefined;
    for (const [i, part] of parts.entries()) {
      path = join(path, part);
      st = await lstat(path).catch(() => undefined);
      if (st === undefined) break;
      if (i < parts.length - 1 && !st.isDirectory()) return false;   // a file or whiteout there hides the rest
    }
    if (st !== undefined) return !isOverlayWhiteout(st);
  }
  return false;
}

// Synchronous readdir and lstat (no thread-pool round trip per name), yielding to the event loop now and then.
async function walk(dir: string, rel: string, out: WalkEntry[]): Promise<void> {
  const names = readdirSync(dir).map((name) => ({ name, key: Buffer.from(name) })).sort((a, b) => Buffer.compare(a.key, b.key));
  for (const { name } of names) {
    const path = join(dir, name);
    const childRel = rel ? `${rel}/${name}` : name;
    const st = lstatSync(path);
    out.push({ rel: childRel, path, st });
    if (out.length % 2048 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    if (st.isDirectory()) await walk(path, childRel, out);
  }
}

// The walk lstat()s every name and descends only into real directories, so a symlink in the upper dir (`/leak ->
// /etc/shadow`, `/r -> /root`) is exported as a link and never read through. The file itself is opened with
// O_NOFOLLOW and checked to be the inode the walk saw, so not even a swap between walk and read can make an export
// carry a host file's bytes.
function openNoFollow(path: string, seen: Stats): number {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.ino !== seen.ino || st.dev !== seen.dev || st.size !== seen.size) {
      throw new Error(`${path} changed while the layer was being written`);
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

// PAX values are written as UTF-8 text (tar-header.ts), so only xattrs whose value survives that are carried (binary values,
// such as security.capability, need raw PAX bytes: TODO #12). Overlay's own trusted.overlay.* (user.overlay.*
// rootless) never leave the host.
function paxXattrs(attrs: Record<string, Buffer>): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const name of Object.keys(attrs).sort()) {
    const value = attrs[name];
    if (!value || isOverlayXattr(name)) continue;
    const text = value.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(value)) out[`SCHILY.xattr.${name}`] = text;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function major(dev: number): number {
  return ((dev >> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
}

function minor(dev: number): number {
  return (dev & 0xff) | ((dev >> 12) & 0xfff00);
}
