import { MediaType, canonicalJson, sha256, type Descriptor, type ImageConfig, type ImageManifest } from '../../registry/oci/index.js';
import { EMPTY_DESCRIPTOR } from '../../registry/index.js';
import type { AssembledImage } from '../image/assemble.js';
import type { ReportAttestation } from '../report/index.js';
import { IN_TOTO_MEDIA_TYPE, PREDICATE_TYPE_ANNOTATION, type Statement } from './in-toto.js';

/** The annotations of an attestation manifest's descriptor in the index (BuildKit attestation-storage.md). */
export const REFERENCE_TYPE_ANNOTATION = 'vnd.docker.reference.type';
export const REFERENCE_DIGEST_ANNOTATION = 'vnd.docker.reference.digest';
export const ATTESTATION_MANIFEST = 'attestation-manifest';
/** The artifactType of an attestation manifest written as an OCI artifact (BuildKit's attestationManifestArtifactType). */
export const ATTESTATION_ARTIFACT_TYPE = 'application/vnd.docker.attestation.manifest.v1+json';

/** What to store besides the manifest and config: each statement's bytes. */
export interface AttestationManifest extends AssembledImage {
  /** The statements' bytes, by digest, to put into the content store before anything reads the manifest. */
  blobs: { descriptor: Descriptor; bytes: Uint8Array }[];
}

/**
 * The attestation manifest for the image `subject`, as BuildKit stores it: an OCI image manifest whose layers are
 * the in-toto statements (`application/vnd.in-toto+json`, each annotated with its predicate type), whose config
 * says `unknown/unknown`, and whose descriptor in the index carries `platform: unknown/unknown` (so no runtime ever
 * picks it) and the `vnd.docker.reference.*` annotations pointing at the image. It also names the image as its
 * OCI `subject`, so registries with the referrers API list it there too. `ociArtifact` is the image output's
 * `oci-artifact=` (ImageExportAttrs), as BuildKit's commitAttestationsManifest (exporter/containerimage/writer.go)
 * writes the two forms: true, an OCI artifact (the empty config `{}` and `artifactType`, `config` then still describes
 * it for readers) with the subject; false, the image config and no subject.
 */
export function attestationManifest(subject: Descriptor, statements: Statement<unknown>[], ociArtifact?: boolean): AttestationManifest {
  const blobs = statements.map((s) => {
    const bytes = Buffer.from(JSON.stringify(s, null, 2));
    const descriptor: Descriptor = { mediaType: IN_TOTO_MEDIA_TYPE, digest: sha256(bytes), size: bytes.length, annotations: { [PREDICATE_TYPE_ANNOTATION]: s.predicateType } };
    return { descriptor, bytes };
  });
  const config: ImageConfig = {
    architecture: 'unknown', os: 'unknown', config: {},
    rootfs: { type: 'layers', diff_ids: blobs.map((b) => b.descriptor.digest) },
  };
  const configBytes = Buffer.from(ociArtifact === true ? '{}' : canonicalJson(config));
  const configDescriptor: Descriptor = ociArtifact === true ? EMPTY_DESCRIPTOR : { mediaType: MediaType.ociConfig, digest: sha256(configBytes), size: configBytes.length };
  const { platform: _platform, annotations: _annotations, ...subjectDescriptor } = subject;
  const manifest: ImageManifest = {
    schemaVersion: 2, mediaType: MediaType.ociManifest, ...(ociArtifact === true ? { artifactType: ATTESTATION_ARTIFACT_TYPE } : {}), config: configDescriptor,
    layers: blobs.map((b) => b.descriptor), ...(ociArtifact === false ? {} : { subject: subjectDescriptor }),
  };
  const manifestBytes = Buffer.from(canonicalJson(manifest));
  const manifestDescriptor: Descriptor = {
    mediaType: MediaType.ociManifest, digest: sha256(manifestBytes), size: manifestBytes.length,
    annotations: { [REFERENCE_DIGEST_ANNOTATION]: subject.digest, [REFERENCE_TYPE_ANNOTATION]: ATTESTATION_MANIFEST },
    platform: { architecture: 'unknown', os: 'unknown' },
  };
  return { config, configBytes, configDescriptor, manifest, manifestBytes, manifestDescriptor, blobs };
}

/** How the cache report names an attestation manifest: its digest, its image and the predicate types it holds. */
export function reportAttestation(a: AttestationManifest): ReportAttestation {
  return {
    digest: a.manifestDescriptor.digest,
    subject: a.manifest.subject?.digest ?? '',
    predicateTypes: a.manifest.layers.map((l) => l.annotations?.[PREDICATE_TYPE_ANNOTATION] ?? l.mediaType),
  };
}

/**
 * The attestation manifest `attestation` (about the image `from`), made about the image `to` instead: every statement
 * subject that named `from` names `to`. An output whose attributes change the image (compression, media types,
 * annotations, rewrite-timestamp) exports a new manifest; BuildKit fills in the subjects at export for the same
 * reason, so the attestations always describe the image that was written.
 */
export function retargetAttestation(statements: Statement<unknown>[], from: Descriptor, to: Descriptor, ociArtifact?: boolean): AttestationManifest {
  const fromHex = from.digest.slice('sha256:'.length);
  const toHex = to.digest.slice('sha256:'.length);
  const moved = statements.map((s) => ({
    ...s,
    subject: s.subject.map((sub) => (sub.digest['sha256'] === fromHex ? { ...sub, digest: { ...sub.digest, sha256: toHex } } : sub)),
  }));
  return attestationManifest(to, moved, ociArtifact);
}
