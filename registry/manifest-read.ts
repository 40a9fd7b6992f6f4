import { repositoryScope } from './auth/authenticator.js';
import { parseManifestDocument, type ManifestDocument } from './manifest-document.js';
import type { Descriptor } from './oci/descriptor.js';
import { sha256, type Digest } from './oci/digest.js';
import { MediaType } from './oci/media-types.js';
import { formatReference, type Reference } from './reference.js';
import { RegistryError } from './registry-error.js';
import { header, networkError, type Session } from './session.js';

/** A fetched manifest or index: its descriptor (digest of the exact bytes), the checked document and the bytes. */
export interface FetchedManifest {
  descriptor: Descriptor;
  document: ManifestDocument;
  bytes: Uint8Array;
}

/** Every manifest type we can read, so a registry never falls back to converting to schema 1. */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(', ');

/** GET one manifest with the size limit checked while reading and the digest checked before returning. */
export async function readManifest(session: Session, ref: Reference, expected: { digest: Digest; size?: number } | undefined, limit: number, signal?: AbortSignal): Promise<FetchedManifest> {
  const name = formatReference(ref);
  const wantDigest = expected?.digest ?? ref.digest;
  const target = wantDigest ?? ref.tag ?? 'latest';
  const res = await session.send({
    kind: 'manifest-get',
    method: 'GET',
    registry: ref.registry,
    url: `/v2/${ref.path}/manifests/${target}`,
    ref: name,
    scopes: [repositoryScope(ref.path, 'pull')],
    headers: { accept: MANIFEST_ACCEPT },
    ok: [200],
    notFound: 'IMAGE_NOT_FOUND',
    ...(signal ? { signal } : {}),
  });
  const tooBig = (): RegistryError => new RegistryError({ code: 'REGISTRY_REQUEST', ref: name, status: 200, message: `manifest of ${name} is larger than ${limit} bytes`, hint: 'a manifest this large is almost certainly not a manifest' });
  if (Number(header(res, 'content-length') ?? 0) > limit) {
    res.body.destroy();
    throw tooBig();
  }
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      n += chunk.length;
      if (n > limit) throw tooBig();
      chunks.push(chunk);
    }
  } catch (err) {
    res.body.destroy();
    // A connection dropped mid-manifest becomes a retryable RegistryError like any other reset.
    throw networkError(err, ref.registry, name, session.url(ref.registry, `/v2/${ref.path}/manifests/${target}`));
  }
  const bytes = new Uint8Array(Buffer.concat(chunks));
  // A schema 1 manifest's digest is taken over its payload without the signatures, so it never matches its bytes:
  // said for what it is, before the digest check would call it altered and retry.
  if (/^application\/vnd\.docker\.distribution\.manifest\.v1\+(?:prettyjws|json)/.test(header(res, 'content-type') ?? '')) {
    throw new RegistryError({ code: 'REGISTRY_REQUEST', ref: name, status: 200, message: `${name} is a Docker schema 1 manifest, which BuildKit and tsbuild no longer read`, hint: 'push the image again with a current docker, buildx or skopeo (schema 2 or OCI)' });
  }
  const digest = sha256(bytes);
  const claimed = wantDigest ?? header(res, 'docker-content-digest');
  if (claimed !== undefined && claimed !== digest) {
    throw new RegistryError({ code: 'DIGEST_MISMATCH', ref: name, status: 200, message: `manifest of ${name} has digest ${digest}, expected ${claimed}`, hint: 'the registry or a proxy altered the manifest; nothing was kept, try again', transient: true });
  }
  if (expected?.size !== undefined && expected.size !== bytes.length) {
    throw new RegistryError({ code: 'DIGEST_MISMATCH', ref: name, status: 200, message: `manifest of ${name} is ${bytes.length} bytes, expected ${expected.size}` });
  }
  const document = parseManifestDocument(bytes, header(res, 'content-type'), name);
  return { descriptor: { mediaType: document.mediaType, digest, size: bytes.length }, document, bytes };
}
