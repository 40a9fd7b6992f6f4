import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { MediaType } from '../../registry/oci/index.js';
import type { Descriptor, Digest } from '../../registry/oci/index.js';
import type { ContentStore } from '../content/content-store.js';
import type { OverlaySnapshotter } from '../snapshots/overlay.js';
import { layerTarSource } from './layer-tar.js';
import { LAYER_COMPRESSOR, SourceGzip } from './parallel-gzip.js';

/** A layer written to the content store. */
export interface ExportedLayer {
  /** The gzip blob: `application/vnd.oci.image.layer.v1.tar+gzip`. */
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar, as the config's rootfs.diff_ids lists it. */
  diffId: Digest;
  /** True when the snapshot changed nothing: callers leave such a layer out of the image. */
  empty: boolean;
  /** How the blob was compressed (parallel-gzip.ts): the same tar and the same compressor give the same blob. */
  compressor: string;
}

/** Diffs committed snapshot `name` against its parent into a gzip layer in `store`. */
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
    // Level 1 (STYLE.md §6) on every core; the diffId is hashed in the same pass over the tar. The tar is written
    // straight into the gzip's blocks, only as fast as the blob is written: the same bytes snapshotter.diff streams,
    // without a buffer per file or per chunk.
    const gzip = new SourceGzip(layerTarSource(upperDir, { sourceDateEpoch: options.sourceDateEpoch, lowerDirs }));
    await pipeline(gzip, ingest, options.signal ? { signal: options.signal } : {});
    const blob = await ingest.commit();
    return {
      descriptor: { mediaType: MediaType.ociLayerGzip, digest: blob.digest, size: blob.size },
      diffId: gzip.diffId(),
      empty,
      compressor: LAYER_COMPRESSOR,
    };
  } catch (err) {
    await ingest.abort();
    throw err;
  }
}
