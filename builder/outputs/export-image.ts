import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGunzip, createGzip, createZstdCompress, createZstdDecompress } from 'node:zlib';
import { clampMtimes, type FileContentStore } from '../../worker/index.js';
import { MediaType, canonicalJson, sha256, type Descriptor, type Platform } from '../../registry/oci/index.js';
import type { AssembledImage } from '../image/assemble.js';
import { annotationsFor } from '../options/annotations.js';
import type { Compression, ImageExportAttrs } from '../options/output.js';
import { UserError } from '../../common/index.js';

/** Docker's media type of an uncompressed layer (registry/oci names only the gzip one). */
const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';

/** An image as one output writes it, plus the annotations that belong to the index around it. */
export interface ExportedImage {
  image: AssembledImage;
  /** `annotation-index.*`: for the image index (several platforms, attestations); refused without one (write-outputs.ts). */
  indexAnnotations: Record<string, string>;
  /** `annotation-manifest-descriptor.*`: on the manifest's descriptor in the index. */
  descriptorAnnotations: Record<string, string>;
}

/** What exporting needs: the store (new blobs go there), the base image's layers, the image's platform. */
export interface ExportImageContext {
  store: FileContentStore;
  /** Digests of layers that came from the base image: recompressed only with `force-compression=true`. */
  baseLayers: ReadonlySet<string>;
  platform: Platform;
  signal: AbortSignal;
  /** SOURCE_DATE_EPOCH (seconds), for `rewrite-timestamp=true`. */
  sourceDateEpoch?: number;
}

/** The compression a layer media type says its bytes have. */
export function compressionOfMediaType(mediaType: string): Compression {
  if (mediaType.endsWith('+zstd') || mediaType.endsWith('.zstd')) return 'zstd';
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.gzip')) return 'gzip';
  return 'uncompressed';
}

function layerMediaType(compression: Compression, oci: boolean): string {
  if (!oci) return compression === 'gzip' ? MediaType.dockerLayerGzip : DOCKER_LAYER_TAR;
  return compression === 'gzip' ? MediaType.ociLayerGzip : compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayerTar;
}

function decompressor(c: Compression): Transform | undefined {
  return c === 'gzip' ? createGunzip() : c === 'zstd' ? createZstdDecompress() : undefined;
}

function compressor(c: Compression, level: number | undefined): Transform | undefined {
  if (c === 'gzip') return createGzip({ level: effectiveLevel(c, level) });
  if (c === 'zstd') return createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: effectiveLevel(c, level) } });
  return undefined;
}

function effectiveLevel(c: Compression, level: number | undefined): number {
  return level ?? (c === 'zstd' ? 3 : c === 'gzip' ? 1 : 0);
}

// How a re-encoded layer is named in the store's variant cache (worker/content/store.ts): everything that decides
// its bytes besides the source blob. A second export with the same attributes reads the blob made by the first.
function variantName(kind: string, to: Compression, level: number | undefined): string {
  return `${kind}:${to}:level=${effectiveLevel(to, level)}`;
}

/**
 * `rewrite-timestamp=true` (BuildKit): re-encodes a layer with every mtime later than SOURCE_DATE_EPOCH set to it.
 * Done at export, so a layer that came from the cache (built without the epoch) is rewritten too and two builds of
 * the same inputs give the same bytes. Returns the new blob and its diffId.
 */
async function rewriteTimestamps(store: FileContentStore, layer: Descriptor, epochSeconds: number, to: Compression, level: number | undefined, mediaType: string, signal: AbortSignal): Promise<{ desc: Descriptor; diffId: string }> {
  // `tar=bytes`: variants stored before the layer was re-encoded by clampMtimes came from tar-stream, which turned
  // names and xattr values that are not UTF-8 into U+FFFD; a new name keeps the store from handing those out again.
  const how = variantName(`rewrite-timestamp=${epochSeconds},tar=bytes`, to, level);
  const known = await store.variant(layer.digest, how);
  if (known?.diffId !== undefined) return { desc: { mediaType, digest: known.digest, size: known.size }, diffId: known.diffId };
  const diff = createHash('sha256');
  const tap = new Transform({ transform(chunk: Buffer, _enc, cb) { diff.update(chunk); cb(null, chunk); } });
  const ingest = await store.ingest(`rewrite-${layer.digest}-${epochSeconds}-${to}`);
  const d = decompressor(compressionOfMediaType(layer.mediaType));
  const c = compressor(to, level);
  const clamp = async function* (tar: AsyncIterable<Buffer>): AsyncGenerator<Buffer> { yield* clampMtimes(tar, epochSeconds); };
  try {
    await pipeline([await store.read(layer.digest), ...(d ? [d] : []), clamp, tap, ...(c ? [c] : []), ingest] as unknown as [Readable, NodeJS.WritableStream], { signal });
    const desc = await ingest.commit();
    const diffId: Descriptor['digest'] = `sha256:${diff.digest('hex')}`;
    await store.putVariant(layer.digest, how, { digest: desc.digest, size: desc.size, diffId });
    return { desc: { mediaType, digest: desc.digest, size: desc.size }, diffId };
  } catch (err) {
    await ingest.abort();
    throw err;
  }
}

/** Re-encodes one stored layer to `to`; the uncompressed tar (and so the diffId) is unchanged. */
async function recompress(store: FileContentStore, layer: Descriptor, to: Compression, level: number | undefined, mediaType: string, signal: AbortSignal): Promise<Descriptor> {
  const annotations = layer.annotations ? { annotations: layer.annotations } : {};
  const how = variantName('recompress', to, level);
  const known = await store.variant(layer.digest, how);
  if (known !== undefined) return { mediaType, digest: known.digest, size: known.size, ...annotations };
  const from = compressionOfMediaType(layer.mediaType);
  const ingest = await store.ingest(`recompress-${layer.digest}-${to}`);
  const stages: (Readable | Transform)[] = [await store.read(layer.digest)];
  const d = decompressor(from);
  const c = compressor(to, level);
  if (d) stages.push(d);
  if (c) stages.push(c);
  try {
    await pipeline([...stages, ingest] as unknown as [Readable, NodeJS.WritableStream], { signal });
    const desc = await ingest.commit();
    await store.putVariant(layer.digest, how, { digest: desc.digest, size: desc.size });
    return { mediaType, digest: desc.digest, size: desc.size, ...annotations };
  } catch (err) {
    await ingest.abort();
    throw err;
  }
}

/**
 * Applies an output's image attributes (buildx's `compression`, `compression-level`, `force-compression`,
 * `oci-mediatypes`, `annotation*`) to the assembled image. Layers this build made are re-encoded when their
 * compression differs from the one asked for; base layers only with force-compression, as BuildKit does. New blobs
 * (layers, manifest) are stored before the image is returned, so every output can read them from the store.
 */
export async function exportImage(image: AssembledImage, attrs: ImageExportAttrs, ctx: ExportImageContext): Promise<ExportedImage> {
  const oci = attrs.ociMediatypes ?? true;
  const want = attrs.compression;
  const layers: Descriptor[] = [];
  const diffIds = [...image.config.rootfs.diff_ids];
  let changed = !oci;
  let configChanged = false;
  // The output's own source-date-epoch= wins over the build's, an empty one meaning none (BuildKit's exporter Epoch).
  const epoch = attrs.sourceDateEpoch === undefined ? ctx.sourceDateEpoch : (attrs.sourceDateEpoch ?? undefined);
  for (const [i, layer] of image.manifest.layers.entries()) {
    const have = compressionOfMediaType(layer.mediaType);
    const isBase = ctx.baseLayers.has(layer.digest);
    const target = want !== undefined && (attrs.forceCompression || !isBase) ? want : have;
    const mediaType = layerMediaType(target, oci);
    if (attrs.rewriteTimestamp && epoch !== undefined && !isBase) {
      const rewritten = await rewriteTimestamps(ctx.store, layer, epoch, target, attrs.compressionLevel, mediaType, ctx.signal);
      // BuildKit's converter marks a layer it re-wrote for the epoch (util/converter/converter.go,
      // labelRewrittenTimestamp), in the manifest too: what testSourceDateEpoch* and `docker buildx imagetools` read.
      layers.push({ ...rewritten.desc, annotations: { 'buildkit/rewritten-timestamp': String(epoch) } });
      if (diffIds[i] !== rewritten.diffId) { diffIds[i] = rewritten.diffId as Descriptor['digest']; configChanged = true; }
      changed = true;
    } else if (target !== have) { layers.push(await recompress(ctx.store, layer, target, attrs.compressionLevel, mediaType, ctx.signal)); changed = true; }
    else if (target === 'zstd' && !oci) throw new UserError('INVALID_ARGUMENT', `layer ${layer.digest} is zstd-compressed and docker media types have no zstd layer`, 'drop oci-mediatypes=false');
    else layers.push(mediaType === layer.mediaType ? layer : { ...layer, mediaType });
  }
  const manifestAnnotations = annotationsFor(attrs.annotations, 'manifest', ctx.platform);
  const indexAnnotations = annotationsFor(attrs.annotations, 'index', ctx.platform);
  const descriptorAnnotations = annotationsFor(attrs.annotations, 'manifest-descriptor', ctx.platform);
  if (Object.keys(annotationsFor(attrs.annotations, 'index-descriptor', ctx.platform)).length) {
    throw new UserError('INVALID_ARGUMENT', 'annotation-index-descriptor.* is not supported: a single-platform build writes no nested image index',
      'put the annotation on the index (annotation-index.KEY) or the manifest (annotation.KEY)');
  }
  if (Object.keys(manifestAnnotations).length) changed = true;
  if (!changed) return { image, indexAnnotations, descriptorAnnotations };

  let { config, configBytes } = image;
  let configDescriptor = image.configDescriptor;
  if (configChanged) {
    config = { ...config, rootfs: { ...config.rootfs, diff_ids: diffIds } };
    configBytes = Buffer.from(canonicalJson(config));
    configDescriptor = { ...configDescriptor, digest: sha256(configBytes), size: configBytes.length };
    await ctx.store.put(configBytes, configDescriptor.mediaType);
  }
  if (!oci) configDescriptor = { ...configDescriptor, mediaType: MediaType.dockerConfig };
  const manifest = {
    ...image.manifest,
    mediaType: oci ? MediaType.ociManifest : MediaType.dockerManifest,
    config: configDescriptor,
    layers,
    ...(Object.keys(manifestAnnotations).length ? { annotations: { ...(image.manifest.annotations ?? {}), ...manifestAnnotations } } : {}),
  };
  const manifestBytes = Buffer.from(canonicalJson(manifest));
  const manifestDescriptor: Descriptor = { ...image.manifestDescriptor, mediaType: manifest.mediaType, digest: sha256(manifestBytes), size: manifestBytes.length };
  await ctx.store.put(manifestBytes, manifest.mediaType);
  return { image: { ...image, config, configBytes, configDescriptor, manifest, manifestBytes, manifestDescriptor }, indexAnnotations, descriptorAnnotations };
}
