import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CopyOp } from '../../frontend/index.js';
import { canonicalJson, sha256 } from '../../registry/oci/index.js';
import { STAT_KEY_BYTES, writeStatKey, type StatKeySource } from './dir-listing.js';

/**
 * What the last result of one COPY wrote: its committed snapshot, and for every regular file it wrote (by path in the
 * root) the fingerprint of that write (see writeFingerprint). Kept only for a copy whose every entry landed at its own
 * path: none written through a symlink, none written twice.
 */
export interface CopyRecord { snapshot: string; files: FileRecords }

/**
 * The bytes of a fingerprint: the source file's dev, ino, size, mtime ns, ctime ns (the stat key's fields the content
 * hash cache trusts), then the uid, gid and mode written (-1: the source's mode kept as it is).
 */
export const FINGERPRINT_BYTES = 52;

/** File header: magic, then the snapshot name's length and bytes, then the records. */
const MAGIC = Buffer.from('tsbuild copy history v2\n');
/** Records are appended into chunks of this size (a 20,000-file copy is ~1.5 MB of records). */
const CHUNK = 256 * 1024;

const KEY = Buffer.alloc(STAT_KEY_BYTES);

/**
 * Writes the fingerprint of a file copied from `source` with the owner and mode `written` into `out` at `at`
 * (FINGERPRINT_BYTES). Equal fingerprints at one path mean the previous result holds exactly the file a copy would
 * write now, mtime included (ctime changes on every write and cannot be set back by a user).
 */
export function writeFingerprint(source: StatKeySource, written: { uid: number; gid: number; mode?: number | undefined }, out: Buffer, at = 0): void {
  writeStatKey(source, KEY, 0);
  KEY.copy(out, at, 0, 16);          // dev, ino
  KEY.copy(out, at + 16, 48, 72);    // size, mtime, ctime
  out.writeUInt32LE(written.uid >>> 0, at + 40);
  out.writeUInt32LE(written.gid >>> 0, at + 44);
  out.writeInt32LE(written.mode ?? -1, at + 48);
}

/**
 * The files of one COPY result, packed: per file the length of its path (u32 LE), the path (UTF-8) and its
 * fingerprint, in the order they were written. No object or string per file: a 20,000-file record was two Maps of
 * 20,000 strings each (the last result's and the new one) and a 3 MB JSON text, all alive through the copy and the
 * layer's hash, where they grew V8's old generation and the peak RSS.
 */
export class FileRecords {
  readonly #chunks: Buffer[];
  #current: Buffer;
  #at: number;
  #count: number;
  /** Reading: where the next lookup is expected (the next copy walks in the same order as the last). */
  #cursor = 0;
  /** Reading: path → offset of its fingerprint, made on the first lookup that is not at the cursor. */
  #index: Map<string, number> | undefined;
  static readonly #scratch = Buffer.alloc(4096);

  private constructor(chunks: Buffer[], current: Buffer, at: number, count: number) {
    this.#chunks = chunks;
    this.#current = current;
    this.#at = at;
    this.#count = count;
  }

  /** An empty record set to `add` to. */
  static empty(): FileRecords {
    return new FileRecords([], Buffer.allocUnsafe(CHUNK), 0, 0);
  }

  /** The records in `bytes` (as `bytes()` made them), or undefined when they are torn. */
  static parse(bytes: Buffer): FileRecords | undefined {
    let count = 0;
    for (let at = 0; at < bytes.length; count++) {
      if (at + 4 > bytes.length) return undefined;
      at += 4 + bytes.readUInt32LE(at) + FINGERPRINT_BYTES;
      if (at > bytes.length) return undefined;
    }
    return new FileRecords([], bytes, bytes.length, count);
  }

  /** How many files. */
  get size(): number { return this.#count; }

  /** Appends `path` with the fingerprint in `print` (FINGERPRINT_BYTES from `printAt`). */
  add(path: string, print: Buffer, printAt = 0): void {
    const length = Buffer.byteLength(path);
    const need = 4 + length + FINGERPRINT_BYTES;
    if (this.#at + need > this.#current.length) {
      if (this.#at > 0) this.#chunks.push(this.#current.subarray(0, this.#at));
      this.#current = Buffer.allocUnsafe(Math.max(CHUNK, need));
      this.#at = 0;
    }
    const buf = this.#current;
    buf.writeUInt32LE(length, this.#at);
    buf.write(path, this.#at + 4, length, 'utf8');
    print.copy(buf, this.#at + 4 + length, printAt, printAt + FINGERPRINT_BYTES);
    this.#at += need;
    this.#count++;
  }

  /**
   * Whether `path` is recorded with exactly the fingerprint in `print` (a record made by `parse`). A copy asks in the
   * order the last one wrote, so the record at the cursor is checked first, with no string or map made; a path found
   * elsewhere (a file added or removed since) moves the cursor to it.
   */
  has(path: string, print: Buffer): boolean {
    const bytes = this.#current;
    const at = this.#cursor;
    if (at + 4 <= this.#at) {
      const length = bytes.readUInt32LE(at);
      if (Buffer.byteLength(path) === length && length <= FileRecords.#scratch.length) {
        FileRecords.#scratch.write(path, 0, length, 'utf8');
        if (bytes.compare(FileRecords.#scratch, 0, length, at + 4, at + 4 + length) === 0) return this.#matches(at + 4 + length, print);
      }
    }
    this.#index ??= this.#makeIndex();
    const found = this.#index.get(path);
    return found !== undefined && this.#matches(found, print);
  }

  /** Compares the fingerprint at `at` and moves the cursor past it. */
  #matches(at: number, print: Buffer): boolean {
    this.#cursor = at + FINGERPRINT_BYTES;
    return this.#current.compare(print, 0, FINGERPRINT_BYTES, at, at + FINGERPRINT_BYTES) === 0;
  }

  /** The filled bytes, in chunks. */
  bytes(): Buffer[] {
    return this.#at === 0 ? [...this.#chunks] : [...this.#chunks, this.#current.subarray(0, this.#at)];
  }

  /** Every record as [path, fingerprint in hex] (tests and debugging). */
  *entries(): Generator<[string, string]> {
    for (const chunk of this.bytes()) {
      for (let at = 0; at < chunk.length;) {
        const length = chunk.readUInt32LE(at);
        const path = chunk.toString('utf8', at + 4, at + 4 + length);
        at += 4 + length;
        yield [path, chunk.toString('hex', at, at + FINGERPRINT_BYTES)];
        at += FINGERPRINT_BYTES;
      }
    }
  }

  #makeIndex(): Map<string, number> {
    const index = new Map<string, number>();
    const bytes = this.#current;
    for (let at = 0; at < this.#at;) {
      const length = bytes.readUInt32LE(at);
      index.set(bytes.toString('utf8', at + 4, at + 4 + length), at + 4 + length);
      at += 4 + length + FINGERPRINT_BYTES;
    }
    return index;
  }
}

/**
 * The last result of each COPY from a context directory, by (op, context dir): a COPY that misses the cache starts
 * from it and links the files whose fingerprint is unchanged instead of copying them (BuildKit's diff-copy does the
 * same from the previous result). One small binary file a COPY, replaced atomically by the next result of that COPY;
 * a record whose snapshot was pruned since is simply not used (the caller checks).
 */
export class CopyHistory {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** The last recorded result of `op` on the context `contextDir`, if any. */
  async load(op: CopyOp, contextDir: string): Promise<CopyRecord | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.#file(op, contextDir));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return parseRecord(bytes);
  }

  /** Records `snapshot` (committed) as the last result of `op` on `contextDir`, with what it wrote. */
  async save(op: CopyOp, contextDir: string, record: CopyRecord): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const file = this.#file(op, contextDir);
    const tmp = `${file}.${process.pid}-${randomUUID()}.tmp`;
    try {
      const name = Buffer.from(record.snapshot, 'utf8');
      const head = Buffer.alloc(MAGIC.length + 4 + name.length);
      MAGIC.copy(head, 0);
      head.writeUInt32LE(name.length, MAGIC.length);
      name.copy(head, MAGIC.length + 4);
      const handle = await open(tmp, 'wx');
      try {
        await handle.writev([head, ...record.files.bytes()]);
      } finally {
        await handle.close();
      }
      // rename(2) is atomic: a concurrent build reads the old record or the new one. No fsync: a record lost to a
      // crash only makes the next COPY a full copy.
      await rename(tmp, file);
      // The JSON record of older versions (a full copy once, then this one).
      await rm(`${file.slice(0, -'.bin'.length)}.json`, { force: true });
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  #file(op: CopyOp, contextDir: string): string {
    return join(this.#dir, `${sha256(canonicalJson({ v: 1, op, contextDir })).slice('sha256:'.length)}.bin`);
  }
}

/** Our own file, checked: an old format or a torn file reads as no record. */
function parseRecord(bytes: Buffer): CopyRecord | undefined {
  if (bytes.length < MAGIC.length + 4 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const length = bytes.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4 + length;
  if (start > bytes.length) return undefined;
  const files = FileRecords.parse(bytes.subarray(start));
  return files === undefined ? undefined : { snapshot: bytes.toString('utf8', MAGIC.length + 4, start), files };
}
