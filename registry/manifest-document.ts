import type { Descriptor } from './oci/descriptor.js';
import { isDigest } from './oci/digest.js';
import type { ImageIndex, ImageManifest } from './oci/image.js';
import { isIndexMediaType, isManifestMediaType } from './oci/media-types.js';
import type { Platform } from './oci/platform.js';
import { jsonObjectOf } from './json-object.js';
import { RegistryError } from './registry-error.js';

/** A manifest document as fetched: an image manifest or an index, with its media type. */
export type ManifestDocument = { kind: 'manifest'; mediaType: string; manifest: ImageManifest } | { kind: 'index'; mediaType: string; index: ImageIndex };

/**
 * Checks registry JSON (arriving as bytes) and returns it typed. The media type is the document's own `mediaType`,
 * else the response's Content-Type, else guessed from the shape (`manifests` means an index).
 */
export function parseManifestDocument(bytes: Uint8Array, contentType: string | undefined, ref: string): ManifestDocument {
  const bad = (what: string): RegistryError =>
    new RegistryError({ code: 'REGISTRY_REQUEST', ref, message: `manifest of ${ref} is not valid: ${what}`, hint: 'the registry served something that is not an OCI or Docker schema 2 manifest' });
  const doc = jsonObjectOf(bytes, bad);
  if (doc['schemaVersion'] !== 2) throw bad(`schemaVersion ${JSON.stringify(doc['schemaVersion'])} is not 2 (schema 1 is not supported)`);
  const declared = typeof doc['mediaType'] === 'string' ? doc['mediaType'] : contentType?.split(';')[0]?.trim();
  const mediaType = declared !== undefined && declared !== '' && declared !== 'application/json' ? declared : Array.isArray(doc['manifests']) ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json';
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc['manifests'])) throw bad('index has no manifests array');
    const manifests = (doc['manifests'] as unknown[]).map((d, i) => parseDescriptor(d, `manifests[${i}]`, bad));
    return { kind: 'index', mediaType, index: { ...(doc as object), schemaVersion: 2, manifests } as ImageIndex };
  }
  if (isManifestMediaType(mediaType)) {
    const config = parseDescriptor(doc['config'], 'config', bad);
    if (!Array.isArray(doc['layers'])) throw bad('manifest has no layers array');
    const layers = (doc['layers'] as unknown[]).map((d, i) => parseDescriptor(d, `layers[${i}]`, bad));
    return { kind: 'manifest', mediaType, manifest: { ...(doc as object), schemaVersion: 2, config, layers } as ImageManifest };
  }
  throw bad(`media type ${mediaType} is not a manifest or an index`);
}

/** Checks one descriptor from registry JSON. */
export function parseDescriptor(value: unknown, where: string, bad: (what: string) => Error): Descriptor {
  if (typeof value !== 'object' || value === null) throw bad(`${where} is not a descriptor`);
  const d = value as Record<string, unknown>;
  if (typeof d['mediaType'] !== 'string') throw bad(`${where}.mediaType is missing`);
  if (!isDigest(d['digest'])) throw bad(`${where}.digest is not a sha256 digest`);
  if (typeof d['size'] !== 'number' || !Number.isSafeInteger(d['size']) || d['size'] < 0) throw bad(`${where}.size is not a size`);
  const out: Descriptor = { ...(d as object), mediaType: d['mediaType'], digest: d['digest'], size: d['size'] } as Descriptor;
  if (d['platform'] !== undefined) {
    const p = d['platform'] as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null || typeof p['os'] !== 'string' || typeof p['architecture'] !== 'string') throw bad(`${where}.platform is not a platform`);
    out.platform = p as unknown as Platform;
  }
  return out;
}
