import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readdirSync } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { Header, Pack } from 'tar-stream';

type Headers = Partial<Header> & Pick<Header, 'name'>;
import { readXattrs } from './fs-attrs.js';
import { FUSE_OPAQUE_ENTRIES, fuseOpaqueXattr, isOverlayXattr, overlayOpaqueXattr, snapshotterKind } from '../rootless/index.js';
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
}

interface WalkEntry { rel: string; path: string; st: Stats }

// Files up to this size are read whole with synchronous calls (open, fstat, read, close) and handed to the tar as
// one buffer: no stream and no thread-pool round trip per file. Larger ones stream.
const SMALL_FILE = 1 << 20;
// Entries are queued in the tar without waiting for each; the writer waits for the tar to take them every this
// many entries or bytes, so memory stays bounded while the per-entry promise is gone.
const BATCH_ENTRIES = 512;
const BATCH_BYTES = 8 << 20;

/**
 * Streams an overlay upper dir as an OCI layer tar: entries in depth-first order with names sorted bytewise,
 * whiteout devices as `.wh.<name>`, opaque dirs followed by `<dir>/.wh..wh..opq`, repeated inodes as hardlinks,
 * xattrs as PAX `SCHILY.xattr.*`. Owner, mode and (clamped) mtime come from the files; nothing else varies, so the
 * same tree always gives the same bytes. File contents stream from disk one at a time.
 */
export function layerTar(upperDir: string, options: LayerTarOptions = {}): Readable {
  const pack = tar.pack();
  writeEntries(pack, upperDir, options).then(() => pack.finalize(), (err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  return Readable.from(pack);
}

async function writeEntries(pack: Pack, upperDir: string, options: LayerTarOptions): Promise<void> {
  const entries: WalkEntry[] = [];
  await walk(upperDir, '', entries);
  // Only directories can be opaque and only these xattrs matter for a layer; reading them in one batch keeps the
  // per-layer cost at one helper process.
  const xattrs = await readXattrs(entries.filter((e) => !e.st.isSymbolicLink()).map((e) => e.path));
  const clamp = options.sourceDateEpoch === undefined ? Infinity : options.sourceDateEpoch * 1000;
  const seen = new Map<string, string>();
  const opaqueXattr = overlayOpaqueXattr();   // user.overlay.opaque when rootless (worker/rootless)
  // Directories fuse-overlayfs marked. As real root it writes the kernel's own xattr, so that reading only applies
  // when it is the snapshotter; rootless its xattr is its own and is read whichever wrote the upper dir.
  const fuseXattr = fuseOpaqueXattr();
  const readsFuse = fuseXattr !== opaqueXattr || snapshotterKind() === 'fuse-overlayfs';
  const fuseDirs = new Set(readsFuse ? entries.filter((e) => e.st.isDirectory() && xattrs.get(e.path)?.[fuseXattr]?.toString() === 'y').map((e) => e.rel) : []);
  const out = new EntryQueue(pack);
  for (const e of entries) {
    if (pack.destroyed) return;
    if (isFuseMarker(e, fuseDirs)) continue;
    const mtime = new Date(Math.min(Math.floor(e.st.mtimeMs / 1000) * 1000, clamp));
    const base: Headers = { name: e.rel, mode: tarMode(e.st.mode & 0o7777), uid: e.st.uid, gid: e.st.gid, mtime, uname: '', gname: '' };
    const attrs = xattrs.get(e.path) ?? {};
    const pax = paxXattrs(attrs);
    if (pax) base.pax = pax;
    if (isOverlayWhiteout(e.st)) {
      const slash = e.rel.lastIndexOf('/');
      const name = `${e.rel.slice(0, slash + 1)}${WHITEOUT_PREFIX}${e.rel.slice(slash + 1)}`;
      await out.add({ name, mode: tarMode(0), uid: 0, gid: 0, mtime, uname: '', gname: '', type: 'file', size: 0 });
    } else if (e.st.isDirectory()) {
      await out.add({ ...base, name: `${e.rel}/`, type: 'directory' });
      // OCI (image-spec layer.md, "Opaque Whiteout") wants the marker with the directory; we write it right after
      // the directory entry so a streaming applier clears the lower contents before writing the new ones.
      const isOpaque = fuseDirs.has(e.rel) ? await existsBelow(options.lowerDirs ?? [], e.rel) : attrs[opaqueXattr]?.toString() === 'y';
      if (isOpaque) {
        await out.add({ name: `${e.rel}/${OPAQUE_MARKER}`, mode: tarMode(0), uid: 0, gid: 0, mtime, uname: '', gname: '', type: 'file', size: 0 });
      }
    } else if (e.st.isSymbolicLink()) {
      await out.add({ ...base, type: 'symlink', linkname: await readlink(e.path) });
    } else if (e.st.nlink > 1 && seen.has(`${e.st.dev}:${e.st.ino}`)) {
      await out.add({ ...base, type: 'link', linkname: seen.get(`${e.st.dev}:${e.st.ino}`) ?? '' });
    } else {
      if (e.st.nlink > 1) seen.set(`${e.st.dev}:${e.st.ino}`, e.rel);
      if (e.st.isFile() && e.st.size <= SMALL_FILE) {
        await out.add({ ...base, type: 'file', size: e.st.size }, readSmallNoFollow(e.path, e.st));
      } else if (e.st.isFile()) {
        await out.flush();
        const entry = pack.entry({ ...base, type: 'file', size: e.st.size });
        await pipeline(await openNoFollow(e.path, e.st), entry);
      } else if (e.st.isCharacterDevice() || e.st.isBlockDevice()) {
        const type = e.st.isCharacterDevice() ? 'character-device' : 'block-device';
        await out.add({ ...base, type, devmajor: major(e.st.rdev), devminor: minor(e.st.rdev) });
      } else if (e.st.isFIFO()) {
        await out.add({ ...base, type: 'fifo' });
      }
      // Sockets are not representable in a tar and never belong in an image; they are left out, as docker does.
    }
  }
  await out.flush();
}

/** Entries with their whole body, queued in the tar in order; waits for the tar only once a batch is queued. */
class EntryQueue {
  readonly #pack: Pack;
  #last: Promise<void> = Promise.resolve();
  #entries = 0;
  #bytes = 0;

  constructor(pack: Pack) { this.#pack = pack; }

  async add(header: Headers, body: Buffer = Buffer.alloc(0)): Promise<void> {
    this.#last = new Promise((resolve, reject) => {
      this.#pack.entry(header, body, (err) => (err ? reject(err) : resolve()));
    });
    this.#last.catch(() => undefined);   // awaited by flush; an error also destroys the pack
    this.#bytes += body.length;
    if (++this.#entries >= BATCH_ENTRIES || this.#bytes >= BATCH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    this.#entries = 0;
    this.#bytes = 0;
    await this.#last;
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
async function openNoFollow(path: string, seen: Stats): Promise<Readable> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.ino !== seen.ino || st.dev !== seen.dev || st.size !== seen.size) {
      throw new Error(`${path} changed while the layer was being written`);
    }
  } catch (err) {
    await handle.close();
    throw err;
  }
  return handle.createReadStream();
}

/** A small file's bytes, read with the same checks as openNoFollow. */
function readSmallNoFollow(path: string, seen: Stats): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.ino !== seen.ino || st.dev !== seen.dev || st.size !== seen.size) {
      throw new Error(`${path} changed while the layer was being written`);
    }
    const body = Buffer.allocUnsafe(seen.size);
    for (let off = 0; off < body.length;) {
      const n = readSync(fd, body, off, body.length - off, off);
      if (n === 0) throw new Error(`${path} changed while the layer was being written`);
      off += n;
    }
    return body;
  } finally {
    closeSync(fd);
  }
}

// tar-stream writes PAX values as UTF-8 text, so only xattrs whose value survives that are carried (binary values,
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

// tar-stream replaces a falsy mode with 0644/0755, which would turn a mode-000 file (RHEL's /etc/shadow) readable.
// It masks the mode with 07777 when it encodes, so a bit above that keeps 0 as 0.
function tarMode(perm: number): number {
  return perm | 0o100000;
}

function major(dev: number): number {
  return ((dev >> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
}

function minor(dev: number): number {
  return (dev & 0xff) | ((dev >> 12) & 0xfff00);
}
