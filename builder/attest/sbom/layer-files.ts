import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import tar from 'tar-stream';
import type { Descriptor, Digest } from '../../../registry/oci/index.js';

// The SBOM reads a handful of package-database files out of the image without mounting it: a rootfs built from
// someone else's Dockerfile may hold symlinks pointing anywhere on the host, and a scanner that opened paths in a
// mounted tree would follow them. Here the layer tars are streamed from the content store and applied in memory as
// an index path → (layer, bytes): whiteouts (`.wh.name`) and opaque markers (`.wh..wh..opq`) remove what lower
// layers put there (image-spec layer.md), a symlink or directory never counts as a file, and only regular files that
// `wanted` selects are kept, each up to `maxFileBytes`.

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

interface Kept { layer: number; bytes: Buffer }

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

function removeUnder(files: Map<string, Kept>, dir: string, belowLayer: number, self: boolean): void {
  for (const [path, kept] of files) {
    if (kept.layer >= belowLayer) continue;
    if ((self && path === dir) || dir === '' || path.startsWith(`${dir}/`)) files.delete(path);
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
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const path = cleanPath(header.name);
      const done = (): void => { stream.on('end', () => next()); stream.resume(); };
      if (path === undefined || path === '') { done(); return; }
      const slash = path.lastIndexOf('/');
      const dir = slash < 0 ? '' : path.slice(0, slash);
      const base = path.slice(slash + 1);
      if (base === '.wh..wh..opq') { removeUnder(files, dir, layer, false); done(); return; }
      if (base.startsWith('.wh.')) {
        const gone = dir === '' ? base.slice(4) : `${dir}/${base.slice(4)}`;
        removeUnder(files, gone, layer, true);
        done();
        return;
      }
      // Anything but a directory at a path replaces what was there, and everything under it.
      if (header.type !== 'directory') removeUnder(files, path, layer + 1, true);
      else if ((files.get(path)?.layer ?? layer) < layer) files.delete(path);
      const size = header.size ?? 0;
      if (header.type !== 'file' || !wanted(path)) { done(); return; }
      if (size > limits.maxFileBytes || total + size > limits.maxTotalBytes) { skipped.add(path); done(); return; }
      const chunks: Buffer[] = [];
      let got = 0;
      stream.on('data', (chunk: unknown) => {
        const c = chunk as Buffer;
        got += c.length;
        if (got <= limits.maxFileBytes) chunks.push(c);
      });
      stream.on('end', () => {
        // The header's size is what the tar says; the bytes counted are what it held.
        if (got <= limits.maxFileBytes) {
          files.set(path, { layer, bytes: Buffer.concat(chunks) });
          total += got;
          skipped.delete(path);
        }
        next();
      });
    });
    const source = await blobs.read(desc.digest);
    const unpack = decompressor(desc.mediaType);
    if (unpack) await pipeline(source, unpack, extract, ...(signal ? [{ signal }] : []));
    else await pipeline(source, extract, ...(signal ? [{ signal }] : []));
  }
  return { files: new Map([...files].map(([p, k]) => [p, k.bytes])), skipped: [...skipped].sort() };
}
