import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { MediaType } from '../../registry/oci/index.js';
import type { Descriptor, Digest } from '../../registry/oci/index.js';
import type { ContentStore } from '../content/content-store.js';
import type { OverlaySnapshotter } from '../snapshots/overlay.js';
import { layerTar } from './layer-tar.js';

/** A layer written to the content store. */
export interface ExportedLayer {
  /**
   * The uncompressed tar: `application/vnd.oci.image.layer.v1.tar`, digest = diffId. Layers stay plain tars while
   * the build runs; what leaves the build (an image, a push, a cache export) is gzipped then, once (gzip-layer.ts).
   */
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar, as the config's rootfs.diff_ids lists it. */
  diffId: Digest;
  /** True when the snapshot changed nothing: callers leave such a layer out of the image. */
  empty: boolean;
}

/** Diffs committed snapshot `name` against its parent into an uncompressed layer in `store`. */
export async function exportLayer(
  snapshotter: OverlaySnapshotter,
  name: string,
  store: ContentStore,
  options: { sourceDateEpoch?: number | undefined; signal?: AbortSignal | undefined } = {},
): Promise<ExportedLayer> {
  // The snapshot's own dir first, then its parents': those tell which directories fuse-overlayfs marked opaque only
  // because it created them (layer-tar.ts).
  const [upperDir, ...lowerDirs] = snapshotter.lowerDirs(name);
  if (upperDir === undefined) throw new Error(`snapshot ${name} has no dir`);
  const empty = (await readdir(upperDir)).length === 0;
  const ingest = await store.ingest(`layer-${name}-${randomBytes(4).toString('hex')}`);
  try {
    // One pass: the tar is written straight into the store, hashed there (its digest is the diffId), no compression.
    await pipeline(layerTar(upperDir, { sourceDateEpoch: options.sourceDateEpoch, lowerDirs }), ingest, options.signal ? { signal: options.signal } : {});
    const blob = await ingest.commit();
    return { descriptor: { mediaType: MediaType.ociLayerTar, digest: blob.digest, size: blob.size }, diffId: blob.digest, empty };
  } catch (err) {
    await ingest.abort();
    throw err;
  }
}
