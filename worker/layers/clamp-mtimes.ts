import { showName } from '../../common/index.js';
import { LayerError } from '../errors.js';
import { encodeTarHeader, END_OF_ARCHIVE, padding, type TarEntryType, type TarHeader } from './tar-header.js';
import { readTar, type TarEntryHeader } from './tar-reader.js';

// `rewrite-timestamp=true` re-encodes a layer that is already built. It reads the layer with readTar and writes it with
// encodeTarHeader, the pair that keeps names, link names and xattr values as bytes: a Latin-1 name (`caf\xe9`) or a
// binary security.capability value came out of tar-stream, which did this before, decoded as UTF-8 and so corrupted.
// Only the mtime changes; an entry is otherwise written as layerTar writes the same file, so a rewritten tsbuild layer
// is the layer tsbuild would have built from the same tree with those mtimes. Its xattr records stay as the layer had
// them, as BuildKit's rewrite keeps every PAX record (util/converter/tarconverter: Go's tar reader into its writer):
// a layer tsbuild built carries security.capability alone (layer-tar.ts), and base layers, whatever they carry, are
// never rewritten (export-image.ts; BuildKit's immDiffIDs).

const NS = 1_000_000_000n;
/** The largest mtime the 11 octal digits of the ustar field hold; encodeTarHeader writes whole seconds there. */
const MAX_USTAR_SECONDS = 0o77777777777n;

/**
 * The layer tar `input` (decompressed) again, with every mtime later than `epochSeconds` set to it (SOURCE_DATE_EPOCH,
 * as BuildKit's rewrite-timestamp does); bodies are passed through as they are read, never held whole.
 */
export async function* clampMtimes(input: AsyncIterable<Buffer | Uint8Array>, epochSeconds: number): AsyncGenerator<Buffer, void, undefined> {
  const limitNs = BigInt(epochSeconds) * NS;
  for await (const entry of readTar(input)) {
    const header = clampedHeader(entry.header, limitNs);
    yield withRepeatedPaths(header);
    for await (const chunk of entry.body) yield chunk;
    const pad = padding(header.size);
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(END_OF_ARCHIVE);
}

/**
 * The header blocks for `h`, with tar-stream's repeated records when they are PAX. tar-stream kept an entry's PAX
 * records and, writing it again, put `path` and `linkpath` before them: every PAX header it rewrote said both twice
 * (harmless: the last record of a key wins, in Go's reader, GNU tar and readTar). Writing them twice too keeps the
 * bytes, and so the digest, of every tsbuild layer rewritten before, whose PAX records are only path, linkpath and
 * xattrs; an entry that fits a ustar header is written as before without this.
 */
function withRepeatedPaths(h: TarHeader): Buffer {
  const blocks = encodeTarHeader(h);
  if (blocks.length === 512) return blocks;
  const repeated: Record<string, Buffer | string> = { path: h.name };
  if (h.linkname !== undefined && h.linkname.length > 0) repeated['linkpath'] = h.linkname;
  return encodeTarHeader({ ...h, pax: { ...repeated, ...h.pax } });
}

/** `h` as encodeTarHeader takes it, its mtime clamped to `limitNs`. */
function clampedHeader(h: TarEntryHeader, limitNs: bigint): TarHeader {
  const mtimeNs = h.mtimeNs > limitNs ? limitNs : h.mtimeNs;
  const pax: Record<string, Buffer | string> = {};
  // encodeTarHeader writes whole seconds in the ustar field; an mtime it cannot hold goes to a PAX record, as Go's
  // archive/tar writes it (and readTar reads it back): one with a fraction (only a layer from another builder has one:
  // tsbuild writes whole seconds) or outside the field. (A uid or gid too large for its field encodeTarHeader puts
  // in a PAX record itself.)
  let seconds = mtimeNs / NS - (mtimeNs % NS < 0n ? 1n : 0n);   // floor, also before 1970
  if (mtimeNs % NS !== 0n || seconds < 0n || seconds > MAX_USTAR_SECONDS) {
    pax['mtime'] = paxTime(mtimeNs);
    seconds = seconds < 0n ? 0n : seconds > MAX_USTAR_SECONDS ? MAX_USTAR_SECONDS : seconds;
  }
  for (const [name, value] of h.xattrs) pax[`SCHILY.xattr.${name}`] = value;
  return {
    name: h.name,
    linkname: h.linkname === '' ? undefined : h.linkname,
    type: entryType(h),
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    mtime: Number(seconds),
    size: h.size,
    devmajor: h.devmajor,
    devminor: h.devminor,
    // No records at all must be undefined, not {}: encodeTarHeader writes a PAX header for any `pax` object.
    pax: Object.keys(pax).length > 0 ? pax : undefined,
  };
}

function entryType(h: TarEntryHeader): TarEntryType {
  switch (h.type) {
    // A contiguous file (type '7') is a regular file to every unpacker; Go's reader hands it out as one and its writer
    // would write it back as '7', but encodeTarHeader knows only the types a layer tar holds, and '0' means the same.
    case 'contiguous-file': return 'file';
    case 'unknown':
      throw new LayerError(`tar entry type '${h.typeflag}' (header at byte ${h.offset}) is not one a layer holds, so its timestamps cannot be rewritten`,
        { entry: showName(h.name), hint: 'rebuild the layer without that entry, or export without rewrite-timestamp=true' });
    default: return h.type;
  }
}

// Go's formatPAXTime: seconds, then the fraction without its trailing zeros; a time before 1970 counts its fraction
// back from the seconds ("-1.5" is 1.5 s before the epoch).
function paxTime(ns: bigint): string {
  const negative = ns < 0n;
  const abs = negative ? -ns : ns;
  const fraction = (abs % NS).toString().padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${abs / NS}${fraction === '' ? '' : `.${fraction}`}`;
}
