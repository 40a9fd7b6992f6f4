import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { MediaType } from '../../registry/oci/index.js';
import type { Descriptor, Digest } from '../../registry/oci/index.js';
import type { ContentStore } from '../content/content-store.js';
import type { OverlaySnapshotter } from '../snapshots/overlay.js';
import { LAYER_COMPRESSOR, ParallelGzip } from './parallel-gzip.js';

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
  const [upperDir] = snapshotter.lowerDirs(name);
  const empty = upperDir === undefined || (await readdir(upperDir)).length === 0;
  const ingest = await store.ingest(`layer-${name}-${randomBytes(4).toString('hex')}`);
  try {
    // Level 1 (STYLE.md §6) on every core; the diffId is hashed in the same pass over the tar.
    const gzip = new ParallelGzip();
    const tar = await snapshotter.diff(name, { sourceDateEpoch: options.sourceDateEpoch });
    await pipeline(tar, gzip, ingest, options.signal ? { signal: options.signal } : {});
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
