import { nameOf, showName } from '../../common/index.js';
import type { FsName } from '../../common/index.js';
import { decodePax, safeInteger, tarNumber, TarReadError, type PaxFields } from './tar-fields.js';
import type { TarEntryType } from './tar-header.js';
import { ChunkInput } from './chunk-input.js';

// Our own tar reader, because the Node tar libraries (tar-stream, node-tar) decode names, link names and PAX values
// as UTF-8 text: a file named `caf\xe9` (Latin-1) came out as `caf\uFFFD` (and two such names could collide), and a
// binary xattr value (security.capability with cap_setfcap: bytes >= 0x80) was lost. Names on Linux are bytes, and
// Go's archive/tar, which containerd and docker unpack layers with, keeps them byte for byte; so does this reader
// (names as FsName: common/byte-names.ts). Where the formats leave a choice it does what Go's reader does, so a layer
// unpacks here as it does there; each such choice is noted where it is made.
//
// Memory: a body is handed out as views (`subarray`) of the input's own chunks, never copied. The reader never writes
// into them, so a chunk stays as it is for as long as the input leaves it alone; Node streams (zlib, fs, a child's
// stdout) give a new Buffer for every chunk, so a consumer may keep body chunks (RootSession.file queues them until
// its next flush). Headers are decoded into the consumer's own values: names that are bytes and xattr values are
// copies, never views of a header block.

/** What an entry is: the types the layer writer knows, 'contiguous-file' (type '7', a regular file), or 'unknown'. */
export type TarReadType = TarEntryType | 'contiguous-file' | 'unknown';

/** One entry's header, decoded. Everything in it is the consumer's to keep. */
export interface TarEntryHeader {
  name: FsName;
  /** The link target of a symlink or hard link; '' when there is none. */
  linkname: FsName;
  type: TarReadType;
  /** The type flag as written ('0', '5', 'V' …): what an 'unknown' entry is, for messages. */
  typeflag: string;
  /** The mode field as written (permission bits, sometimes with the file type bits too). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of the body: 0 for types that have none (directories, links, devices, fifos), whatever the field says. */
  size: number;
  /** Nanoseconds since the epoch: the PAX `mtime` record with its fraction when there is one, else whole seconds. */
  mtimeNs: bigint;
  /** The PAX `atime` record, when there is one (GNU tar --format=posix writes it; ustar has no field for it). */
  atimeNs?: bigint;
  devmajor: number;
  devminor: number;
  /** `SCHILY.xattr.<name>` PAX records in the order written (the last one of a name wins), values as their bytes. */
  xattrs: Array<[string, Buffer]>;
  /** Where the entry's own header block starts in the archive (after any PAX or GNU long-name headers). */
  offset: number;
}

/** One entry: its header and its body, exactly `header.size` bytes, which the reader skips if it is not read. */
export interface TarEntry {
  header: TarEntryHeader;
  /** Readable while the entry is the current one: once the next entry is asked for, reading it throws. */
  body: AsyncIterable<Buffer>;
}

export { TarReadError };

const BLOCK = 512;
/** Go's maxSpecialFileSize: a PAX header or GNU long name over 1 MiB is refused rather than held in memory. */
const MAX_SPECIAL = 1 << 20;
// Types whose body is empty whatever the size field says (Go's isHeaderOnlyType: a hard link's size is its target's).
const HEADER_ONLY = new Set<TarReadType>(['link', 'symlink', 'character-device', 'block-device', 'directory', 'fifo']);
const TYPES: Record<string, TarReadType> = {
  '0': 'file', '\0': 'file', '1': 'link', '2': 'symlink', '3': 'character-device', '4': 'block-device', '5': 'directory',
  '6': 'fifo', '7': 'contiguous-file',
};

/**
 * The entries of a tar archive (`input`: its bytes, decompressed), one at a time: ustar (with its 155-byte name
 * prefix), GNU (long names 'L' and link names 'K', base-256 numbers) and PAX ('x' records; 'g' global headers are read
 * and dropped, as containerd and docker drop the entry Go's reader gives for one). The input is read to its end,
 * also past the end of the archive (a layer's diffId covers every byte). GNU sparse files are refused: image layers
 * never hold them.
 */
export async function* readTar(input: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<TarEntry, void, undefined> {
  const src = new ChunkInput(input);
  const scratch = Buffer.allocUnsafe(BLOCK);   // a header block split across two chunks is put together here
  let current: Current | undefined;
  try {
    for (;;) {
      if (current !== undefined) await finish(src, current);
      const header = await nextHeader(src, scratch);
      if (header === undefined) break;
      const entry: Current = { header, left: header.size, isCurrent: true };
      current = entry;
      yield { header, body: body(src, entry) };
    }
    await src.drain();
  } finally {
    if (current !== undefined) current.isCurrent = false;
    await src.close();
  }
}

/** True when `block` (the first 512 bytes of a file) is a tar header: its checksum matches, and it is not all zero. */
export function isTarHeader(block: Buffer): boolean {
  return block.length >= BLOCK && checksum(block.subarray(0, BLOCK)) === 'valid';
}

interface Current { header: TarEntryHeader; left: number; isCurrent: boolean }

async function* body(src: ChunkInput, entry: Current): AsyncGenerator<Buffer, void, undefined> {
  const stale = (): Error => new Error(`the body of tar entry "${showName(entry.header.name)}" was read after the next entry was asked for`);
  if (!entry.isCurrent) throw stale();
  while (entry.left > 0) {
    if (!entry.isCurrent) throw stale();
    const piece = await src.piece(entry.left);
    if (piece.length === 0) throw cutShort(entry, src.offset);
    entry.left -= piece.length;
    yield piece;
  }
}

/** Skips what the consumer left of the current entry's body, and the padding to the next block. */
async function finish(src: ChunkInput, entry: Current): Promise<void> {
  entry.isCurrent = false;
  if (entry.left > 0) {
    const skipped = await src.skip(entry.left);
    entry.left -= skipped;
    if (entry.left > 0) throw cutShort(entry, src.offset);
  }
  const pad = padding(entry.header.size);
  if (pad > 0 && await src.skip(pad) < pad) {
    throw new TarReadError(`truncated archive: it ends in the padding after entry "${showName(entry.header.name)}" (header at byte ${entry.header.offset})`, src.offset, entry.header.name);
  }
}

function cutShort(entry: Current, at: number): TarReadError {
  const h = entry.header;
  return new TarReadError(`truncated archive: it ends at byte ${at}, in the body of entry "${showName(h.name)}" (header at byte ${h.offset}), ${h.size - entry.left} of its ${h.size} bytes read`, at, h.name);
}

function padding(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

/**
 * The next entry's header, through any PAX and GNU long-name headers before it; undefined at the end of the archive:
 * two zero blocks, or (as Go's reader accepts) the end of the input right after one zero block or at a block boundary.
 */
async function nextHeader(src: ChunkInput, scratch: Buffer): Promise<TarEntryHeader | undefined> {
  let pax: PaxFields | undefined;
  let longName: Buffer | undefined;
  let longLink: Buffer | undefined;
  let metaAt = -1;
  for (;;) {
    const at = src.offset;
    const block = await readBlock(src, scratch);
    if (block === undefined) {
      if (metaAt < 0) return undefined;
      throw new TarReadError(`truncated archive: it ends after the extended header at byte ${metaAt}, before the entry it describes`, at);
    }
    const sum = checksum(block);
    if (sum === 'zero') {
      const next = await readBlock(src, scratch);
      if (next === undefined || checksum(next) === 'zero') {
        if (metaAt < 0) return undefined;
        throw new TarReadError(`truncated archive: it ends after the extended header at byte ${metaAt}, before the entry it describes`, at);
      }
      throw new TarReadError(`not a tar archive, or a damaged one: a zero block at byte ${at} is followed by a header at byte ${at + BLOCK}`, at + BLOCK);
    }
    if (sum === 'mismatch') throw new TarReadError(`not a tar archive, or a damaged one: header checksum mismatch at byte ${at}`, at);
    const flag = String.fromCharCode(block[156] ?? 0);
    switch (flag) {
      case 'x':
      case 'g': {
        const fields = decodePax(await special(src, block, at), at);
        if (flag === 'x') {
          pax = fields;
          metaAt = at;
          continue;
        }
        // A global header's records are dropped, not applied to the entries after it: Go's reader returns it as an
        // entry of its own (forgetting any extended header before it), which containerd and docker skip.
        pax = longName = longLink = undefined;
        metaAt = -1;
        continue;
      }
      case 'L':
      case 'K': {
        const raw = await special(src, block, at);
        const end = raw.indexOf(0);
        const bytes = Buffer.from(end < 0 ? raw : raw.subarray(0, end));
        if (flag === 'L') longName = bytes;
        else longLink = bytes;
        metaAt = at;
        continue;
      }
      case 'S':
        throw sparse(fieldName(block, undefined), at);
      default: {
        const header = decodeHeader(block, flag, at, pax);
        // Go prefers the GNU long names over PAX path records, for readability (reader.go).
        if (longName !== undefined) header.name = nameOf(longName);
        if (longLink !== undefined) header.linkname = nameOf(longLink);
        // Type NUL is a regular file, or a directory when the name ends in '/' (pre-POSIX tars): Go's TypeRegA.
        if (flag === '\0' && endsWithSlash(header.name)) header.type = 'directory';
        if (HEADER_ONLY.has(header.type)) header.size = 0;
        return header;
      }
    }
  }
}

/** The next 512 bytes (in `scratch` when they span two chunks); undefined at the end of the input. */
async function readBlock(src: ChunkInput, scratch: Buffer): Promise<Buffer | undefined> {
  const at = src.offset;
  const block = await src.read(BLOCK, scratch);
  if (block.length === 0) return undefined;
  if (block.length < BLOCK) throw new TarReadError(`truncated archive: it ends at byte ${src.offset}, inside the header block at byte ${at}`, src.offset);
  return block;
}

/** The body of a PAX or GNU long-name header, whole (at most 1 MiB), and the padding after it skipped. */
async function special(src: ChunkInput, block: Buffer, at: number): Promise<Buffer> {
  const size = safeInteger(tarNumber(block, 124, 12), 'size', at);
  if (size > MAX_SPECIAL) throw new TarReadError(`not a tar archive, or a damaged one: the extended header at byte ${at} is ${size} bytes (at most ${MAX_SPECIAL})`, at);
  const data = await src.read(size);
  if (data.length < size || await src.skip(padding(size)) < padding(size)) {
    throw new TarReadError(`truncated archive: it ends inside the extended header at byte ${at}`, src.offset);
  }
  return data;
}

function decodeHeader(block: Buffer, flag: string, at: number, pax: PaxFields | undefined): TarEntryHeader {
  // Go's getFormat: "ustar\0" "00" is POSIX (with "tar\0" at 508 it is star, whose prefix is shorter), "ustar " " \0"
  // is GNU (no prefix: those bytes hold times), anything else is V7 (no prefix, no device numbers).
  const isUstar = block.readUInt32BE(257) === 0x75737461 && block[261] === 0x72 && block[262] === 0 && block[263] === 0x30 && block[264] === 0x30;
  const isGnu = block.readUInt32BE(257) === 0x75737461 && block[261] === 0x72 && block[262] === 0x20 && block[263] === 0x20 && block[264] === 0;
  const isStar = isUstar && block.readUInt32BE(508) === 0x74617200;
  const hasDevices = isUstar || isGnu;
  const prefixEnd = isUstar && block[345] !== 0 ? cString(block, 345, isStar ? 131 : 155) : 0;
  const name = fieldName(block, prefixEnd > 0 ? block.subarray(345, prefixEnd) : undefined);
  const type = TYPES[flag] ?? 'unknown';
  const header: TarEntryHeader = {
    name,
    linkname: bytesName(block.subarray(157, cString(block, 157, 100))),
    type,
    typeflag: flag,
    mode: safeInteger(tarNumber(block, 100, 8), 'mode', at),
    uid: safeInteger(tarNumber(block, 108, 8), 'uid', at),
    gid: safeInteger(tarNumber(block, 116, 8), 'gid', at),
    size: safeInteger(tarNumber(block, 124, 12), 'size', at),
    mtimeNs: mtimeOf(block, at),
    devmajor: hasDevices ? safeInteger(tarNumber(block, 329, 8), 'devmajor', at) : 0,
    devminor: hasDevices ? safeInteger(tarNumber(block, 337, 8), 'devminor', at) : 0,
    xattrs: [],
    offset: at,
  };
  if (pax !== undefined) {
    if (pax.sparseKey !== undefined) throw sparse(pax.path ?? name, at);
    if (pax.path !== undefined) header.name = pax.path;
    if (pax.linkpath !== undefined) header.linkname = pax.linkpath;
    if (pax.size !== undefined) header.size = pax.size;
    if (pax.uid !== undefined) header.uid = pax.uid;
    if (pax.gid !== undefined) header.gid = pax.gid;
    if (pax.mtimeNs !== undefined) header.mtimeNs = pax.mtimeNs;
    if (pax.atimeNs !== undefined) header.atimeNs = pax.atimeNs;
    header.xattrs = pax.xattrs;
  }
  return header;
}

/**
 * The times an unpacked entry gets, as docker's and containerd's untar set them: the modification time, and the
 * access time the archive records unless that is earlier (a file is never read before it was written).
 */
export function unpackTimes(h: TarEntryHeader): { atimeNs: bigint; mtimeNs: bigint } {
  const atimeNs = h.atimeNs !== undefined && h.atimeNs > h.mtimeNs ? h.atimeNs : h.mtimeNs;
  return { atimeNs, mtimeNs: h.mtimeNs };
}

function mtimeOf(block: Buffer, at: number): bigint {
  const v = tarNumber(block, 136, 12);
  if (v === undefined) throw new TarReadError(`not a tar archive, or a damaged one: the mtime field of the header at byte ${at} is not a number`, at);
  return BigInt(v) * 1_000_000_000n;
}

/** The name field (100 bytes) with the ustar prefix before it when there is one. */
function fieldName(block: Buffer, prefix: Buffer | undefined): FsName {
  const name = block.subarray(0, cString(block, 0, 100));
  return bytesName(prefix === undefined ? name : Buffer.concat([prefix, SLASH, name]));
}

const SLASH = Buffer.from('/');

/** `bytes` as a name the consumer may keep: its text, or a copy of the bytes (never a view of a header block). */
function bytesName(bytes: Buffer): FsName {
  const name = nameOf(bytes);
  return typeof name === 'string' || name !== bytes ? name : Buffer.from(bytes);
}

/** The end of a NUL-terminated field of `len` bytes at `off` (where its NUL is, or its end). */
function cString(block: Buffer, off: number, len: number): number {
  const nul = block.indexOf(0, off);
  return nul < 0 || nul > off + len ? off + len : nul;
}

function endsWithSlash(name: FsName): boolean {
  return typeof name === 'string' ? name.endsWith('/') : name[name.length - 1] === 0x2f;
}

function sparse(name: FsName, at: number): TarReadError {
  return new TarReadError(`entry "${showName(name)}" (header at byte ${at}) is a GNU sparse file, which tsbuild does not unpack`, at, name);
}

/**
 * 'zero' for an all-zero block; 'valid' when the checksum field matches the block's byte sum with that field read as
 * spaces, summed unsigned or signed (some old tars, Sun's among them, summed signed bytes; Go accepts both).
 */
function checksum(block: Buffer): 'zero' | 'valid' | 'mismatch' {
  let unsigned = 8 * 0x20;
  let signed = 8 * 0x20;
  for (let i = 0; i < 148; i++) {
    const b = block[i] ?? 0;
    unsigned += b;
    signed += (b << 24) >> 24;
  }
  for (let i = 156; i < BLOCK; i++) {
    const b = block[i] ?? 0;
    unsigned += b;
    signed += (b << 24) >> 24;
  }
  // Only a block whose other bytes are all zero sums to the eight spaces alone; it is the end marker when its checksum
  // field is zero too.
  if (unsigned === 8 * 0x20 && block.readBigUInt64BE(148) === 0n) return 'zero';
  const stored = tarNumber(block, 148, 8);
  return stored === unsigned || stored === signed ? 'valid' : 'mismatch';
}
