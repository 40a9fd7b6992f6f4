import { readlinkSync } from 'node:fs';
import path from 'node:path';
import type { ProgressSink } from '../../solver/index.js';
import { inRootPath } from '../confined/index.js';
import type { EntryMeta, RootSession } from '../confined/index.js';
import type { ModeMapper } from './chmod.js';
import { FINGERPRINT_BYTES, FileRecords, writeFingerprint } from './copy-history.js';
import type { EntryStat } from './dir-listing.js';
import type { Owner } from './chown.js';
import { throwIfAborted } from './errors.js';

/** How copied entries get their metadata. */
export interface WriteOptions {
  /** --chown: every copied entry and every created parent directory gets it. */
  owner: Owner | undefined;
  /** Keep the source's uid/gid when there is no --chown (BuildKit does for COPY --from; the context is 0:0). */
  keepIds: boolean;
  /** --chmod; undefined keeps the source modes. */
  mode: ModeMapper | undefined;
  /**
   * Copy the xattrs of symlinks and device nodes too (COPY --from): fsutil's copy sets every entry's, but BuildKit's
   * context transfer reads only directories' and regular files' (fsutil Stat), so from the context they have none.
   */
  isLinkXattrsKept?: boolean;
  signal: AbortSignal;
  progress: ProgressSink;
}

/**
 * An incremental COPY: `previous` is what the last result of the same COPY wrote (CopyRecord.files); the writer links
 * those files from it (RootSession.inherit) and records what it writes itself, for the next one.
 */
export interface WriterHistory { previous: FileRecords | undefined }

/** The fingerprint of the file being written (one at a time: putRel is synchronous up to its return). */
const PRINT = Buffer.alloc(FINGERPRINT_BYTES);
const EMPTY = Buffer.alloc(0);

/**
 * Writes copied entries into a root through one confined writer (worker/confined): directories, files (copied
 * kernel-side by the C side from the source root, never through JS buffers), symlinks, hardlinks and device nodes,
 * with owner, mode and mtime set on the open fd. Everything goes through one process in order, so two sources never
 * write one destination at the same time; directory mtimes are set by the writer at the end, deepest first.
 */
export class TreeWriter {
  readonly #session: RootSession;
  readonly #opts: WriteOptions;
  readonly #links = new Map<string, string>();
  #files = 0;
  readonly #history: WriterHistory | undefined;
  /** What this copy wrote (regular files by path in the root, with their fingerprints), when a history is kept. */
  readonly #written = FileRecords.empty();
  /** Non-directory paths written so far: one written twice makes the record unusable (which write won?). */
  readonly #seen = new Set<string>();
  #isRecordable = true;

  constructor(session: RootSession, opts: WriteOptions, history?: WriterHistory) {
    this.#session = session;
    this.#opts = opts;
    this.#history = history;
  }

  /**
   * The directory a copied directory's contents go to. An existing directory (symlinks followed inside the root) is
   * used as it is; a missing one is created 0755 (or as --chmod makes 0755), owned by --chown or root (not by its
   * source, even in COPY --from), its parents 0755: BuildKit's copy makes the destination before copying into it and
   * leaves its metadata alone, so only the directories under it take their sources' modes and owners. A context made
   * by `mktemp -d` (0700) still gives `COPY . /app` a /app the image's other users can read. `isCopied`: the directory is itself one of the copied entries (COPY
   * --parents, which BuildKit copies from the source root with the matched paths included): its source's metadata.
   */
  dirTarget(containerPath: string, source: EntryStat, sourceRel: string, isCopied = false): void {
    const rel = inRootPath(containerPath);
    if (rel === '') return;   // the root exists and keeps its own metadata
    this.#session.dir(rel, true);
    if (isCopied) this.#session.xattrsFrom(sourceRel);
    const meta = this.#meta(source, 'dir');
    // fsutil's prepareTargetDir makes it with MkdirAll(target, 0755 or --chmod, --chown or root) and then only copies
    // the source's times onto it (copy.go, copier.copy: copyFileInfo is false for a directory it did not create).
    const made = { ...meta, ...(this.#opts.owner ?? { uid: 0, gid: 0 }), mode: this.#opts.mode === undefined ? 0o755 : this.#opts.mode(0o755, true) };
    this.#session.meta(isCopied ? meta : made, true);
  }

  /**
   * A directory COPY --parents keeps between the destination and a matched path, from its source directory `source`,
   * as fsutil's createParentDirs makes it: a missing one gets the source's owner and mode as every copied entry does
   * (--chown, --chmod applied) but not its times (what is created in it next sets its mtime, as it does in BuildKit);
   * an existing one only takes the source's own mode, never --chmod's, and keeps its owner (copyDirectoryOnly). A
   * missing one takes its source's xattrs too, at once (createParentDirs sets them before what goes in it).
   */
  keptDir(containerPath: string, source: EntryStat, sourceRel: string): void {
    const rel = inRootPath(containerPath);
    if (rel === '') return;
    this.#session.dir(rel, true);
    this.#session.xattrsFrom(sourceRel);
    const { uid, gid, mode } = this.#meta(source, 'dir');
    this.#session.meta({ uid, gid, mode }, true);
    this.#session.modeIfExisting(Number(source.mode));
  }

  /** Writes one entry at `containerPath` from the source entry `sourceRel` (relative to the source root). */
  async put(containerPath: string, sourceAbs: string, sourceRel: string, stat: EntryStat): Promise<void> {
    await this.putRel(inRootPath(containerPath), sourceAbs, sourceRel, stat);
  }

  /**
   * `put` at `rel`, a path the caller has already cleaned (as inRootPath makes it). Returns a promise only when the
   * caller must wait (the writer's pipe is full): a 20,000-file copy makes no promise per file.
   */
  putRel(rel: string, sourceAbs: string, sourceRel: string, stat: EntryStat): Promise<void> | undefined {
    throwIfAborted(this.#opts.signal);
    if (this.#history !== undefined && !stat.isDirectory()) {
      if (this.#seen.has(rel)) this.#isRecordable = false;
      this.#seen.add(rel);
    }
    if (stat.isDirectory()) {
      // An image symlink where the source has a directory is written through, inside the root, and keeps its meta.
      this.#session.dir(rel, true);
      this.#session.xattrsFrom(sourceRel);
      this.#session.meta(this.#meta(stat, 'dir'));
    } else if (stat.isFile()) {
      const linkKey = stat.nlink > 1n ? `${stat.dev}:${stat.ino}` : undefined;
      const first = linkKey === undefined ? undefined : this.#links.get(linkKey);
      if (first !== undefined) {
        this.#session.hardlink(rel, first);
      } else {
        const meta = this.#meta(stat, 'file');
        // A file hard-linked within the context keeps its own link group in this result: it is always copied.
        const isRecorded = this.#history !== undefined && linkKey === undefined;
        if (isRecorded) writeFingerprint(stat, meta, PRINT);
        if (isRecorded && this.#history?.previous?.has(rel, PRINT) === true) {
          this.#session.inherit(rel, sourceRel, stat.size, stat.mtimeNs);
        } else {
          this.#session.copy(rel, sourceRel);
        }
        this.#session.meta(meta);
        if (isRecorded) this.#written.add(rel, PRINT);
        if (linkKey !== undefined) this.#links.set(linkKey, rel);
        this.#files++;
        if (this.#files % 1000 === 0) this.#opts.progress.status(`copied ${this.#files} files`);
      }
    } else if (stat.isSymbolicLink()) {
      // Synchronous like the walk: one readlink is a few µs, a promise round trip cost more.
      this.#session.symlink(rel, readlinkSync(sourceAbs));
      if (this.#opts.isLinkXattrsKept === true) this.#session.xattrsFrom(sourceRel);
      this.#session.meta(this.#meta(stat, 'symlink'));
    } else if (stat.isFIFO() || stat.isCharacterDevice() || stat.isBlockDevice()) {
      this.#session.node(rel, stat.isFIFO() ? 'fifo' : stat.isCharacterDevice() ? 'char' : 'block', Number(major(stat.rdev)), Number(minor(stat.rdev)));
      if (this.#opts.isLinkXattrsKept === true) this.#session.xattrsFrom(sourceRel);
      this.#session.meta(this.#meta(stat, 'file'));
    } else {
      // A socket becomes an empty regular file with the socket's permissions, as in BuildKit: its context transfer
      // clears the socket bit (fsutil stat.go, mkstat) so the receiver writes a plain file, and COPY --from makes a
      // stub (fsutil copy/copy_nowindows.go, copyDevice: mknod without S_IFSOCK). BuildKit's testCopySocket.
      const meta = this.#meta(stat, 'file');
      return this.#session.file(rel, EMPTY).then(() => {
        this.#session.meta(meta);
        return this.#session.isFull ? this.#session.flushIfFull() : undefined;
      });
    }
    return this.#session.isFull ? this.#session.flushIfFull() : undefined;
  }

  /** How many regular files were written (copied or inherited). */
  get files(): number { return this.#files; }

  /**
   * What this copy wrote, for the next one: undefined when no history is kept or when a path was written twice.
   * The caller also drops it when the C side wrote anything through a symlink (RootSession.writeCounts).
   */
  get written(): FileRecords | undefined { return this.#history !== undefined && this.#isRecordable ? this.#written : undefined; }

  #meta(stat: EntryStat, kind: 'dir' | 'file' | 'symlink'): EntryMeta {
    const owner = this.#opts.owner ?? (this.#opts.keepIds ? { uid: Number(stat.uid), gid: Number(stat.gid) } : { uid: 0, gid: 0 });
    const source = Number(stat.mode) & 0o7777;
    const mode = kind === 'symlink' ? undefined : this.#opts.mode === undefined ? source : this.#opts.mode(source, kind === 'dir');
    return { ...owner, mode, atimeNs: stat.atimeNs, mtimeNs: stat.mtimeNs };
  }
}

/** The path of `abs` relative to the source root `root`, `/`-separated. */
export function sourceRelative(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}

function major(rdev: bigint): bigint {
  return ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
}

function minor(rdev: bigint): bigint {
  return (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
}
