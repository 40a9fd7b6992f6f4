import type { Dispatcher } from 'undici';
import { repositoryScope } from './auth/authenticator.js';
import { parseManifestDocument } from './manifest-document.js';
import type { Descriptor } from './oci/descriptor.js';
import type { Digest } from './oci/digest.js';
import { MediaType } from './oci/media-types.js';
import { formatRepository, type Repository } from './reference.js';
import { RegistryError } from './registry-error.js';
import { header, networkError, type Session } from './session.js';

/**
 * What the referrers API said about a subject. `supported: false` means the registry has no referrers API (it
 * answered 404, as distribution 2.8 does for the unknown route): the caller falls back to the referrers tag schema.
 */
export type ReferrersAnswer =
  | { supported: true; manifests: Descriptor[]; filtersApplied: string[] }
  | { supported: false };

/**
 * GET /v2/<name>/referrers/<digest>[?artifactType=…] (distribution-spec "Listing referrers"), following Link pagination.
 * A registry with the API answers 200 with an image index even for an unknown subject, so only a 200 whose body is an
 * index counts as support; 404 (or a 200 that is not an index, e.g. a proxy's page) means "not supported".
 */
export async function readReferrers(session: Session, repo: Repository, subject: Digest, artifactType: string | undefined, limit: number, signal?: AbortSignal): Promise<ReferrersAnswer> {
  const name = `${formatRepository(repo)}@${subject}`;
  const manifests: Descriptor[] = [];
  let filtersApplied: string[] | undefined;
  let url: string | undefined = `/v2/${repo.path}/referrers/${subject}${artifactType !== undefined ? `?artifactType=${encodeURIComponent(artifactType)}` : ''}`;
  while (url !== undefined) {
    const res = await session.send({
      kind: 'referrers-get',
      method: 'GET',
      registry: repo.registry,
      url,
      ref: name,
      scopes: [repositoryScope(repo.path, 'pull')],
      headers: { accept: MediaType.ociIndex },
      ok: [200, 404],
      ...(signal ? { signal } : {}),
    });
    if (res.statusCode === 404) {
      await res.body.dump();
      if (manifests.length > 0) throw new RegistryError({ code: 'REGISTRY_REQUEST', ref: name, status: 404, message: `referrers of ${name}: a later page (${url}) answered 404` });
      return { supported: false };
    }
    const bytes = await readLimited(res, limit, name, session.url(repo.registry, url), repo.registry);
    let document;
    try {
      document = parseManifestDocument(bytes, header(res, 'content-type'), name);
    } catch {
      return { supported: false };
    }
    if (document.kind !== 'index') return { supported: false };
    manifests.push(...document.index.manifests);
    filtersApplied ??= (header(res, 'oci-filters-applied') ?? '').split(',').map((f) => f.trim()).filter((f) => f !== '');
    url = /<([^>]+)>;\s*rel="?next"?/.exec(header(res, 'link') ?? '')?.[1];
  }
  return { supported: true, manifests, filtersApplied: filtersApplied ?? [] };
}

async function readLimited(res: Dispatcher.ResponseData, limit: number, name: string, url: URL, registry: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      n += chunk.length;
      if (n > limit) throw new RegistryError({ code: 'REGISTRY_REQUEST', ref: name, status: 200, message: `referrers list of ${name} is larger than ${limit} bytes` });
      chunks.push(chunk);
    }
  } catch (err) {
    res.body.destroy();
    throw networkError(err, registry, name, url);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
