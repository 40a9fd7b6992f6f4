import { isUtf8 } from 'node:buffer';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { nameBytes } from '../../../common/index.js';
import type { Descriptor, Digest } from '../../../registry/oci/index.js';
import { LayerError, readTar, TarReadError } from '../../../worker/index.js';

// The SBOM reads a handful of package-database files out of the image without mounting it: a rootfs built from
// someone else's Dockerfile may hold symlinks pointing anywhere on the host, and a scanner that opened paths in a
// mounted tree would follow them. Here the layer tars are streamed from the content store and applied in memory as
// an index path → (layer, bytes): whiteouts (`.wh.name`) and opaque markers (`.wh..wh..opq`) remove what lower
// layers put there (image-spec layer.md), a symlink or directory never counts as a file, and only regular files that
// `wanted` selects are kept, each up to `maxFileBytes`.
//
// Names are bytes (common/byte-names.ts), and the index is kept on the bytes too: each path is the latin1 string of
// its bytes, which maps byte n to char n and back, so a whiteout `.wh.caf\xe9` removes exactly `caf\xe9` and never
// `caf\uFFFD` (a UTF-8 decoder turns both into the latter). Only the result is text: a path whose bytes are not UTF-8
// has no string that names it, and no package database this scanner reads lives at one, so it is never selected.

/** Where the layers' bytes come from: the content store. */
export interface LayerBlobs {
  read(digest: Digest): Promise<Readable>;
}

/** Limits that keep a hostile image from filling memory. */
export interface ReadLimits {
  /** A selected file larger than this is skipped (and named in `skipped`). */
  maxFileBytes: number;
  /** All kept files together: beyond, further files are skipped. */
  maxTotalBytes: number;
}

/** The default limits: a Debian status file with a thousand packages is about 2 MiB. */
export const DEFAULT_LIMITS: ReadLimits = { maxFileBytes: 16 * 1024 * 1024, maxTotalBytes: 256 * 1024 * 1024 };

/** The selected files of the merged filesystem, and the ones left out for their size. */
export interface LayerFiles {
  files: Map<string, Buffer>;
  skipped: string[];
}

/** A kept file: the layer that wrote it, its path as text (for the result) and its bytes. */
interface Kept { layer: number; path: string; bytes: Buffer }

/** `name` of a tar entry as a clean relative path (`./a//b/` → `a/b`), or undefined for one that climbs out. */
export function cleanPath(name: string): string | undefined {
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') return undefined;
    parts.push(p);
  }
  return parts.join('/');
}

/** The text of an index path (latin1 of its bytes), or undefined when its bytes are not UTF-8. */
function textOf(key: string): string | undefined {
  const bytes = Buffer.from(key, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : undefined;
}

function removeUnder(files: Map<string, Kept>, dir: string, belowLayer: number, self: boolean): void {
  for (const [key, kept] of files) {
    if (kept.layer >= belowLayer) continue;
    if ((self && key === dir) || dir === '' || key.startsWith(`${dir}/`)) files.delete(key);
  }
}

function decompressor(mediaType: string): Transform | undefined {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.gzip')) return zlib.createGunzip();
  if (mediaType.endsWith('+zstd')) {
    // node:zlib has zstd since Node 22.15; the project's Node is 24.
    const create = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;
    if (!create) throw new Error('this Node has no zstd decompressor (node:zlib createZstdDecompress): use Node >= 22.15');
    return create();
  }
  return undefined;
}

/** Applies `layers` (bottom first) in memory and returns the regular files `wanted` selects, as the image shows them. */
export async function readLayerFiles(
  layers: Descriptor[], blobs: LayerBlobs, wanted: (path: string) => boolean, limits: ReadLimits = DEFAULT_LIMITS, signal?: AbortSignal,
): Promise<LayerFiles> {
  const files = new Map<string, Kept>();
  const skipped = new Set<string>();
  let total = 0;
  for (const [layer, desc] of layers.entries()) {
    // A body the loop does not read is skipped by readTar when the next entry is asked for.
    const apply = async (input: AsyncIterable<Buffer>): Promise<void> => {
      for await (const { header, body } of readTar(input)) {
        const key = cleanPath(nameBytes(header.name).toString('latin1'));
        if (key === undefined || key === '') continue;
        const slash = key.lastIndexOf('/');
        const dir = slash < 0 ? '' : key.slice(0, slash);
        const base = key.slice(slash + 1);
        if (base === '.wh..wh..opq') { removeUnder(files, dir, layer, false); continue; }
        if (base.startsWith('.wh.')) {
          const hidden = base.slice(4);
          // `.wh.` alone names no entry (applyLayer refuses it); at the top it would otherwise remove everything.
          if (hidden !== '' && hidden !== '.' && hidden !== '..') removeUnder(files, dir === '' ? hidden : `${dir}/${hidden}`, layer, true);
          continue;
        }
        // Anything but a directory at a path replaces what was there, and everything under it.
        if (header.type !== 'directory') removeUnder(files, key, layer + 1, true);
        else if ((files.get(key)?.layer ?? layer) < layer) files.delete(key);
        // Type '7' is a regular file in the image: applyLayer writes it as one.
        if (header.type !== 'file' && header.type !== 'contiguous-file') continue;
        const path = textOf(key);
        if (path === undefined || !wanted(path)) continue;
        if (header.size > limits.maxFileBytes || total + header.size > limits.maxTotalBytes) { skipped.add(path); continue; }
        // The body is exactly header.size bytes (or readTar throws: truncated), so the size checked is the size kept.
        // Its chunks are views of the input's chunks: concat copies them, so no input chunk (from gunzip, or the blob itself) stays alive.
        const chunks: Buffer[] = [];
        for await (const chunk of body) chunks.push(chunk);
        files.set(key, { layer, path, bytes: Buffer.concat(chunks, header.size) });
        total += header.size;
        skipped.delete(path);
      }
    };
    const source = await blobs.read(desc.digest);
    const unpack = decompressor(desc.mediaType);
    try {
      if (unpack) await pipeline(source, unpack, apply, ...(signal ? [{ signal }] : []));
      else await pipeline(source, apply, ...(signal ? [{ signal }] : []));
    } catch (err) {
      // The message names the entry and the byte offset already; the layer is what it cannot say.
      if (err instanceof TarReadError) throw new LayerError(`cannot read the layer for the SBOM: ${err.message}`, { layer: desc.digest, cause: err });
      throw err;
    }
  }
  return { files: new Map([...files.values()].map((k) => [k.path, k.bytes])), skipped: [...skipped].sort() };
}
