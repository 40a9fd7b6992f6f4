import { listReferrers, type Reference, type RegistryClient } from '../../registry/index.js';
import { ATTESTATION_ARTIFACT_TYPE } from '../attest/attach.js';
import { copy, RepositoryTarget } from '../content/index.js';
import { repo, type CreatedIndex, type IndexEntry } from './create-index.js';

// Pushing what `imagetools create` made: the manifests it names, copied into the target repository when they live
// elsewhere (blobs mounted across repositories on one registry, else streamed through; manifests by digest, bytes
// kept), with the referrers buildx's CopyWithIngester brings along (docker/buildx util/imagetools/create.go,
// supportedArtifactTypes, through BuildKit's contentutil.CopyChain WithReferrers): attestation manifests and cosign
// or sigstore signatures, recursively (a signature of an attestation). Other referrers stay behind. As buildx, the
// copies are put by digest; the target registry's referrers API (or no one, on a registry without it) lists them.

/** The referrer artifact types copied with a manifest (buildx's supportedArtifactTypes). */
const COPIED_REFERRERS = new Set([ATTESTATION_ARTIFACT_TYPE, 'application/vnd.dev.cosign.artifact.sig.v1+json', 'application/vnd.dev.sigstore.bundle.v0.3+json']);

/** What `pushIndex` did, for the summary line. */
export interface CopyCounts { manifestsCopied: number; blobsMounted: number; blobsCopied: number; blobsPresent: number }

/**
 * Puts `created` at `target`: every entry not already in the target's repository is copied there first (blobs, then
 * the manifest by digest), then the index under the target's tag, last, so a reader never sees a dangling index.
 */
export async function pushCreatedIndex(client: RegistryClient, created: CreatedIndex, target: Reference, signal?: AbortSignal): Promise<CopyCounts> {
  const counts: CopyCounts = { manifestsCopied: 0, blobsMounted: 0, blobsCopied: 0, blobsPresent: 0 };
  const visited = new Set<string>();
  for (const entry of created.entries) {
    if (entry.source.registry === target.registry && entry.source.path === target.path) continue;
    await copyManifest(client, entry, target, counts, visited, signal);
  }
  await client.putManifest(target, created.descriptor.mediaType, created.bytes, signal);
  return counts;
}

/**
 * Copies one manifest (an image manifest, or an index and its manifests) into the target repository, then the
 * referrers of it that are attestations or signatures (`visited`: each manifest once, a referrer cycle ends).
 */
async function copyManifest(client: RegistryClient, entry: IndexEntry, target: Reference, counts: CopyCounts, visited: Set<string>, signal?: AbortSignal): Promise<void> {
  const digest = entry.descriptor.digest;
  if (visited.has(digest)) return;
  visited.add(digest);
  const fetched = await client.getManifest(entry.source, digest, signal);
  const sourceRepo = repo(entry.source);
  if (fetched.document.kind === 'index') {
    for (const d of fetched.document.index.manifests) await copyManifest(client, { descriptor: d, source: { ...sourceRepo, digest: d.digest } }, target, counts, visited, signal);
  } else {
    const { manifest } = fetched.document;
    const r = await copy(new RepositoryTarget(client, sourceRepo), new RepositoryTarget(client, target), [manifest.config, ...manifest.layers], {
      signal, mountFrom: () => [sourceRepo],
    });
    counts.blobsMounted += r.mounted;
    counts.blobsCopied += r.uploaded;
    counts.blobsPresent += r.exists;
  }
  await client.putManifest({ ...repo(target), digest }, fetched.document.mediaType, fetched.bytes, signal);
  counts.manifestsCopied++;
  const { referrers } = await listReferrers(client, sourceRepo, digest, { signal });
  for (const r of referrers) {
    if (COPIED_REFERRERS.has(r.artifactType ?? '')) await copyManifest(client, { descriptor: r, source: { ...sourceRepo, digest: r.digest } }, target, counts, visited, signal);
  }
}
