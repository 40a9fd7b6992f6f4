import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type { RegistryClient } from '../client.js';
import { canonicalJson } from '../oci/canonical-json.js';
import type { Descriptor } from '../oci/descriptor.js';
import { sha256 } from '../oci/digest.js';
import type { ImageManifest } from '../oci/image.js';
import { MediaType } from '../oci/media-types.js';
import type { Reference } from '../reference.js';
import { describeFile } from './file-digest.js';
import { TITLE_ANNOTATION } from './title-path.js';
import { UserError } from '../../common/index.js';

/** One file of an artifact: its path on disk and the media type its layer gets. */
export interface ArtifactFile {
  path: string;
  /** Default {@link DEFAULT_FILE_MEDIA_TYPE}, as `oras push` does. */
  mediaType?: string;
}

/** How an artifact manifest is labelled. */
export interface ArtifactOptions {
  /** The manifest's `artifactType`: required by image-spec 1.1 when the config is the empty descriptor. */
  artifactType: string;
  annotations?: Record<string, string>;
  /** The manifest this artifact refers to (an SBOM's image): makes it a referrer of that manifest. */
  subject?: Descriptor;
  signal?: AbortSignal;
}

/** ORAS's media type for a file pushed without one. */
export const DEFAULT_FILE_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar';

/** ORAS's artifact type when none is given. */
export const DEFAULT_ARTIFACT_TYPE = 'application/vnd.unknown.artifact.v1';

/** The annotation holding when an artifact was made (RFC 3339); `fetchBuildReport` picks the newest by it. */
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

const EMPTY_BYTES = new TextEncoder().encode('{}');

/** The empty descriptor (image-spec manifest.md, "Guidance for an Empty Descriptor"): `{}`, size 2. */
export const EMPTY_DESCRIPTOR: Descriptor = { mediaType: MediaType.ociEmpty, digest: sha256(EMPTY_BYTES), size: EMPTY_BYTES.length };

/**
 * Pushes files as an OCI 1.1 artifact: the empty config, one layer per file titled with its base name, and an image
 * manifest with `artifactType` (and `subject` when given), put last under `ref`'s tag or, without one, by digest.
 * Digests are computed by streaming each file; only blobs the repository lacks are uploaded. Returns the manifest's
 * descriptor (with artifactType and annotations, ready to list in a referrers index).
 */
export async function pushArtifact(client: RegistryClient, ref: Reference, files: ArtifactFile[], options: ArtifactOptions): Promise<Descriptor> {
  const { signal } = options;
  const titles = new Set<string>();
  const layers: Descriptor[] = [];
  for (const file of files) {
    const title = basename(file.path);
    if (titles.has(title)) throw new UserError('INVALID_ARGUMENT', `two files are named ${JSON.stringify(title)}`, 'files of an artifact are stored by base name; rename one of them');
    titles.add(title);
    const desc = await describeFile(file.path, file.mediaType ?? DEFAULT_FILE_MEDIA_TYPE, signal);
    layers.push({ ...desc, annotations: { [TITLE_ANNOTATION]: title } });
  }
  await client.pushBlob(ref, EMPTY_DESCRIPTOR, async () => Readable.from([Buffer.from(EMPTY_BYTES)]), undefined, signal);
  for (const [i, layer] of layers.entries()) {
    const path = files[i]?.path;
    if (path === undefined) throw new Error('layer without its file');
    await client.pushBlob(ref, layer, async () => ({ file: await open(path, 'r') }), undefined, signal);
  }
  const annotations = options.annotations !== undefined && Object.keys(options.annotations).length > 0 ? options.annotations : undefined;
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: options.artifactType,
    config: EMPTY_DESCRIPTOR,
    // image-spec 1.1: with no content, the layers list holds the empty descriptor rather than being empty.
    layers: layers.length > 0 ? layers : [EMPTY_DESCRIPTOR],
    ...(options.subject !== undefined ? { subject: subjectDescriptor(options.subject) } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
  };
  const bytes = new TextEncoder().encode(canonicalJson(manifest));
  const digest = await client.putManifest(ref, MediaType.ociManifest, bytes, signal);
  return {
    mediaType: MediaType.ociManifest,
    digest,
    size: bytes.length,
    artifactType: options.artifactType,
    ...(annotations !== undefined ? { annotations } : {}),
  };
}

/** A subject is named by media type, digest and size only (platform and annotations belong to the index entry). */
function subjectDescriptor(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}
