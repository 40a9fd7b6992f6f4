import { isUtf8 } from 'node:buffer';
import { nameOf } from '../../common/index.js';
import type { FsName } from '../../common/index.js';

// The fields of a tar header block and the records of a PAX header, decoded as Go's archive/tar decodes them
// (reader.go, strconv.go): numbers in octal text or base-256, PAX records `LEN KEY=VALUE\n` with values as bytes.

/** An archive the reader cannot read: not a tar, damaged, cut short, or holding an entry it refuses (sparse files). */
export class TarReadError extends Error {
  constructor(message: string, readonly offset: number, readonly entry?: FsName) {
    super(message);
    this.name = 'TarReadError';
  }
}

const SPACE = 0x20;

/**
 * The number in the `len`-byte field at `off`; undefined when it is not one. Octal text, which writers pad with spaces
 * or NULs on either side (Go trims both), or base-256 when the first byte has its high bit set: GNU tar's way to
 * write a uid, size or mtime that does not fit the octal digits (0xff first: negative, two's complement). A base-256
 * value is a bigint when it is past 2^53.
 */
export function tarNumber(block: Buffer, off: number, len: number): number | bigint | undefined {
  const first = block[off] ?? 0;
  if ((first & 0x80) !== 0) return base256(block, off, len);
  let start = off;
  let end = off + len;
  while (start < end && (block[start] === SPACE || block[start] === 0)) start++;
  while (end > start && (block[end - 1] === SPACE || block[end - 1] === 0)) end--;
  let n = 0;
  for (let i = start; i < end; i++) {
    const digit = (block[i] ?? 0) - 0x30;
    if (digit < 0 || digit > 7) return undefined;
    n = n * 8 + digit;
  }
  return n;
}

function base256(block: Buffer, off: number, len: number): number | bigint | undefined {
  const invert = ((block[off] ?? 0) & 0x40) !== 0 ? 0xff : 0;
  let x = 0n;
  for (let i = 0; i < len; i++) {
    let c = (block[off + i] ?? 0) ^ invert;
    if (i === 0) c &= 0x7f;
    x = (x << 8n) | BigInt(c);
  }
  if (x >= 1n << 63n) return undefined;   // Go's int64 overflow check
  const value = invert === 0 ? x : -x - 1n;
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value;
}

/** A non-negative header field as a number, or a TarReadError naming the field and the header. */
export function safeInteger(value: number | bigint | undefined, field: string, at: number): number {
  if (typeof value === 'number' && value >= 0) return value;
  const what = value === undefined ? 'is not a number' : `is out of range (${value})`;
  throw new TarReadError(`not a tar archive, or a damaged one: the ${field} field of the header at byte ${at} ${what}`, at);
}

/** What a PAX extended header says about the entry after it. */
export interface PaxFields {
  path?: FsName;
  linkpath?: FsName;
  size?: number;
  uid?: number;
  gid?: number;
  mtimeNs?: bigint;
  atimeNs?: bigint;
  /** `SCHILY.xattr.<name>` records, in order; a name written twice keeps its last value. */
  xattrs: Array<[string, Buffer]>;
  /** The first GNU.sparse.* key, when there is one: the entry is a sparse file. */
  sparseKey?: string;
}

const XATTR = 'SCHILY.xattr.';

/** The records of the PAX header at byte `at`. Keywords must be UTF-8 (POSIX); values are kept as their bytes. */
export function decodePax(data: Buffer, at: number): PaxFields {
  const fields: PaxFields = { xattrs: [] };
  const xattrs = new Map<string, Buffer>();
  const bad = (why: string): TarReadError => new TarReadError(`not a tar archive, or a damaged one: the PAX header at byte ${at} ${why}`, at);
  let pos = 0;
  while (pos < data.length) {
    // Some writers pad the records with NULs; nothing but NULs may follow the last record.
    if (data[pos] === 0 && data.subarray(pos).every((b) => b === 0)) break;
    const space = data.indexOf(SPACE, pos);
    const lenText = space < 0 ? '' : data.toString('latin1', pos, space);
    const len = /^\d{1,9}$/.test(lenText) ? Number(lenText) : NaN;
    // Go: a record is at least "5 k=\n" long, ends in '\n' and fits the header.
    if (!(len >= 5 && pos + len <= data.length && space + 1 < pos + len && data[pos + len - 1] === 0x0a)) throw bad(`has a malformed record at offset ${pos}`);
    const record = data.subarray(space + 1, pos + len - 1);
    pos += len;
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw bad('has a record without a keyword');
    const keyBytes = record.subarray(0, eq);
    if (!isUtf8(keyBytes)) throw bad('has a keyword that is not UTF-8');
    const key = keyBytes.toString('utf8');
    const value = record.subarray(eq + 1);
    if (key.startsWith(XATTR)) {
      xattrs.set(key.slice(XATTR.length), Buffer.from(value));
      continue;
    }
    if (key.startsWith('GNU.sparse.')) {
      fields.sparseKey ??= key;
      continue;
    }
    switch (key) {
      case 'path':
      case 'linkpath':
        if (value.includes(0)) throw bad(`has a ${key} with a NUL byte`);
        fields[key] = nameOf(Buffer.from(value));
        break;
      case 'size':
      case 'uid':
      case 'gid': {
        const text = value.toString('latin1');
        const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
        if (!Number.isSafeInteger(n)) throw bad(`has a ${key} that is not a number: ${JSON.stringify(text)}`);
        fields[key] = n;
        break;
      }
      case 'mtime':
        fields.mtimeNs = paxTime(value.toString('latin1'), bad);
        break;
      case 'atime':
        fields.atimeNs = paxTime(value.toString('latin1'), bad);
        break;
      default:
        break;   // ctime, uname, gname, comment, hdrcharset…: nothing an unpacked file keeps
    }
  }
  fields.xattrs = [...xattrs];
  return fields;
}

// Go's parsePAXTime: seconds, then an optional fraction cut or padded to nine digits; a negative time's fraction counts
// back from its seconds.
function paxTime(text: string, bad: (why: string) => TarReadError): bigint {
  const m = /^([+-]?)(\d{1,19})(?:\.(\d*))?$/.exec(text);
  if (m === null) throw bad(`has an mtime that is not a time: ${JSON.stringify(text)}`);
  const ns = BigInt(m[2] ?? '0') * 1_000_000_000n + BigInt((m[3] ?? '').slice(0, 9).padEnd(9, '0'));
  return m[1] === '-' ? -ns : ns;
}
