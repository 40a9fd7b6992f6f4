import { endianness } from 'node:os';

// The code cache a startup snapshot blob carries for node's own modules, and what of it a process started from the
// blob can ever use. Read by `make build` (build-snapshot.mjs, after tsc) to write the blob without the rest.
//
// `node --build-snapshot` appends to the V8 heap a code cache for EVERY builtin module of node (~390, 4 MB with
// node 24), which node reads at each start, zero-fills and copies twice (SnapshotData::FromFile, FromBlob): with 4 KiB
// pages, ~1,300 of a start's ~12,000 page faults. A builtin that was loaded while the blob was built is already
// compiled and evaluated in the heap; node never compiles it again in that process, so its cache is never read. Only
// the caches of builtins loaded later (node:sqlite, node:crypto, node:http… behind the lazy stand-ins) are kept.
// node offers no option for this: its `withoutCodeCache` also drops the bytecode of every function in the heap (V8's
// FunctionCodeHandling::kClear), which the profiled blob exists to keep.
//
// The layout is node's (src/node_snapshotable.cc, SnapshotData::ToBlob; sizes are size_t, so 64-bit little-endian
// here): magic, metadata, V8's startup data, the isolate's and the environment's serialize info (whose realm part
// lists the builtins loaded in the heap), then the code cache vector. It is node's internal format, not an API: the
// reader checks every length against the blob and that the code cache ends exactly at the blob's end, and throws
// (SnapshotBlobError) at the first thing it does not expect; build-snapshot.mjs then keeps the blob as node wrote it.

/** A blob this reader does not understand: `offset` is where. */
export class SnapshotBlobError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} (at byte ${offset} of the snapshot blob)`);
    this.name = 'SnapshotBlobError';
  }
}

/** The architectures of node's 64-bit builds (ppc64 is little-endian on Linux; endianness is checked anyway). */
const SIXTY_FOUR_BIT = new Set(['x64', 'arm64', 'ppc64', 'riscv64', 'loong64', 's390x']);
/** node's SnapshotData::kMagic. */
const MAGIC = 0x0143da19;
/** A builtin's id, as node names them ("fs", "internal/bootstrap/realm"). */
const BUILTIN_ID = /^[A-Za-z0-9_./-]+$/;

export interface CodeCacheEntry {
  /** The builtin's id. */
  readonly id: string;
  /** Where the entry (its id's length, id, data's length and data) starts and ends in the blob. */
  readonly start: number;
  readonly end: number;
}

export interface BlobLayout {
  /** The node version the blob names (node refuses a blob of another version). */
  readonly nodeVersion: string;
  /** The builtins loaded (compiled and evaluated) in the blob's heap. */
  readonly builtinsInHeap: readonly string[];
  /** Where the code cache vector (its count, then the entries) starts. */
  readonly codeCacheStart: number;
  readonly codeCache: readonly CodeCacheEntry[];
}

class Reader {
  offset = 0;
  constructor(private readonly blob: Buffer) {}

  private need(n: number): number {
    if (n > this.blob.length - this.offset) throw new SnapshotBlobError(`${n} bytes wanted, ${this.blob.length - this.offset} left`, this.offset);
    const at = this.offset;
    this.offset += n;
    return at;
  }
  u8(): number { return this.blob.readUInt8(this.need(1)); }
  u32(): number { return this.blob.readUInt32LE(this.need(4)); }
  i32(): number { return this.blob.readInt32LE(this.need(4)); }
  /** A size_t: a length or an index, never beyond the blob. */
  size(): number {
    const at = this.offset;
    const v = this.blob.readBigUInt64LE(this.need(8));
    if (v > BigInt(this.blob.length)) throw new SnapshotBlobError(`a size of ${v}, larger than the blob`, at);
    return Number(v);
  }
  skip(n: number): void { this.need(n); }
  string(): string {
    const n = this.size();
    return this.blob.toString('latin1', this.need(n), this.offset);
  }
  vector<T>(element: () => T): T[] {
    const n = this.size();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(element());
    return out;
  }
  /** A PropInfo: name, id (uint32), index (size_t). */
  propInfo(): void { this.string(); this.u32(); this.size(); }
  get done(): boolean { return this.offset === this.blob.length; }
}

/** Reads where a blob's parts are; throws SnapshotBlobError for a blob it does not understand. */
export function readBlobLayout(blob: Buffer): BlobLayout {
  const r = new Reader(blob);
  const magic = r.u32();
  if (magic !== MAGIC) throw new SnapshotBlobError(`magic 0x${magic.toString(16)}, not node's 0x${MAGIC.toString(16)}`, 0);
  r.u8();                                   // the snapshot's type
  const nodeVersion = r.string();
  r.string();                               // arch
  r.string();                               // platform
  r.u32();                                  // flags
  const v8Size = r.i32();
  if (v8Size <= 0) throw new SnapshotBlobError(`V8's startup data of ${v8Size} bytes`, r.offset - 4);
  r.skip(v8Size);
  // IsolateDataSerializeInfo: primitive values, template values.
  r.vector(() => r.size());
  r.vector(() => r.propInfo());
  // EnvSerializeInfo: async hooks (three buffer indices, one snapshot index, a vector of them), tick info, immediate
  // info, timeout info, performance state (three), exit info, stream base state, the abort toggle, then the realm.
  for (let i = 0; i < 4; i++) r.size();
  r.vector(() => r.size());
  for (let i = 0; i < 9; i++) r.size();
  const builtinsInHeap = r.vector(() => r.string());
  r.vector(() => r.propInfo());             // persistent values
  r.vector(() => r.propInfo());             // native objects
  r.size();                                 // the realm's context
  const codeCacheStart = r.offset;
  const codeCache = r.vector((): CodeCacheEntry => {
    const start = r.offset;
    const id = r.string();
    if (!BUILTIN_ID.test(id)) throw new SnapshotBlobError(`a code cache entry named ${JSON.stringify(id.slice(0, 40))}`, start);
    r.skip(r.size());
    return { id, start, end: r.offset };
  });
  if (!r.done) throw new SnapshotBlobError(`trailing bytes after the code cache (${blob.length - r.offset})`, r.offset);
  for (const id of builtinsInHeap) {
    if (!BUILTIN_ID.test(id)) throw new SnapshotBlobError(`a builtin named ${JSON.stringify(id.slice(0, 40))} in the heap`, codeCacheStart);
  }
  return { nodeVersion, builtinsInHeap, codeCacheStart, codeCache };
}

export interface TrimmedBlob {
  readonly blob: Buffer;
  /** The code cache entries dropped and kept, and the bytes dropped. */
  readonly dropped: number;
  readonly kept: number;
  readonly droppedBytes: number;
}

/**
 * The blob without the code cache of the builtins already loaded in its heap (see the top of this file). The V8
 * startup data and everything before the code cache stay byte for byte. Throws SnapshotBlobError for a blob it does
 * not understand, and on a machine whose size_t is not 64-bit little-endian.
 */
export function withoutLoadedBuiltinsCodeCache(blob: Buffer): TrimmedBlob {
  if (!SIXTY_FOUR_BIT.has(process.arch) || endianness() !== 'LE') {
    throw new SnapshotBlobError(`a blob of ${process.arch} (${endianness()}) is not read here: only 64-bit little-endian`, 0);
  }
  const layout = readBlobLayout(blob);
  const inHeap = new Set(layout.builtinsInHeap);
  const kept = layout.codeCache.filter((e) => !inHeap.has(e.id));
  const count = Buffer.alloc(8);
  count.writeBigUInt64LE(BigInt(kept.length));
  const parts = [blob.subarray(0, layout.codeCacheStart), count, ...kept.map((e) => blob.subarray(e.start, e.end))];
  const out = Buffer.concat(parts);
  return { blob: out, dropped: layout.codeCache.length - kept.length, kept: kept.length, droppedBytes: blob.length - out.length };
}
