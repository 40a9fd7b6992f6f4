import {
  MediaType, canonicalJson, formatPlatform, indexMediaTypeFor, formatReference, parseImageConfig, parseReference, sha256, type Descriptor, type ImageIndex, type Reference, type RegistryClient, type Repository,
} from '../../registry/index.js';
import { UserError } from '../../common/index.js';
import { copy, RepositoryTarget } from '../content/index.js';
import type { Annotations } from '../options/annotations.js';

// `tsbuild imagetools create`: the merge step of a distributed build. Each runner pushed its platform's image by
// digest; this puts one index over them, as `docker buildx imagetools create` does, without pulling any layer: the
// index only names manifests. A manifest that lives in another repository is copied into the target's first (its
// blobs mounted across repositories when both are on one registry, else streamed through; the manifest's bytes kept
// exactly, so its digest does not change).

/** One manifest the new index lists, and the repository it is read from. */
export interface IndexEntry { descriptor: Descriptor; source: Reference }

/**
 * What `create` pushes: its exact bytes and descriptor, and where each manifest it names comes from. `kept`: a lone
 * source pushed as it is (combine), its one entry the source itself; else a new index over `entries`.
 */
export interface CreatedIndex { bytes: Uint8Array; descriptor: Descriptor; entries: IndexEntry[]; kept: boolean }

/**
 * What `create` makes of its sources, as buildx's Combine decides: a lone source with no annotations is kept byte for
 * byte (an index always; an image manifest when `preferIndex` is false), so re-tagging an image with `create -t new
 * old` keeps its digest, as a signature made over that digest needs. Anything else is a new index over every manifest.
 */
export async function combine(client: RegistryClient, sources: Reference[], annotations: Annotations, preferIndex: boolean, signal?: AbortSignal): Promise<CreatedIndex> {
  // buildx's combine: an index gets `index` and `manifest-descriptor` annotations only.
  for (const a of annotations) {
    if (a.kind === 'manifest') throw new UserError('INVALID_ARGUMENT', `--annotation ${a.key}: "manifest" annotations are not supported by imagetools create yet`, 'write index:KEY=VALUE or manifest-descriptor:KEY=VALUE');
    if (a.kind === 'index-descriptor') throw new UserError('INVALID_ARGUMENT', `--annotation ${a.key}: "index-descriptor" annotations are invalid while creating an image`, 'write index:KEY=VALUE or manifest-descriptor:KEY=VALUE');
  }
  const [lone] = sources;
  if (lone !== undefined && sources.length === 1 && annotations.length === 0) {
    const fetched = await client.getManifest(lone, undefined, signal);
    if (fetched.document.kind === 'index' || !preferIndex) {
      const descriptor: Descriptor = { mediaType: fetched.document.mediaType, digest: fetched.descriptor.digest, size: fetched.bytes.length };
      return { bytes: fetched.bytes, descriptor, entries: [{ descriptor, source: { ...repo(lone), digest: descriptor.digest } }], kept: true };
    }
  }
  return indexOf(await collectEntries(client, sources, signal), annotations);
}

/**
 * A source as the user wrote it: `repo[:tag]`, `repo@sha256:…`, or a bare `sha256:…`, which names a manifest in the
 * first target's repository (buildx's rule, for digests a push-by-digest build reported).
 */
export function sourceReference(text: string, targets: Reference[]): Reference {
  if (/^sha256:[a-f0-9]{64}$/.test(text)) {
    const first = targets[0];
    if (!first) throw new UserError('INVALID_ARGUMENT', `source ${text} is a bare digest and there is no -t to say which repository holds it`, 'write it as registry/repository@sha256:…, or add -t');
    return { registry: first.registry, path: first.path, digest: text as `sha256:${string}` };
  }
  return parseReference(text);
}

/** Reads every source (an image manifest or an index) and returns the manifests, de-duplicated, each with its platform. */
async function collectEntries(client: RegistryClient, sources: Reference[], signal?: AbortSignal): Promise<IndexEntry[]> {
  const entries = new Map<string, IndexEntry>();
  for (const source of sources) {
    const fetched = await client.getManifest(source, undefined, signal);
    const name = formatReference(source);
    if (fetched.document.kind === 'index') {
      for (const d of fetched.document.index.manifests) if (!entries.has(d.digest)) entries.set(d.digest, { descriptor: d, source: { ...repo(source), digest: d.digest } });
      continue;
    }
    // A lone manifest carries no platform: its config says which one it is.
    const config = parseImageConfig(await client.readBlob(source, fetched.document.manifest.config, signal), name);
    const platform = {
      os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}),
      ...(config['os.version'] ? { 'os.version': config['os.version'] } : {}),
    };
    const digest = fetched.descriptor.digest;
    if (!entries.has(digest)) {
      entries.set(digest, { descriptor: { mediaType: fetched.document.mediaType, digest, size: fetched.descriptor.size, platform }, source: { ...repo(source), digest } });
    }
  }
  // As buildx's combine: only the same digest twice is one entry. Two images of one os/arch (Windows images that
  // differ by os.version) are both listed; a reader picks by the rest of the platform.
  return [...entries.values()];
}

/**
 * A new index over `entries` (a Docker manifest list when every entry is a Docker manifest, as buildx), with the
 * `--annotation`s: `index:` ones on it, `manifest-descriptor[PLATFORM]:` ones on each entry (of that platform).
 */
function indexOf(entries: IndexEntry[], annotations: Annotations = []): CreatedIndex {
  const mediaType = indexMediaTypeFor(entries.map((e) => e.descriptor));
  const onIndex = Object.fromEntries(annotations.filter((a) => a.kind === 'index').map((a) => [a.key, a.value]));
  const manifests = entries.map((e) => {
    const p = e.descriptor.platform;
    const own = annotations.filter((a) => a.kind === 'manifest-descriptor' && (a.platform === undefined || (p !== undefined && a.platform === formatPlatform(p))));
    return own.length === 0 ? e.descriptor : { ...e.descriptor, annotations: { ...e.descriptor.annotations, ...Object.fromEntries(own.map((a) => [a.key, a.value])) } };
  });
  const index: ImageIndex = {
    schemaVersion: 2, mediaType, manifests,
    ...(mediaType === MediaType.ociIndex && Object.keys(onIndex).length > 0 ? { annotations: onIndex } : {}),
  };
  const bytes = Buffer.from(canonicalJson(index));
  return { bytes, descriptor: { mediaType, digest: sha256(bytes), size: bytes.length }, entries, kept: false };
}

function repo(ref: Reference): Repository {
  return { registry: ref.registry, path: ref.path };
}

/** What `pushIndex` did, for the summary line. */
export interface CopyCounts { manifestsCopied: number; blobsMounted: number; blobsCopied: number; blobsPresent: number }

/**
 * Puts `created` at `target`: every entry not already in the target's repository is copied there first (blobs, then
 * the manifest by digest), then the index under the target's tag, last, so a reader never sees a dangling index.
 */
export async function pushCreatedIndex(client: RegistryClient, created: CreatedIndex, target: Reference, signal?: AbortSignal): Promise<CopyCounts> {
  const counts: CopyCounts = { manifestsCopied: 0, blobsMounted: 0, blobsCopied: 0, blobsPresent: 0 };
  for (const entry of created.entries) {
    if (entry.source.registry === target.registry && entry.source.path === target.path) continue;
    await copyManifest(client, entry, target, counts, signal);
  }
  await client.putManifest(target, created.descriptor.mediaType, created.bytes, signal);
  return counts;
}

/** Copies one manifest (an image manifest, or an index and its manifests) into the target repository. */
async function copyManifest(client: RegistryClient, entry: IndexEntry, target: Reference, counts: CopyCounts, signal?: AbortSignal): Promise<void> {
  const digest = entry.descriptor.digest;
  const fetched = await client.getManifest(entry.source, digest, signal);
  const sourceRepo = repo(entry.source);
  if (fetched.document.kind === 'index') {
    for (const d of fetched.document.index.manifests) await copyManifest(client, { descriptor: d, source: { ...sourceRepo, digest: d.digest } }, target, counts, signal);
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
}
