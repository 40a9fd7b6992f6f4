import type { RegistryClient } from '../client.js';
import { canonicalJson } from '../oci/canonical-json.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import type { ImageIndex } from '../oci/image.js';
import { MediaType } from '../oci/media-types.js';
import { formatReference, type Reference, type Repository } from '../reference.js';
import { isRegistryError, RegistryError } from '../registry-error.js';
import { pushArtifact, type ArtifactFile, type ArtifactOptions } from './push-artifact.js';
import { referrersTag, withReferrer } from './referrers-tag.js';

/** How a registry lists referrers: its referrers API, or the `sha256-<hex>` tag that clients maintain themselves. */
export type ReferrersVia = 'referrers-api' | 'tag-schema';

/** An attached artifact: its manifest, the manifest it refers to, and how the registry will list it. */
export interface Attached {
  artifact: Descriptor;
  subject: Descriptor;
  via: ReferrersVia;
}

/** The referrers of a subject, oldest first as the registry or tag lists them. */
export interface Referrers {
  subject: Descriptor;
  referrers: Descriptor[];
  via: ReferrersVia;
}

/**
 * The descriptor a reference names, as the registry serves it: a tag of an index gives the index's descriptor (a
 * referrer of a multi-platform image refers to the index, not to one platform's manifest).
 */
export async function resolveSubject(client: RegistryClient, ref: Reference, signal?: AbortSignal): Promise<Descriptor> {
  const fetched = await client.getManifest(ref, undefined, signal);
  return { mediaType: fetched.descriptor.mediaType, digest: fetched.descriptor.digest, size: fetched.descriptor.size };
}

/**
 * Pushes files as an artifact whose subject is the manifest `subjectRef` names, untagged (by digest) in the subject's
 * repository. A registry with the referrers API indexes it by itself; on one without (distribution 2.8) the referrers
 * tag is updated too, so `discoverReferrers` finds it either way.
 */
export async function attachArtifact(client: RegistryClient, subjectRef: Reference, files: ArtifactFile[], options: Omit<ArtifactOptions, 'subject'>): Promise<Attached> {
  const { signal } = options;
  const subject = await resolveSubject(client, subjectRef, signal);
  const repo: Repository = { registry: subjectRef.registry, path: subjectRef.path };
  const artifact = await pushArtifact(client, repo, files, { ...options, subject });
  // The spec has the client look for OCI-Subject on the PUT response; asking the referrers API is the same test and
  // also covers registries that accept `subject` but do not index it.
  const answer = await client.getReferrers(repo, subject.digest, {}, signal);
  if (answer.supported) return { artifact, subject, via: 'referrers-api' };
  await addToReferrersTag(client, repo, subject.digest, artifact, signal);
  return { artifact, subject, via: 'tag-schema' };
}

/**
 * Read-modify-write of the referrers tag (distribution-spec "Pushing manifests with subject", fallback): fetch the
 * index under `sha256-<hex>`, append the artifact if absent, put it back. Registries offer no conditional PUT, so two
 * clients attaching at the same instant can lose one entry; the artifact itself is still stored and a later attach
 * of it re-adds the entry.
 */
export async function addToReferrersTag(client: RegistryClient, repo: Repository, subject: Digest, artifact: Descriptor, signal?: AbortSignal): Promise<void> {
  const tagRef: Reference = { ...repo, tag: referrersTag(subject) };
  const next = withReferrer(await readReferrersTag(client, tagRef, signal), artifact);
  if (next === undefined) return;
  await client.putManifest(tagRef, MediaType.ociIndex, new TextEncoder().encode(canonicalJson(next)), signal);
}

async function readReferrersTag(client: RegistryClient, tagRef: Reference, signal?: AbortSignal): Promise<ImageIndex | undefined> {
  let fetched;
  try {
    fetched = await client.getManifest(tagRef, undefined, signal);
  } catch (err) {
    if (isRegistryError(err, 'IMAGE_NOT_FOUND')) return undefined;
    throw err;
  }
  if (fetched.document.kind !== 'index') {
    throw new RegistryError({ code: 'REGISTRY_REQUEST', ref: formatReference(tagRef), message: `${formatReference(tagRef)} holds an image manifest, not a referrers index`, hint: 'the tag is reserved for the referrers tag schema; delete or rename that tag' });
  }
  return fetched.document.index;
}

/**
 * Lists the artifacts that refer to the manifest `subjectRef` names, optionally only those of one artifactType: from
 * the referrers API when the registry has one (filtering here when it did not apply the filter, per its
 * OCI-Filters-Applied header), else from the referrers tag schema.
 */
export async function discoverReferrers(client: RegistryClient, subjectRef: Reference, options: { artifactType?: string; signal?: AbortSignal } = {}): Promise<Referrers> {
  const subject = await resolveSubject(client, subjectRef, options.signal);
  return { subject, ...await listReferrers(client, { registry: subjectRef.registry, path: subjectRef.path }, subject.digest, options) };
}

/**
 * As discoverReferrers, for a subject already known by digest in `repo` (no request to resolve it): what containerd's
 * FetchReferrers answers buildx's imagetools, referrers API first, then the referrers tag.
 */
export async function listReferrers(client: RegistryClient, repo: Repository, subject: Digest, options: { artifactType?: string; signal?: AbortSignal } = {}): Promise<Omit<Referrers, 'subject'>> {
  const { artifactType, signal } = options;
  const answer = await client.getReferrers(repo, subject, artifactType !== undefined ? { artifactType } : {}, signal);
  const keep = (list: Descriptor[]): Descriptor[] => (artifactType === undefined ? list : list.filter((d) => d.artifactType === artifactType));
  if (answer.supported) {
    const filtered = answer.filtersApplied.includes('artifactType') ? answer.manifests : keep(answer.manifests);
    return { referrers: filtered, via: 'referrers-api' };
  }
  // Only the repository: a Reference passed as one would carry its digest into the tag's reference.
  const index = await readReferrersTag(client, { registry: repo.registry, path: repo.path, tag: referrersTag(subject) }, signal);
  return { referrers: keep(index?.manifests ?? []), via: 'tag-schema' };
}
