import type { Descriptor } from '../oci/descriptor.js';
import { digestHex, type Digest } from '../oci/digest.js';
import type { ImageIndex } from '../oci/image.js';
import { MediaType } from '../oci/media-types.js';

/**
 * The tag that lists a subject's referrers on a registry without the referrers API: `sha256-<hex>`
 * (distribution-spec spec.md, "Referrers Tag Schema": `<alg>-<ref>`, truncated to a valid tag).
 */
export function referrersTag(subject: Digest): string {
  return `sha256-${digestHex(subject)}`.slice(0, 128);
}

/**
 * The referrers index with `referrer` appended, or undefined when it is already listed (by digest), so an unchanged
 * attach does not rewrite the tag. Entries keep artifactType and annotations so discovery can filter without fetching
 * every manifest.
 */
export function withReferrer(existing: ImageIndex | undefined, referrer: Descriptor): ImageIndex | undefined {
  const manifests = existing?.manifests ?? [];
  if (manifests.some((m) => m.digest === referrer.digest)) return undefined;
  const entry: Descriptor = {
    mediaType: referrer.mediaType,
    digest: referrer.digest,
    size: referrer.size,
    ...(referrer.artifactType !== undefined ? { artifactType: referrer.artifactType } : {}),
    ...(referrer.annotations !== undefined ? { annotations: referrer.annotations } : {}),
  };
  return { ...(existing ?? {}), schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...manifests, entry] };
}
