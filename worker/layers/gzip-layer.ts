import { MediaType } from '../../registry/oci/index.js';
import type { Descriptor, Digest } from '../../registry/oci/index.js';
import type { FileContentStore } from '../content/store.js';
import { changedLayer, isChangedLayer } from './lazy-layers.js';
import { LAYER_COMPRESSOR, gzipInto } from './parallel-gzip.js';

/** A layer as a filesystem lists it: its blob and the sha256 of its uncompressed tar. */
export interface LayerBlob { descriptor: Descriptor; diffId: Digest }

/** The variant name (store.ts `variant`) under which a layer's gzip blob is remembered. */
const GZIP_VARIANT = `gzip:${LAYER_COMPRESSOR}`;

/** True for a layer stored as a plain tar: what exportLayer writes for the steps of a build (diff.ts). */
export function isUncompressedLayer(desc: Descriptor): boolean {
  return desc.mediaType === MediaType.ociLayerTar;
}

/**
 * The gzip blob of an uncompressed layer, made once with the build's own compressor (parallel-gzip.ts, level 1 on
 * every core) and remembered in the store's variants: layers stay plain tars while the build runs and are
 * compressed only when they leave it (an image, a push, a cache export), giving the same bytes as when every step
 * gzipped its layer. Any other layer is returned as it is.
 */
export async function gzipLayer(store: FileContentStore, layer: LayerBlob, signal?: AbortSignal): Promise<LayerBlob> {
  if (!isUncompressedLayer(layer.descriptor)) return layer;
  const source = layer.descriptor.digest;
  const annotations = layer.descriptor.annotations ? { annotations: layer.descriptor.annotations } : {};
  const gzipped = (blob: { digest: Digest; size: number }): LayerBlob => ({
    descriptor: { mediaType: MediaType.ociLayerGzip, digest: blob.digest, size: blob.size, ...annotations }, diffId: layer.diffId,
  });
  const known = await store.variant(source, GZIP_VARIANT);
  if (known !== undefined) return gzipped(known);
  const ingest = await store.ingest(`gzip-${source}`);
  try {
    if (layer.diffId === EMPTY_TAR_DIFF_ID) await ingest.writeChunk(EMPTY_TAR_GZIP);
    else await gzipFromStore(store, layer, (chunk) => ingest.writeChunk(chunk), signal);
    const blob = await ingest.commit();
    await store.putVariant(source, GZIP_VARIANT, { digest: blob.digest, size: blob.size });
    return gzipped(blob);
  } catch (err) {
    await ingest.abort();
    throw err;
  }
}

/**
 * Deflates the layer's tar from the store into `write`, checking it against the layer's diffId. A lazy layer
 * (diff.ts) is gzipped straight from its snapshot: its tar is never written to the store.
 */
async function gzipFromStore(store: FileContentStore, layer: LayerBlob, write: (chunk: Buffer) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const source = layer.descriptor.digest;
  const { source: bytes, lazy } = await store.blockSource(source);
  try {
    // Each piece is written before the next is asked for: gzipInto frees a block's output once its write is done.
    const diffId = await gzipInto(bytes, write, { signal });
    if (diffId !== layer.diffId) {
      const err = new Error(`layer ${source} does not hash to its diffId ${layer.diffId} (it gives ${diffId})`);
      throw lazy === undefined ? err : changedLayer(lazy, err);
    }
  } catch (err) {
    throw lazy !== undefined && isChangedLayer(err) ? changedLayer(lazy, err) : err;
  } finally {
    bytes.close();
  }
}

/** The diffId of the empty tar (1024 zero bytes: the end-of-archive blocks alone), a step that changed nothing. */
export const EMPTY_TAR_DIFF_ID: Digest = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

/**
 * The empty tar as BuildKit's exporter gzips it (Go's compress/gzip at its default level: a fixed-Huffman block, then
 * an empty stored final block): 32 bytes, sha256:4f4fb700ef54…, the blob a WORKDIR or a RUN that changes nothing
 * adds to so many images on every registry. Written as those bytes, the layer is the same blob as BuildKit's, so a
 * registry that has it already (a base image built by BuildKit) takes it by mount or skips it, and the manifest's
 * layer digests match a BuildKit build of the same Dockerfile.
 */
const EMPTY_TAR_GZIP = Buffer.from('H4sIAAAAAAAA/2IYBaNgFIxYAAgAAP//Lq+17wAEAAA=', 'base64');

/**
 * gzipLayer over a list, each distinct layer once, one layer after another: each one already deflates on every
 * core, and layers gzipped side by side each held their own blocks in flight (a cold build exporting three 100 MB
 * layers peaked ~15 MiB higher, in the same time: bench/RESULTS.md, tenth round).
 */
export async function gzipLayers(store: FileContentStore, layers: readonly LayerBlob[], signal?: AbortSignal): Promise<LayerBlob[]> {
  const done = new Map<string, LayerBlob>();
  const gzipped: LayerBlob[] = [];
  for (const l of layers) {
    let g = done.get(l.descriptor.digest);
    if (g === undefined) {
      g = await gzipLayer(store, l, signal);
      done.set(l.descriptor.digest, g);
    }
    gzipped.push(g);
  }
  return gzipped;
}
