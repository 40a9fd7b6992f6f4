import type { Descriptor } from './oci/descriptor.js';
import type { ImageIndex } from './oci/image.js';
import { isManifestMediaType } from './oci/media-types.js';
import { formatPlatform, platformRank, type Platform } from './oci/platform.js';
import { RegistryError } from './registry-error.js';

/**
 * Picks the manifest for `wanted` from an index: the image manifest whose platform serves it best (platformRank: the
 * platform itself, else the closest fallback its CPU runs; the first in the index among equals). Attestation
 * manifests, which have platform unknown/unknown, never match. Throws PLATFORM_NOT_FOUND listing what there is.
 */
export function selectPlatform(index: ImageIndex, wanted: Platform, ref: string): Descriptor {
  const images = index.manifests.filter((d) => isManifestMediaType(d.mediaType) && d.platform !== undefined);
  let found: Descriptor | undefined;
  let best = Infinity;
  for (const d of images) {
    const rank = d.platform === undefined ? undefined : platformRank(wanted, d.platform);
    if (rank !== undefined && rank < best) { found = d; best = rank; }
  }
  if (found !== undefined) return found;
  const available = images.map((d) => (d.platform ? formatPlatform(d.platform) : '?')).filter((p) => p !== 'unknown/unknown');
  throw new RegistryError({
    code: 'PLATFORM_NOT_FOUND',
    ref,
    message: `image ${ref} has no manifest for ${formatPlatform(wanted)}; available: ${available.join(', ') || 'none'}`,
    hint: available.length > 0 ? `pick one of the available platforms with --platform, e.g. --platform ${available[0]}` : 'the index lists no platform images',
  });
}
