import { join } from 'node:path';
import type { Digest } from '../../registry/oci/index.js';
import { isDigest } from '../../registry/oci/index.js';
import { ContentDigestError, LayerError } from '../errors.js';
import type { LazyBlob, LazyBlobs } from '../content/content-store.js';
import { SnapshotLayerRecords } from '../snapshots/layer-records.js';
import type { SnapshotterKind } from '../rootless/index.js';
import { layerTarSource, type LayerTarOptions } from './layer-tar.js';

/**
 * The tar options recorded with a lazy layer (exportLayer, diff.ts): everything besides the snapshot's dirs that
 * decides the tar's bytes, so that making it again gives exactly the bytes that were hashed.
 */
export interface LazyTarOptions { sourceDateEpoch?: number | undefined; snapshotter: SnapshotterKind }

/**
 * The lazy layers of the root at `root`: layers exportLayer measured but did not write (a committed snapshot IS its
 * layer, as in BuildKit; the tar is made only when something needs its bytes). The content store answers for them
 * through this: info/has from the record, bytes by writing the tar again from the snapshot (content/store.ts).
 */
export function snapshotLayers(root: string): LazyBlobs & { close(): void } {
  const records = new SnapshotLayerRecords(join(root, 'snapshots'));
  return {
    find(digest: Digest): LazyBlob | undefined {
      const found = records.find(digest);
      if (found === undefined || !isDigest(found.diffId)) return undefined;
      const options = parseOptions(found.options);
      return {
        digest,
        size: found.size,
        origin: `snapshot ${found.snapshot}`,
        open: () => layerTarSource(found.upperDir, { ...options, lowerDirs: found.lowerDirs }),
      };
    },
    close: () => records.close(),
  };
}

/**
 * The record of a layer's tar options, as exportLayer writes it. v2: the layer carries security.capability alone; a v1
 * record's layer was measured with every xattr (layer-tar.ts), and is made again with them: its snapshot, a cached
 * step's, must give the bytes its diffId names until the step runs again.
 */
export function formatTarOptions(options: LazyTarOptions): string {
  return JSON.stringify({ v: 2, ...(options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: options.sourceDateEpoch }), snapshotter: options.snapshotter });
}

function parseOptions(text: string): LazyTarOptions & Pick<LayerTarOptions, 'xattrs'> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  // A record this version cannot read makes a tar that fails the digest check rather than a wrong blob.
  return {
    ...(typeof v.sourceDateEpoch === 'number' ? { sourceDateEpoch: v.sourceDateEpoch } : {}),
    snapshotter: v.snapshotter === 'fuse-overlayfs' ? 'fuse-overlayfs' : 'overlayfs',
    ...(v.v === 1 ? { xattrs: 'all' } : {}),
  };
}

/**
 * The error for a lazy layer whose bytes could not be made again as they were recorded: its snapshot's files changed
 * (or vanished) after it was committed. The snapshot is not trusted and nothing is stored; the step must run again.
 */
export function changedLayer(lazy: LazyBlob, cause: unknown): LayerError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new LayerError(`${lazy.origin} no longer gives the layer it was committed with${detail}`, {
    layer: lazy.digest, cause,
    hint: 'a committed snapshot must not be modified; run `tsbuild prune` (or build with --no-cache) so the step runs again',
  });
}

/** True for what writing a lazy layer's tar again throws when its snapshot is not what was committed. */
export function isChangedLayer(err: unknown): boolean {
  if (err instanceof ContentDigestError) return true;
  if (!(err instanceof Error) || err instanceof LayerError) return false;
  return (err as NodeJS.ErrnoException).code === 'ENOENT' || err.message.endsWith(' changed while the layer was being written');
}
