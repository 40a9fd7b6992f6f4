import {
  MediaType, formatPlatform, indexMediaTypeFor, sha256, type Descriptor, type FetchedManifest, type ImageIndex, type Platform,
} from '../../registry/index.js';
import { UserError } from '../../common/index.js';
import { marshalIndent } from './go-value.js';
import { ociIndexValue } from './inspect-values.js';
import type { Annotations } from '../options/annotations.js';
import type { CreateSource } from './create-source.js';
import { atDigest, formatLocation, type Location } from './location.js';
import type { LocationStore } from './location-store.js';

// `tsbuild imagetools create`: the merge step of a distributed build. Each runner pushed its platform's image by
// digest; this puts one index over them, as `docker buildx imagetools create` does, without pulling any layer: the
// index only names manifests. A manifest that lives in another repository is copied into the target's first (its
// blobs mounted across repositories when both are on one registry, else streamed through; the manifest's bytes kept
// exactly, so its digest does not change).

/** One manifest the new index lists, and the repository it is read from. */
export interface IndexEntry { descriptor: Descriptor; source: Location }

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
export async function combine(store: LocationStore, sources: CreateSource[], annotations: Annotations, preferIndex: boolean, signal?: AbortSignal): Promise<CreatedIndex> {
  // buildx's combine: an index gets `index` and `manifest-descriptor` annotations only.
  for (const a of annotations) {
    if (a.kind === 'manifest') throw new UserError('INVALID_ARGUMENT', `--annotation ${a.key}: "manifest" annotations are not supported by imagetools create yet`, 'write index:KEY=VALUE or manifest-descriptor:KEY=VALUE');
    if (a.kind === 'index-descriptor') throw new UserError('INVALID_ARGUMENT', `--annotation ${a.key}: "index-descriptor" annotations are invalid while creating an image`, 'write index:KEY=VALUE or manifest-descriptor:KEY=VALUE');
  }
  const read = await Promise.all(sources.map((s) => readSource(store, s, signal)));
  const [lone] = read;
  if (lone !== undefined && read.length === 1 && annotations.length === 0 && (lone.fetched.document.kind === 'index' || !preferIndex)) {
    return { bytes: lone.fetched.bytes, descriptor: lone.descriptor, entries: [{ descriptor: lone.descriptor, source: atDigest(lone.ref, lone.descriptor.digest) }], kept: true };
  }
  return indexOf(collectEntries(read), annotations);
}

/** A source as read: its manifest or index, and the descriptor the new index lists for it. */
interface ReadSource { ref: Location; fetched: FetchedManifest; descriptor: Descriptor }

/**
 * Reads one source. Its descriptor is the registry's, with what a descriptor source gave (buildx's mergeDesc: its
 * media type, annotations, platform; a descriptor with a media type is taken whole); an image manifest without a
 * platform gets its config's (buildx's loadPlatform).
 */
async function readSource(store: LocationStore, source: CreateSource, signal?: AbortSignal): Promise<ReadSource> {
  const { ref, given } = source;
  const fetched = await store.getManifest(ref, given?.digest, signal);
  const name = formatLocation(ref);
  if (given?.size !== undefined && given.size !== fetched.bytes.length) {
    throw new UserError('INVALID_ARGUMENT', `invalid size mismatch for ${given.digest}, ${given.size} != ${fetched.bytes.length}`, 'give the descriptor the size the registry serves, or leave size out');
  }
  const resolved: Descriptor = { mediaType: fetched.document.mediaType, digest: fetched.descriptor.digest, size: fetched.bytes.length };
  const descriptor: Descriptor = given?.mediaType !== undefined ? { ...given, mediaType: given.mediaType, size: fetched.bytes.length }
    : { ...resolved, ...(given?.annotations && Object.keys(given.annotations).length > 0 ? { annotations: given.annotations } : {}), ...(given?.platform ? { platform: given.platform } : {}) };
  if (fetched.document.kind === 'manifest' && (descriptor.platform?.os ?? '') === '' ) {
    const platform = await configPlatform(store, ref, fetched.document.manifest.config, name, signal);
    if (platform) descriptor.platform = platform;
  }
  return { ref, fetched, descriptor };
}

/**
 * The platform an image manifest's config names. An artifact's config (an attestation's `{}`, the empty descriptor)
 * names none: buildx lists it with an empty platform; we list it with none.
 */
async function configPlatform(store: LocationStore, ref: Location, config: Descriptor, name: string, signal?: AbortSignal): Promise<Platform | undefined> {
  const bytes = await store.readBlob(ref, config, signal);
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new UserError('INVALID_ARGUMENT', `image config of ${name} is not JSON: ${(err as Error).message}`, 'the source is not an image; name an image or index');
  }
  if (typeof c !== 'object' || c === null) return undefined;
  const { os, architecture, variant, 'os.version': osVersion } = c as Record<string, unknown>;
  if (typeof os !== 'string' || typeof architecture !== 'string' || os === '' || architecture === '') return undefined;
  // A lone manifest carries no platform: its config says which one it is.
  return {
    os, architecture, ...(typeof variant === 'string' && variant ? { variant } : {}),
    ...(typeof osVersion === 'string' && osVersion ? { 'os.version': osVersion } : {}),
  };
}

/**
 * Every manifest of the sources (an index's entries, an image manifest itself), each with the repository it is read
 * from. As buildx's combine (addDesc): the same digest twice is one entry, the later source's platform and
 * annotations added to it. Two images of one os/arch (Windows images that differ by os.version) are both listed; a
 * reader picks by the rest of the platform.
 */
function collectEntries(read: ReadSource[]): IndexEntry[] {
  const entries = new Map<string, IndexEntry>();
  const add = (d: Descriptor, source: Location): void => {
    const old = entries.get(d.digest);
    const merged = old === undefined ? d : {
      ...old.descriptor, ...(d.platform ? { platform: d.platform } : {}), annotations: { ...old.descriptor.annotations, ...d.annotations },
    };
    entries.set(d.digest, { descriptor: merged, source: atDigest(source, d.digest) });
  };
  for (const { ref, fetched, descriptor } of read) {
    if (fetched.document.kind === 'index') for (const d of fetched.document.index.manifests) add(d, ref);
    else add(descriptor, ref);
  }
  return [...entries.values()];
}

/**
 * A new index over `entries` (a Docker manifest list when every entry is a Docker manifest, as buildx), with the
 * `--annotation`s: `index:` ones on it, `manifest-descriptor[PLATFORM]:` ones on each entry (of that platform).
 */
export function indexOf(entries: IndexEntry[], annotations: Annotations = []): CreatedIndex {
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
  const bytes = indexBytes(index);
  return { bytes, descriptor: { mediaType, digest: sha256(bytes), size: bytes.length }, entries, kept: false };
}

/**
 * The bytes `create` pushes for an index it writes: buildx's (json.MarshalIndent of ocispecs.Index: struct field
 * order, two-space indent, Go's escapes), so the same merge has the same digest with either tool.
 */
export function indexBytes(index: ImageIndex): Uint8Array {
  return Buffer.from(marshalIndent(ociIndexValue(index as unknown as Record<string, unknown>)));
}
