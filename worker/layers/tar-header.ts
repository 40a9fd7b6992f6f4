// The header blocks of a layer tar, byte for byte as tar-stream 3 (the library tsbuild wrote layers with before)
// encodes them: ustar headers, a PAX extended header (type 'x', name "PaxHeader") when a name is not ASCII or does
// not fit the 100 + 155 byte ustar fields, when a link name is over 100 bytes, or when the entry carries PAX records
// (xattrs). Keeping the bytes identical keeps every layer digest tsbuild ever produced for the same tree.
// (Ported from tar-stream's headers.js and pack.js, MIT: https://github.com/mafintosh/tar-stream.)

/** The kinds of entry a layer tar holds. */
export type TarEntryType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

/**
 * One entry's header fields. `mode` is the permission bits (masked to 07777 when written). A name, link name or PAX
 * value given as bytes (a file name that is not UTF-8, a binary xattr: byte-names.ts) is written as those bytes, in a
 * PAX record, as Go's archive/tar writes them.
 */
export interface TarHeader {
  name: string | Buffer;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Bytes of the body (files only). */
  size: number;
  linkname?: string | Buffer | undefined;
  devmajor?: number | undefined;
  devminor?: number | undefined;
  /** PAX records (`SCHILY.xattr.*`, `mtime`), written in this order (after `uid`/`gid` when those do not fit). */
  pax?: Record<string, string | Buffer> | undefined;
}

const BLOCK = 512;
const ZEROS = '0000000000000000000';
const SEVENS = '7777777777777777777';
const USTAR = Buffer.from([0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30]);   // "ustar\0" "00"
const TYPEFLAG: Record<TarEntryType | 'pax-header', number> = {
  file: 0, link: 1, symlink: 2, 'character-device': 3, 'block-device': 4, directory: 5, fifo: 6, 'pax-header': 72,
};

/**
 * The largest uid or gid the ustar field holds as tar-stream writes it (6 octal digits and a space). tar-stream wrote
 * 777777 for a larger one, silently: a file of uid 300000 came out of the layer owned by 262143. A larger id goes to a
 * PAX `uid`/`gid` record instead, as Go's archive/tar writes an id its field cannot hold; a smaller one is written as
 * before, so no layer's bytes change.
 */
const MAX_USTAR_ID = 0o777777;

/** The header blocks for `h` (one ustar block, or a PAX header, its records and the ustar block). */
export function encodeTarHeader(header: TarHeader): Buffer {
  const ids: Record<string, string> = {};
  if (header.uid > MAX_USTAR_ID) ids['uid'] = String(header.uid);
  if (header.gid > MAX_USTAR_ID) ids['gid'] = String(header.gid);
  const h = Object.keys(ids).length > 0 ? { ...header, pax: { ...ids, ...header.pax } } : header;
  const size = h.type === 'file' ? h.size : 0;
  if (!h.pax) {
    const plain = ustar({ ...h, size }, h.name, h.linkname);
    if (plain) return plain;
  }
  const records = paxRecords(h);
  const paxHeader = ustar({ ...h, type: 'pax-header', size: records.length }, 'PaxHeader', h.linkname ? 'PaxHeader' : undefined);
  const main = ustar({ ...h, size }, 'PaxHeader', h.linkname ? 'PaxHeader' : undefined);
  if (!paxHeader || !main) throw new Error('PaxHeader does not fit a ustar header');
  return Buffer.concat([paxHeader, records, Buffer.alloc(padding(records.length)), main]);
}

/** Bytes of the end of an archive: two zero blocks (tar-stream's finalize, GNU tar and Go write them). */
export const END_OF_ARCHIVE = 2 * BLOCK;

/** Zero bytes after a body of `size` bytes up to the next 512-byte block. */
export function padding(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

type UstarFields = Omit<TarHeader, 'type' | 'name' | 'linkname' | 'pax'> & { type: TarEntryType | 'pax-header' };

// tar-stream's encode(): undefined when the name or link name does not fit (the caller then writes PAX). Bytes that
// are not UTF-8 are never ASCII: they always go to PAX.
function ustar(h: UstarFields, fullName: string | Buffer, linkname: string | Buffer | undefined): Buffer | undefined {
  if (typeof fullName !== 'string' || typeof linkname === 'object') return undefined;
  let name = fullName;
  let prefix = '';
  if (Buffer.byteLength(name) !== name.length) return undefined;   // not ASCII
  while (Buffer.byteLength(name) > 100) {
    const i = name.indexOf('/');
    if (i === -1) return undefined;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) return undefined;
  if (linkname && Buffer.byteLength(linkname) > 100) return undefined;
  const buf = Buffer.alloc(BLOCK);
  buf.write(name);
  buf.write(octal(h.mode & 0o7777, 6), 100);
  buf.write(octal(h.uid, 6), 108);
  buf.write(octal(h.gid, 6), 116);
  writeSize(h.size, buf, 124);
  buf.write(octal(h.mtime | 0, 11), 136);
  buf[156] = 0x30 + TYPEFLAG[h.type];
  if (linkname) buf.write(linkname, 157);
  USTAR.copy(buf, 257);
  buf.write(octal(h.devmajor ?? 0, 6), 329);
  buf.write(octal(h.devminor ?? 0, 6), 337);
  if (prefix) buf.write(prefix, 345);
  buf.write(octal(checksum(buf), 6), 148);
  return buf;
}

function paxRecords(h: TarHeader): Buffer {
  const records: Buffer[] = [];
  if (h.name.length > 0) records.push(paxRecord('path', h.name));
  if (h.linkname !== undefined && h.linkname.length > 0) records.push(paxRecord('linkpath', h.linkname));
  for (const [key, value] of Object.entries(h.pax ?? {})) records.push(paxRecord(key, value));
  return Buffer.concat(records);
}

// A PAX record starts with its own length in decimal, that length included: `LEN KEY=VALUE\n`.
function paxRecord(key: string, value: string | Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), typeof value === 'string' ? Buffer.from(value) : value, Buffer.from('\n')]);
  const len = body.length;
  let digits = Math.floor(Math.log(len) / Math.log(10)) + 1;
  if (len + digits >= Math.pow(10, digits)) digits++;
  return Buffer.concat([Buffer.from(String(len + digits)), body]);
}

function octal(value: number, n: number): string {
  const s = value.toString(8);
  return s.length > n ? `${SEVENS.slice(0, n)} ` : `${ZEROS.slice(0, n - s.length)}${s} `;
}

// Sizes over 8 GiB - 1 do not fit 11 octal digits: base-256, first byte 0x80.
function writeSize(size: number, buf: Buffer, off: number): void {
  if (size.toString(8).length <= 11) {
    buf.write(octal(size, 11), off);
    return;
  }
  buf[off] = 0x80;
  let n = size;
  for (let i = 11; i > 0; i--) {
    buf[off + i] = n & 0xff;
    n = Math.floor(n / 0x100);
  }
}

function checksum(block: Buffer): number {
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += block[i] ?? 0;
  for (let i = 156; i < BLOCK; i++) sum += block[i] ?? 0;
  return sum;
}
