import {
  formatPlatform, isDigest, isIndexMediaType, normalizePlatform, sha256, type Descriptor, type Digest, type ImageIndex, type Platform,
} from '../../registry/index.js';
import { UserError } from '../../common/index.js';
import { ATTESTATION_ARTIFACT_TYPE, ATTESTATION_MANIFEST, REFERENCE_DIGEST_ANNOTATION, REFERENCE_TYPE_ANNOTATION } from '../attest/attach.js';
import { indexBytes, type CreatedIndex, type IndexEntry } from './create-index.js';
import { atDigest, type Location } from './location.js';
import type { LocationStore } from './location-store.js';

// `imagetools create --platform`, and the attestations `create` brings along, as buildx's Resolver.filterPlatforms
// (docker/buildx util/imagetools/create.go) decides them after combine: the entries of the wanted platforms stay (all
// of them without --platform), with the attestation manifests that name them; an image that has no attestation in
// the index gets the one its repository lists as a referrer (referrers API, else the `sha256-<hex>` tag), so merging
// images pushed one by one keeps their provenance.

/** containerd's platforms.Any over NewMatcher: the same os, architecture and variant once both are normalised. */
function matcherOf(wanted: Platform[]): (p: Platform) => boolean {
  if (wanted.length === 0) return () => true;
  const keys = new Set(wanted.map((w) => formatPlatform(normalizePlatform(w))));
  return (p) => keys.has(formatPlatform(normalizePlatform(p)));
}

/** The manifests of `created` that `--platform` keeps, and the attestations they bring; `created` itself when unchanged. */
export async function filterPlatforms(store: LocationStore, created: CreatedIndex, wanted: Platform[], signal?: AbortSignal): Promise<CreatedIndex> {
  const matches = matcherOf(wanted);
  if (!isIndexMediaType(created.descriptor.mediaType)) {
    if (wanted.length === 0) return created;
    const p = created.descriptor.platform;
    if (p === undefined) throw new UserError('INVALID_ARGUMENT', 'cannot filter platforms from a manifest without platform information', 'drop --platform');
    if (!matches(p)) throw new UserError('INVALID_ARGUMENT', `input platform ${formatPlatform(p)} does not match any of the provided platforms`, 'name a platform the source is for');
    return created;
  }
  const index = JSON.parse(Buffer.from(created.bytes).toString('utf8')) as ImageIndex;
  // A kept index is one entry (the index itself): its manifests are read from its repository.
  const sourceOf = (digest: Digest): Location => {
    const entry = created.entries.find((e) => e.descriptor.digest === digest) ?? (created.kept ? created.entries[0] : undefined);
    if (entry === undefined) throw new Error(`imagetools create: no source for ${digest}`);
    return entry.source;
  };
  const byDigest = new Map(index.manifests.map((m) => [m.digest, m]));
  const references = new Map<Digest, Descriptor>();   // attestation manifest → the image it is about
  const matched = new Set<Digest>();
  for (const m of index.manifests) {
    if (m.platform === undefined || matches(m.platform)) matched.add(m.digest);
    const about = m.annotations?.[REFERENCE_TYPE_ANNOTATION] === ATTESTATION_MANIFEST ? m.annotations[REFERENCE_DIGEST_ANNOTATION] : undefined;
    const subject = isDigest(about) ? byDigest.get(about) : undefined;
    if (subject !== undefined && (subject.platform === undefined || matches(subject.platform))) references.set(m.digest, subject);
  }
  const kept = index.manifests.filter((m) => references.has(m.digest) || m.platform === undefined || matches(m.platform));
  if (kept.length === 0) throw new UserError('INVALID_ARGUMENT', 'none of the manifests match the provided platforms', `the source has ${index.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : m.digest)).join(', ')}`);
  const entries: IndexEntry[] = kept.map((m) => ({ descriptor: m, source: atDigest(sourceOf(m.digest), m.digest) }));
  const attested = new Set([...references.values()].map((s) => s.digest));
  let added = false;
  for (const d of matched) {
    if (references.has(d) || attested.has(d)) continue;
    const source = sourceOf(d);
    const referrers = await store.referrers(source, d, ATTESTATION_ARTIFACT_TYPE, signal);
    const ref = referrers.find((r) => !references.has(r.digest));
    if (ref === undefined) continue;
    // Listed as BuildKit lists an attestation in an index: no runtime picks unknown/unknown.
    const { artifactType: _artifactType, ...plain } = ref;
    const descriptor: Descriptor = {
      ...plain, platform: { architecture: 'unknown', os: 'unknown' },
      annotations: { ...ref.annotations, [REFERENCE_TYPE_ANNOTATION]: ATTESTATION_MANIFEST, [REFERENCE_DIGEST_ANNOTATION]: d },
    };
    entries.push({ descriptor, source: atDigest(source, ref.digest) });
    added = true;
  }
  if (entries.length === index.manifests.length && !added) return created;
  const bytes = indexBytes({ ...index, manifests: entries.map((e) => e.descriptor) });
  return { bytes, descriptor: { ...created.descriptor, digest: sha256(bytes), size: bytes.length }, entries, kept: false };
}
