import { gzipLayers, isUncompressedLayer, type FileContentStore } from '../../worker/index.js';
import { canonicalJson, sha256 } from '../../registry/index.js';
import type { AssembledImage } from './assemble.js';
import { assembleIndex, type AssembledIndex } from '../multi-platform.js';

/**
 * A build with no output keeps its image in the store with the plain tar layers it made (worker diff.ts); this is
 * that image as it leaves (`tsbuild push`): every uncompressed layer gzipped with the build's compressor, once
 * (worker gzipLayer), so the pushed image is the one an output would have written. New documents go to the store.
 */
export async function gzippedImage(store: FileContentStore, image: AssembledImage, signal?: AbortSignal): Promise<AssembledImage> {
  if (!image.manifest.layers.some(isUncompressedLayer)) return image;
  const diffIds = image.config.rootfs.diff_ids;
  const refs = image.manifest.layers.map((descriptor, i) => {
    const diffId = diffIds[i];
    if (diffId === undefined) throw new Error(`image ${image.manifestDescriptor.digest} has more layers than diff_ids`);
    return { descriptor, diffId };
  });
  const layers = (await gzipLayers(store, refs, signal)).map((l) => l.descriptor);
  const manifest = { ...image.manifest, layers };
  const manifestBytes = Buffer.from(canonicalJson(manifest));
  const manifestDescriptor = { ...image.manifestDescriptor, digest: sha256(manifestBytes), size: manifestBytes.length };
  await store.put(manifestBytes, manifest.mediaType ?? image.manifestDescriptor.mediaType);
  return { ...image, manifest, manifestBytes, manifestDescriptor };
}

/** gzippedImage for an image or an index of platform images (its index re-assembled when an image changed). */
export async function gzippedRoot(store: FileContentStore, root: AssembledImage | AssembledIndex, signal?: AbortSignal): Promise<AssembledImage | AssembledIndex> {
  if (!('images' in root)) return gzippedImage(store, root, signal);
  const images: AssembledImage[] = [];
  for (const image of root.images) images.push(await gzippedImage(store, image, signal));
  if (images.every((image, k) => image === root.images[k])) return root;
  const index = assembleIndex(images, root.index.annotations, root.attestations ?? []);
  await store.put(index.indexBytes, index.indexDescriptor.mediaType);
  return index;
}
