import type { Descriptor, Digest } from '../../registry/index.js';
import { ATTESTATION_ARTIFACT_TYPE } from '../attest/attach.js';
import { copy } from '../content/index.js';
import type { CreatedIndex, IndexEntry } from './create-index.js';
import { atDigest, sameRepository, type Location } from './location.js';
import type { LocationStore } from './location-store.js';

// Pushing what `imagetools create` made: the manifests it names, copied into the target repository when they live
// elsewhere (blobs mounted across repositories on one registry, else streamed through; manifests by digest, bytes
// kept), with the referrers buildx's CopyWithIngester brings along (docker/buildx util/imagetools/create.go,
// supportedArtifactTypes, through BuildKit's contentutil.CopyChain WithReferrers): attestation manifests and cosign
// or sigstore signatures, recursively (a signature of an attestation). Other referrers stay behind. As buildx, the
// copies are put by digest; the target registry's referrers API (or no one, on a registry without it) lists them.
// An OCI layout target lists each copied referrer that no root reaches in index.json (LocationStore.publish).

/** The referrer artifact types copied with a manifest (buildx's supportedArtifactTypes). */
const COPIED_REFERRERS = new Set([ATTESTATION_ARTIFACT_TYPE, 'application/vnd.dev.cosign.artifact.sig.v1+json', 'application/vnd.dev.sigstore.bundle.v0.3+json']);

/** What `pushCreatedIndex` did, for the summary line. */
export interface CopyCounts { manifestsCopied: number; blobsMounted: number; blobsCopied: number; blobsPresent: number }

/** One push: where to, what it did so far, each manifest once, and the referrers copied (subject → referrers). */
interface Push { store: LocationStore; target: Location; counts: CopyCounts; visited: Set<Digest>; referrers: Map<Digest, Descriptor[]>; signal?: AbortSignal | undefined }

/**
 * Puts `created` at `target`: every entry not already in the target's repository (or layout) is copied there first
 * (blobs, then the manifest by digest), then the index under the target's tag, last, so a reader never sees a
 * dangling index.
 */
export async function pushCreatedIndex(store: LocationStore, created: CreatedIndex, target: Location, signal?: AbortSignal): Promise<CopyCounts> {
  const push: Push = { store, target, counts: { manifestsCopied: 0, blobsMounted: 0, blobsCopied: 0, blobsPresent: 0 }, visited: new Set(), referrers: new Map(), signal };
  for (const entry of created.entries) {
    if (sameRepository(entry.source, target)) continue;
    await copyManifest(push, entry);
  }
  await store.publish(target, created.descriptor, created.bytes, push.referrers, signal);
  return push.counts;
}

/**
 * Copies one manifest (an image manifest, or an index and its manifests) into the target repository, then the
 * referrers of it that are attestations or signatures (`visited`: each manifest once, a referrer cycle ends).
 */
async function copyManifest(push: Push, entry: IndexEntry): Promise<void> {
  const { store, target, counts, signal } = push;
  const digest = entry.descriptor.digest;
  if (push.visited.has(digest)) return;
  push.visited.add(digest);
  const fetched = await store.getManifest(entry.source, digest, signal);
  if (fetched.document.kind === 'index') {
    for (const d of fetched.document.index.manifests) await copyManifest(push, { descriptor: d, source: atDigest(entry.source, d.digest) });
  } else {
    const { manifest } = fetched.document;
    const from = entry.source;
    // Blobs are mounted across repositories of one registry; anything else is streamed through.
    const mountFrom = from.kind === 'registry' ? [{ registry: from.ref.registry, path: from.ref.path }] : [];
    const r = await copy(store.blobs(from), store.blobs(target), [manifest.config, ...manifest.layers], { signal, mountFrom: () => mountFrom });
    counts.blobsMounted += r.mounted;
    counts.blobsCopied += r.uploaded;
    counts.blobsPresent += r.exists;
  }
  await store.putManifest(target, { ...fetched.descriptor, mediaType: fetched.document.mediaType }, fetched.bytes, signal);
  counts.manifestsCopied++;
  const referrers = (await store.referrers(entry.source, digest, undefined, signal)).filter((r) => COPIED_REFERRERS.has(r.artifactType ?? ''));
  if (referrers.length > 0) push.referrers.set(digest, [...push.referrers.get(digest) ?? [], ...referrers]);
  for (const r of referrers) await copyManifest(push, { descriptor: r, source: atDigest(entry.source, r.digest) });
}
