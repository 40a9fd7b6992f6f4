import { createHash } from 'node:crypto';
import { MediaType } from '../../registry/oci/index.js';
import type { Descriptor, Digest } from '../../registry/oci/index.js';
import type { OverlaySnapshotter } from '../snapshots/overlay.js';
import { snapshotterKind } from '../rootless/index.js';
import { layerTarSource } from './layer-tar.js';
import { drainBlocks } from './parallel-gzip.js';
import { formatTarOptions } from './lazy-layers.js';

/** A step's layer, measured from its committed snapshot. */
export interface ExportedLayer {
  /**
   * The uncompressed tar: `application/vnd.oci.image.layer.v1.tar`, digest = diffId. Layers stay plain tars while
   * the build runs; what leaves the build (an image, a push, a cache export) is gzipped then, once (gzip-layer.ts).
   */
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar, as the config's rootfs.diff_ids lists it. */
  diffId: Digest;
}

/** The one buffer a layer is hashed through (the gzip's block size: its blocks are filled the same way). */
const HASH_BLOCK = 1 << 20;

/**
 * Measures committed snapshot `name` as a layer (its diff against its parent) and records it on the snapshot as a
 * lazy layer: the tar is hashed, not written. A committed snapshot IS its layer, as in BuildKit; the tar's bytes are
 * made again, the same ones, only when something needs them (an output, a push, a cache export: the content store
 * answers for the digest, content/store.ts, and gzip-layer.ts gzips straight from the snapshot). A build stage's
 * layers are never written at all. The record lives and dies with the snapshot (snapshots/metadata.ts).
 */
export async function exportLayer(
  snapshotter: OverlaySnapshotter,
  name: string,
  options: { sourceDateEpoch?: number | undefined; signal?: AbortSignal | undefined } = {},
): Promise<ExportedLayer> {
  // The snapshot's own dir first, then its parents': those tell which directories fuse-overlayfs marked opaque only
  // because it created them (layer-tar.ts).
  const [upperDir, ...lowerDirs] = snapshotter.lowerDirs(name);
  if (upperDir === undefined) throw new Error(`snapshot ${name} has no dir`);
  const tarOptions = { sourceDateEpoch: options.sourceDateEpoch, snapshotter: snapshotterKind() };
  const hash = createHash('sha256');
  let size = 0;
  // One buffer for the whole layer, however big: no per-chunk garbage (the peak RSS of a big COPY came from it).
  await drainBlocks(layerTarSource(upperDir, { ...tarOptions, lowerDirs }), Buffer.allocUnsafe(HASH_BLOCK), (chunk) => {
    hash.update(chunk);
    size += chunk.length;
  }, options.signal);
  const diffId: Digest = `sha256:${hash.digest('hex')}`;
  snapshotter.recordLayer(name, { diffId, size, options: formatTarOptions(tarOptions) });
  return { descriptor: { mediaType: MediaType.ociLayerTar, digest: diffId, size }, diffId };
}
