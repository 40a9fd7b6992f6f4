import { lstatSync, readdirSync } from 'node:fs';

/**
 * The lstat fields a copy or a content key reads from an entry: what `fs.BigIntStats` has under the same names, so
 * an lstat result is one too.
 */
export interface EntryStat {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly mode: bigint;
  readonly nlink: bigint;
  readonly uid: bigint;
  readonly gid: bigint;
  readonly rdev: bigint;
  readonly size: bigint;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}

/** Per entry in `#ids`: dev, ino, mode, nlink, uid, gid, rdev, size; in `#times`: atime, mtime, ctime (ns). */
const IDS = 8;
const TIMES = 3;

/**
 * One directory's entries, names sorted (by UTF-16 code units, as `Array.prototype.sort`), with their lstat packed
 * into two typed arrays: ~90 bytes an entry instead of a `BigIntStats` (18 BigInts, ~600 bytes of V8 heap). A build
 * keeps the listing of every directory of its context for its whole life (walk.ts StatMemo), so for a 20,000-file
 * context this is ~2 MiB instead of ~12 MiB held under every later phase. `stat(i)` is a small view over it.
 */
export class DirListing implements Iterable<{ name: string; stat: EntryStat }> {
  readonly names: readonly string[];
  readonly #ids: BigUint64Array;
  readonly #times: BigInt64Array;
  readonly #idBytes: Buffer;
  readonly #timeBytes: Buffer;

  private constructor(names: readonly string[], ids: BigUint64Array, times: BigInt64Array) {
    this.names = names;
    this.#ids = ids;
    this.#times = times;
    this.#idBytes = Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength);
    this.#timeBytes = Buffer.from(times.buffer, times.byteOffset, times.byteLength);
  }

  /** Lists and lstat's the directory `abs` synchronously (see walk.ts for why synchronously). */
  static read(abs: string): DirListing {
    const names = readdirSync(abs).sort();
    const prefix = abs.endsWith('/') ? abs : `${abs}/`;
    const ids = new BigUint64Array(names.length * IDS);
    const times = new BigInt64Array(names.length * TIMES);
    for (const [i, name] of names.entries()) {
      const st = lstatSync(prefix + name, { bigint: true });
      const at = i * IDS;
      ids[at] = st.dev; ids[at + 1] = st.ino; ids[at + 2] = st.mode; ids[at + 3] = st.nlink;
      ids[at + 4] = st.uid; ids[at + 5] = st.gid; ids[at + 6] = st.rdev; ids[at + 7] = st.size;
      const t = i * TIMES;
      times[t] = st.atimeNs; times[t + 1] = st.mtimeNs; times[t + 2] = st.ctimeNs;
    }
    return new DirListing(names, ids, times);
  }

  get length(): number { return this.names.length; }

  /** The lstat of entry `i` (a view: allocates only the BigInts a caller reads). */
  stat(i: number): EntryStat {
    if (i < 0 || i >= this.names.length) throw new RangeError(`no entry ${i} in a listing of ${this.names.length}`);
    return new PackedStat(this, this.#ids, this.#times, i);
  }

  /** Copies entry `i`'s STAT_KEY_BYTES into `out` at `at` (see writeStatKey), straight from the packed bytes. */
  copyStatKey(i: number, out: Buffer, at: number): void {
    const id = i * IDS * 8;
    this.#idBytes.copy(out, at, id, id + 24);                // dev, ino, mode (nlink left out)
    this.#idBytes.copy(out, at + 24, id + 32, id + 64);      // uid, gid, rdev, size
    const t = i * TIMES * 8;
    this.#timeBytes.copy(out, at + 56, t + 8, t + 24);       // mtime, ctime (atime left out)
  }

  /** The index of `name`, or -1 (binary search over the sorted names). */
  indexOf(name: string): number {
    let lo = 0;
    let hi = this.names.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const at = this.names[mid] ?? '';
      if (at === name) return mid;
      if (at < name) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
  }

  *[Symbol.iterator](): Iterator<{ name: string; stat: EntryStat }> {
    for (let i = 0; i < this.names.length; i++) yield { name: this.names[i] ?? '', stat: this.stat(i) };
  }
}

const S_IFMT = 0o170000;

/**
 * What a stat key of an entry holds, 8 bytes each, little-endian (the typed arrays' host order on the x86-64 and arm64
 * hosts tsbuild runs on): dev, ino, mode, uid, gid, rdev, size, mtime ns,
 * ctime ns. Everything a content digest reads from an entry's lstat, and what changes when its content does; not
 * atime (a read changes it) nor nlink.
 */
export const STAT_KEY_BYTES = 72;

/** The fields a stat key is made of. */
export type StatKeySource = Pick<EntryStat, 'dev' | 'ino' | 'mode' | 'uid' | 'gid' | 'rdev' | 'size' | 'mtimeNs' | 'ctimeNs'>;

/** Writes `st`'s stat key (STAT_KEY_BYTES) into `out` at `at`: no BigInt made for an entry of a DirListing. */
export function writeStatKey(st: StatKeySource, out: Buffer, at: number): void {
  if (st instanceof PackedStat) {
    st.listing.copyStatKey(st.index, out, at);
    return;
  }
  const fields = [st.dev, st.ino, st.mode, st.uid, st.gid, st.rdev, st.size];
  for (const [n, v] of fields.entries()) out.writeBigUInt64LE(v, at + n * 8);
  out.writeBigInt64LE(st.mtimeNs, at + 56);
  out.writeBigInt64LE(st.ctimeNs, at + 64);
}

const KEY = Buffer.alloc(STAT_KEY_BYTES);
const KEY_TEXT = Buffer.alloc(40);

/**
 * The identity of `st`'s content as text (base64 of dev, ino, size, mtime ns, ctime ns: 56 characters): the hash
 * cache's key of a file's content and the incremental COPY's fingerprint of a source file. ctime changes on every
 * write and cannot be set back by a user. One string, no BigInt or string per field.
 */
export function statKeyText(st: StatKeySource): string {
  writeStatKey(st, KEY, 0);
  KEY.copy(KEY_TEXT, 0, 0, 16);      // dev, ino
  KEY.copy(KEY_TEXT, 16, 48, 72);    // size, mtime, ctime
  return KEY_TEXT.toString('base64');
}

class PackedStat implements EntryStat {
  readonly listing: DirListing;
  readonly index: number;
  readonly #ids: BigUint64Array;
  readonly #times: BigInt64Array;
  readonly #i: number;
  /** The file type bits as a number: the type checks need no BigInt. */
  readonly #type: number;

  constructor(listing: DirListing, ids: BigUint64Array, times: BigInt64Array, i: number) {
    this.listing = listing;
    this.index = i;
    this.#ids = ids;
    this.#times = times;
    this.#i = i;
    this.#type = Number(ids[i * IDS + 2] ?? 0n) & S_IFMT;
  }

  #id(field: number): bigint { return this.#ids[this.#i * IDS + field] ?? 0n; }
  #time(field: number): bigint { return this.#times[this.#i * TIMES + field] ?? 0n; }

  get dev(): bigint { return this.#id(0); }
  get ino(): bigint { return this.#id(1); }
  get mode(): bigint { return this.#id(2); }
  get nlink(): bigint { return this.#id(3); }
  get uid(): bigint { return this.#id(4); }
  get gid(): bigint { return this.#id(5); }
  get rdev(): bigint { return this.#id(6); }
  get size(): bigint { return this.#id(7); }
  get atimeNs(): bigint { return this.#time(0); }
  get mtimeNs(): bigint { return this.#time(1); }
  get ctimeNs(): bigint { return this.#time(2); }
  isDirectory(): boolean { return this.#type === 0o040000; }
  isFile(): boolean { return this.#type === 0o100000; }
  isSymbolicLink(): boolean { return this.#type === 0o120000; }
  isFIFO(): boolean { return this.#type === 0o010000; }
  isCharacterDevice(): boolean { return this.#type === 0o020000; }
  isBlockDevice(): boolean { return this.#type === 0o060000; }
}
