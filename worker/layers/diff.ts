import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { MediaType } from '../../registry/oci/index.js';
import type { Descriptor, Digest } from '../../registry/oci/index.js';
import type { ContentStore } from '../content/content-store.js';
import type { OverlaySnapshotter } from '../snapshots/overlay.js';

/** A layer written to the content store. */
export interface ExportedLayer {
  /** The gzip blob: `application/vnd.oci.image.layer.v1.tar+gzip`. */
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar, as the config's rootfs.diff_ids lists it. */
  diffId: Digest;
  /** True when the snapshot changed nothing: callers leave such a layer out of the image. */
  empty: boolean;
}

// gzip output depends on the level and zlib's header fields; Node writes mtime 0 and no file name, so a fixed
// level makes the compressed bytes (and the layer digest) reproducible along with the tar.
const GZIP_LEVEL = 6;

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
  const hash = createHash('sha256');
  try {
    const tap = new Transform({ transform(chunk: Buffer, _enc, cb) { hash.update(chunk); cb(null, chunk); } });
    const tar = await snapshotter.diff(name, { sourceDateEpoch: options.sourceDateEpoch });
    await pipeline(tar, tap, createGzip({ level: GZIP_LEVEL }), ingest, options.signal ? { signal: options.signal } : {});
    const blob = await ingest.commit();
    return {
      descriptor: { mediaType: MediaType.ociLayerGzip, digest: blob.digest, size: blob.size },
      diffId: `sha256:${hash.digest('hex')}`,
      empty,
    };
  } catch (err) {
    await ingest.abort();
    throw err;
  }
}
