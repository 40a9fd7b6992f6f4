import { pipeline, Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { resumableBlob } from './blob-read.js';
import { repositoryScope } from './auth/authenticator.js';
import type { CredentialSource } from './auth/credentials.js';
import { dockerConfigCredentials } from './auth/docker-config.js';
import { sendBlob, startUpload, requireLocation, type UploadOptions, type UploadSource } from './blob-upload.js';
import { readManifest, type FetchedManifest } from './manifest-read.js';
import { parseManifestDocument } from './manifest-document.js';
import { readReferrers, type ReferrersAnswer } from './referrers-read.js';
import { copyMetrics, type RegistryMetrics } from './metrics.js';
import type { Descriptor } from './oci/descriptor.js';
import { sha256, type Digest } from './oci/digest.js';
import type { ImageConfig, ImageIndex, ResolvedImage } from './oci/image.js';
import { isIndexMediaType, isManifestMediaType } from './oci/media-types.js';
import { platformRank, type Platform } from './oci/platform.js';
import { parseImageConfig } from './image-config.js';
import { selectPlatform } from './platform-select.js';
import { hostPlatform } from './oci/platform.js';
import { formatReference, formatRepository, type Reference, type Repository } from './reference.js';
import { RegistryError } from './registry-error.js';
import { DEFAULT_RETRY, withRetry, type RetryEvent, type RetryPolicy } from './retry.js';
import { header, readLimited, Session } from './session.js';
import { Transport, type TransportOptions } from './transport.js';
import { verifyStream } from './verify-stream.js';

/** Everything a RegistryClient can be told; all optional. */
export interface RegistryClientOptions extends TransportOptions, Partial<UploadOptions> {
  /** Where credentials come from; default docker's config.json ($DOCKER_CONFIG or ~/.docker). */
  credentials?: CredentialSource;
  retry?: Partial<RetryPolicy>;
  /** Called before each retry, for progress output. */
  onRetry?: (event: RetryEvent) => void;
}

/** Manifests, indexes and configs are read whole; anything bigger than this is refused while reading. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** One page of a tag list: distribution pages at 100 tags by default; a registry that sends every tag of a huge repository in one page still fits. */
const MAX_TAGS_PAGE_BYTES = 16 * 1024 * 1024;

/**
 * An OCI distribution client for any number of registries. Pulls verify every byte against its digest as it streams;
 * pushes HEAD each blob, mount from another repository of the same registry when asked, upload only what is missing,
 * and leave the manifest to the caller's last step. Failures are RegistryErrors; retryable ones are retried with
 * jittered backoff. Call `close()` when done to release pooled connections.
 */
export class RegistryClient {
  readonly #transport: Transport;
  readonly #session: Session;
  readonly #retry: RetryPolicy;
  readonly #upload: UploadOptions;
  readonly #onRetry: ((event: RetryEvent) => void) | undefined;
  readonly #downMirrors = new Set<string>();
  /** Tag manifests asked for ahead of their resolveImage (prefetchTag), by formatted reference; each is taken once. */
  readonly #prefetched = new Map<string, Promise<FetchedManifest>>();

  constructor(options: RegistryClientOptions = {}) {
    this.#transport = new Transport(options);
    this.#session = new Session(this.#transport, options.credentials ?? dockerConfigCredentials());
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    // Every blob goes up as one streamed PUT after the POST (containerd's pusher does the same; skopeo and crane send
    // one PATCH of the whole blob and an empty PUT). Chunks gained nothing: a retry starts the upload over anyway, and
    // each chunk boundary costs the registry a close, a saved hash state and a resume (8 MiB chunks made a 200 MB push
    // 2.3× slower than skopeo; 64 MiB ones still cost ~4 of those; bench/RESULTS.md). Chunks stay available by option.
    this.#upload = { chunkThreshold: options.chunkThreshold ?? Number.POSITIVE_INFINITY, chunkSize: options.chunkSize ?? 64 * 1024 * 1024 };
    this.#onRetry = options.onRetry;
  }

  /** A snapshot of requests by kind, blob bytes up/down, blobs skipped and mounted. */
  get metrics(): RegistryMetrics {
    return copyMetrics(this.#session.metrics);
  }

  #retrying<T>(operation: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetry(operation, this.#retry, fn, (event) => {
      this.#session.metrics.retries++;
      this.#onRetry?.(event);
    }, signal);
  }

  /**
   * The manifest of `index` for `platform` (selectPlatform). When no entry's platform serves it, as containerd's
   * images.Manifest does: an entry without a platform is matched on its config's, and an index inside the index is
   * walked into (three levels at most); the best of those by platformRank wins.
   */
  async #choose(ref: Reference, index: ImageIndex, platform: Platform, name: string, signal: AbortSignal | undefined, local: LocalDocuments | undefined, depth = 0): Promise<{ selected: Descriptor; fetched: FetchedManifest; rank: number }> {
    const fetch = async (d: Descriptor): Promise<FetchedManifest> => await localManifest(local, d, name) ?? await this.getManifest(ref, d, signal);
    let notFound: unknown;
    try {
      const selected = selectPlatform(index, platform, name);
      const fetched = await fetch(selected);
      if (fetched.document.kind !== 'manifest') throw new RegistryError({ code: 'REGISTRY_REQUEST', ref: name, message: `${name}: index entry ${selected.digest} is itself an index` });
      return { selected, fetched, rank: selected.platform === undefined ? 0 : (platformRank(platform, selected.platform) ?? 0) };
    } catch (err) {
      if (!(err instanceof RegistryError && err.code === 'PLATFORM_NOT_FOUND')) throw err;
      notFound = err;
    }
    let best: { selected: Descriptor; fetched: FetchedManifest; rank: number } | undefined;
    for (const d of index.manifests) {
      let found: typeof best;
      if (isIndexMediaType(d.mediaType) && depth < 3) {
        const child = await fetch(d);
        if (child.document.kind !== 'index') continue;
        found = await this.#choose(ref, child.document.index, platform, name, signal, local, depth + 1).catch((err: unknown) => {
          if (err instanceof RegistryError && err.code === 'PLATFORM_NOT_FOUND') return undefined;
          throw err;
        });
      } else if (isManifestMediaType(d.mediaType) && d.platform === undefined) {
        const fetched = await fetch(d);
        if (fetched.document.kind !== 'manifest') continue;
        const config = parseImageConfig(await localBytes(local, fetched.document.manifest.config) ?? await this.readBlob(ref, fetched.document.manifest.config, signal), name);
        const own: Platform = { os: config.os, architecture: config.architecture, ...(config.variant !== undefined ? { variant: config.variant } : {}) };
        const rank = platformRank(platform, own);
        if (rank !== undefined) found = { selected: { ...d, platform: own }, fetched, rank };
      }
      if (found !== undefined && (best === undefined || found.rank < best.rank)) best = found;
    }
    if (best === undefined) throw notFound;
    return best;
  }

  /** Resolves a reference to one image manifest: a tag or digest, through an index to `platform` (default: this host's). */
  async resolve(ref: Reference, platform: Platform = hostPlatform(), signal?: AbortSignal): Promise<Descriptor> {
    const fetched = await this.getManifest(ref, undefined, signal);
    if (fetched.document.kind === 'manifest') return fetched.descriptor;
    return selectPlatform(fetched.document.index, platform, formatReference(ref));
  }

  /**
   * Resolves a reference and fetches the platform's manifest and config: everything needed to pull its layers. A tag
   * is always asked of the registry (one manifest GET: a tag may have moved). What a digest names never changes, so
   * documents `local` already holds (the platform manifest under an index, the config; everything for a reference
   * by digest) are read from it, checked against their digest, instead of fetched; what was fetched is offered to it.
   */
  async resolveImage(ref: Reference, platform: Platform = hostPlatform(), signal?: AbortSignal, local?: LocalDocuments): Promise<ResolvedImage> {
    const name = formatReference(ref);
    const top = (ref.digest !== undefined ? await localManifest(local, { digest: ref.digest }, name) : undefined)
      ?? await (this.#takePrefetched(ref) ?? this.getManifest(ref, undefined, signal));
    let fetched = top;
    let selected: Descriptor | undefined;
    if (top.document.kind === 'index') {
      ({ selected, fetched } = await this.#choose(ref, top.document.index, platform, name, signal, local));
    }
    if (fetched.document.kind !== 'manifest') throw new Error('unreachable: a manifest document was checked above');
    const manifest = fetched.document.manifest;
    const known = await localBytes(local, manifest.config);
    const configBytes = known ?? await this.readBlob(ref, manifest.config, signal);
    const config: ImageConfig = parseImageConfig(configBytes, name);
    if (local?.keep !== undefined) {
      for (const doc of [top, ...(fetched === top ? [] : [fetched])]) await local.keep(doc.bytes, doc.descriptor);
      if (known === undefined) await local.keep(configBytes, manifest.config);
    }
    const resolvedPlatform: Platform = selected?.platform ?? { os: config.os, architecture: config.architecture, ...(config.variant !== undefined ? { variant: config.variant } : {}) };
    return { ref: name, descriptor: fetched.descriptor, manifest, config, platform: resolvedPlatform };
  }

  /**
   * Starts the manifest GET of a tag reference now, so that its round trip (and the registry's token dance) runs
   * beside whatever the caller does next: a build asks for its FROM tags while it reads the Dockerfile, opens its root
   * and compiles. The next resolveImage of the same reference takes this answer instead of sending its own request;
   * it is the one request for the tag (a tag is still asked of the registry on every build). A failure is kept for
   * that resolveImage to throw, and is silent when nothing asks (a stage the build never needs). References with a
   * digest need no request and are ignored.
   */
  prefetchTag(ref: Reference, signal?: AbortSignal): void {
    if (ref.digest !== undefined) return;
    const key = formatReference(ref);
    if (this.#prefetched.has(key)) return;
    const fetched = this.getManifest(ref, undefined, signal);
    fetched.catch(() => undefined);   // handled where it is taken; unhandled when never taken would crash the CLI
    this.#prefetched.set(key, fetched);
  }

  /** A prefetched answer for `ref`, once. */
  #takePrefetched(ref: Reference): Promise<FetchedManifest> | undefined {
    if (ref.digest !== undefined) return undefined;
    const key = formatReference(ref);
    const fetched = this.#prefetched.get(key);
    this.#prefetched.delete(key);
    return fetched;
  }

  /**
   * Fetches a manifest or index by the reference's digest/tag, or by `target` when given. At most 4 MiB; the bytes are
   * checked against the requested digest (or the registry's Docker-Content-Digest for a tag).
   */
  async getManifest(ref: Reference, target?: Descriptor | Digest, signal?: AbortSignal): Promise<FetchedManifest> {
    const expected = typeof target === 'string' ? { digest: target } : target;
    return await this.#pull(ref.registry, (registry) => {
      const from = { ...ref, registry };
      return this.#retrying(`GET manifest ${formatReference(from)}`, () => readManifest(this.#session, from, expected, MAX_MANIFEST_BYTES, signal), signal);
    }, signal);
  }

  /**
   * Runs a pull step against each mirror tsbuild.toml lists for `registry`, in order, and then the registry itself:
   * the first answer wins, as buildkitd's mirrors do. Bytes are verified against their digests wherever they come
   * from. A mirror that cannot be reached is skipped for the rest of this client's life. Pushes never come here.
   */
  async #pull<T>(registry: string, step: (registry: string) => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (const mirror of await this.#transport.mirrors(registry)) {
      if (this.#downMirrors.has(mirror)) continue;
      try {
        return await step(mirror);
      } catch (err) {
        if (signal?.aborted === true || !(err instanceof RegistryError)) throw err;
        if (err.code === 'REGISTRY_UNREACHABLE') this.#downMirrors.add(mirror);
        this.#onRetry?.({ operation: `pull from mirror ${mirror} of ${registry} (falling back)`, attempt: 1, delayMs: 0, error: err });
      }
    }
    return await step(registry);
  }

  /**
   * Streams a blob, verified as it flows: the stream errors with DIGEST_MISMATCH before ending if the bytes are wrong.
   * A connection dropped mid-body is resumed with a Range request (within the retry policy).
   */
  async fetchBlob(repo: Repository, desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    return await this.#pull(repo.registry, (registry) => this.#fetchBlobFrom({ ...repo, registry }, desc, signal), signal);
  }

  async #fetchBlobFrom(repo: Repository, desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    const name = `${formatRepository(repo)}@${desc.digest}`;
    const open = (offset: number): Promise<Dispatcher.ResponseData> =>
      this.#session.send({
        kind: 'blob-get',
        method: 'GET',
        registry: repo.registry,
        url: `/v2/${repo.path}/blobs/${desc.digest}`,
        ref: name,
        scopes: [repositoryScope(repo.path, 'pull')],
        ok: offset > 0 ? [200, 206] : [200],
        ...(offset > 0 ? { headers: { range: `bytes=${offset}-` } } : {}),
        ...(signal ? { signal } : {}),
      });
    const first = await this.#retrying(`GET blob ${name}`, () => open(0), signal);
    const metrics = this.#session.metrics;
    const onRetry = (event: RetryEvent): void => {
      metrics.retries++;
      this.#onRetry?.(event);
    };
    const url = this.#session.url(repo.registry, `/v2/${repo.path}/blobs/${desc.digest}`);
    const bytes = Readable.from(resumableBlob((offset) => this.#retrying(`GET blob ${name}`, () => open(offset), signal), first, desc.size, this.#retry, { registry: repo.registry, ref: name, url }, onRetry));
    return pipeline(bytes, verifyStream(desc, name, (n) => (metrics.blobBytesDown += n)), () => {});
  }

  /** Reads a small blob (a config) whole, at most 4 MiB, verified. */
  async readBlob(repo: Repository, desc: Descriptor, signal?: AbortSignal): Promise<Uint8Array> {
    if (desc.size > MAX_MANIFEST_BYTES) throw new RegistryError({ code: 'REGISTRY_REQUEST', ref: formatRepository(repo), message: `${formatRepository(repo)}: blob ${desc.digest} is ${desc.size} bytes, more than the ${MAX_MANIFEST_BYTES} tsbuild reads whole`, hint: 'an image config this large is malformed or hostile (a huge ENV or label): rebuild the image with a smaller one' });
    return await this.#retrying(`GET blob ${desc.digest}`, async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of await this.fetchBlob(repo, desc, signal)) chunks.push(chunk as Buffer);
      return new Uint8Array(Buffer.concat(chunks));
    }, signal);
  }

  /** True when the repository has the blob (HEAD). */
  async hasBlob(repo: Repository, digest: Digest, signal?: AbortSignal): Promise<boolean> {
    const name = `${formatRepository(repo)}@${digest}`;
    return await this.#retrying(`HEAD blob ${name}`, async () => {
      const res = await this.#session.send({ kind: 'blob-head', method: 'HEAD', registry: repo.registry, url: `/v2/${repo.path}/blobs/${digest}`, ref: name, scopes: [repositoryScope(repo.path, 'pull')], ok: [200, 404], ...(signal ? { signal } : {}) });
      await res.body.dump();
      return res.statusCode === 200;
    }, signal);
  }

  /**
   * Makes sure the repository has a blob: 'exists' when a HEAD finds it, 'mounted' when the registry linked it from
   * `mountFrom` (same registry), else 'uploaded' from `open()`, which is called again for each retry. `isKnownMissing`:
   * the caller's own HEAD of this blob in this repository has just answered 404 (a push plan), so it is not asked again.
   */
  async pushBlob(repo: Repository, desc: Descriptor, open: () => Promise<UploadSource>, mountFrom?: Repository, signal?: AbortSignal, isKnownMissing = false): Promise<'exists' | 'mounted' | 'uploaded'> {
    const metrics = this.#session.metrics;
    const name = `${formatRepository(repo)}@${desc.digest}`;
    const push = [repositoryScope(repo.path, 'pull,push')];
    if (!isKnownMissing && await this.#headForPush(repo, desc.digest, name, push, signal)) {
      metrics.blobsSkipped++;
      return 'exists';
    }
    return await this.#retrying(`upload blob ${name}`, async () => {
      let target;
      if (mountFrom !== undefined && mountFrom.registry === repo.registry && mountFrom.path !== repo.path) {
        const scopes = [...push, repositoryScope(mountFrom.path, 'pull')];
        const url = `/v2/${repo.path}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(mountFrom.path)}`;
        // A token that may push here but not pull from `from` is refused the mount (401/403): containerd then uploads
        // as if no mount had been asked, and so does this.
        const res = await this.#session.send({ kind: 'blob-mount', method: 'POST', registry: repo.registry, url, ref: name, scopes, ok: [201, 202], headers: { 'content-length': '0' }, ...(signal ? { signal } : {}) })
          .catch((err: unknown) => { if (err instanceof RegistryError && err.code === 'REGISTRY_AUTH') return undefined; throw err; });
        if (res === undefined) {
          target = await startUpload(this.#session, repo.registry, repo.path, push, name, signal);
        } else {
          await res.body.dump();
          if (res.statusCode === 201) {
            metrics.blobsMounted++;
            return 'mounted';
          }
          // 202: the registry could not mount (not there, or not allowed) and opened a normal upload instead.
          target = { registry: repo.registry, path: repo.path, location: requireLocation(res, name), scopes: push, ref: name };
        }
      } else {
        target = await startUpload(this.#session, repo.registry, repo.path, push, name, signal);
      }
      const source = await open();
      try {
        await sendBlob(this.#session, target, desc, source, this.#upload, (n) => (metrics.blobBytesUp += n), signal);
      } finally {
        if (source instanceof Readable) source.destroy();
        else await source.file.close();
      }
      metrics.blobsUploaded++;
      return 'uploaded';
    }, signal);
  }

  async #headForPush(repo: Repository, digest: Digest, name: string, scopes: string[], signal?: AbortSignal): Promise<boolean> {
    return await this.#retrying(`HEAD blob ${name}`, async () => {
      const res = await this.#session.send({ kind: 'blob-head', method: 'HEAD', registry: repo.registry, url: `/v2/${repo.path}/blobs/${digest}`, ref: name, scopes, ok: [200, 404], ...(signal ? { signal } : {}) });
      await res.body.dump();
      return res.statusCode === 200;
    }, signal);
  }

  /** Puts a manifest or index under the reference's tag (or digest) and returns its digest. Push its blobs first. */
  async putManifest(ref: Reference, mediaType: string, bytes: Uint8Array, signal?: AbortSignal): Promise<Digest> {
    const digest = sha256(bytes);
    const name = formatReference(ref);
    const target = ref.tag ?? ref.digest ?? digest;
    await this.#retrying(`PUT manifest ${name}`, async () => {
      const res = await this.#session.send({ kind: 'manifest-put', method: 'PUT', registry: ref.registry, url: `/v2/${ref.path}/manifests/${target}`, ref: name, scopes: [repositoryScope(ref.path, 'pull,push')], body: bytes, headers: { 'content-type': mediaType, 'content-length': String(bytes.length) }, ok: [200, 201, 202, 204], ...(signal ? { signal } : {}) });
      await res.body.dump();
      const stored = header(res, 'docker-content-digest');
      if (stored !== undefined && stored !== digest) throw new RegistryError({ code: 'DIGEST_MISMATCH', ref: name, status: res.statusCode, message: `registry stored manifest ${name} as ${stored}, expected ${digest}` });
    }, signal);
    return digest;
  }

  /** The repository's tags, following pagination (Link headers). */
  async listTags(repo: Repository, signal?: AbortSignal): Promise<string[]> {
    const tags: string[] = [];
    let url: string | undefined = `/v2/${repo.path}/tags/list`;
    // A Link back to a page already read (a loop) ends the list instead of asking for ever.
    const seen = new Set<string>();
    while (url !== undefined && !seen.has(url)) {
      seen.add(url);
      const page: string = url;
      const res = await this.#retrying(`GET tags ${formatRepository(repo)}`, () =>
        this.#session.send({ kind: 'tags-list', method: 'GET', registry: repo.registry, url: page, ref: formatRepository(repo), scopes: [repositoryScope(repo.path, 'pull')], ok: [200], notFound: 'IMAGE_NOT_FOUND', ...(signal ? { signal } : {}) }),
      signal);
      const text = await readLimited(res, MAX_TAGS_PAGE_BYTES);
      let body: { tags?: unknown };
      try {
        body = JSON.parse(text) as { tags?: unknown };
      } catch {
        throw new RegistryError({ code: 'REGISTRY_REQUEST', ref: formatRepository(repo), status: res.statusCode, message: `GET tags ${formatRepository(repo)}: the registry's tag list is not JSON (or over ${MAX_TAGS_PAGE_BYTES} bytes)` });
      }
      if (Array.isArray(body.tags)) for (const t of body.tags as unknown[]) if (typeof t === 'string') tags.push(t);
      url = /<([^>]+)>;\s*rel="?next"?/.exec(header(res, 'link') ?? '')?.[1];
    }
    return tags;
  }

  /**
   * Lists the manifests that name `subject` as their subject through the registry's referrers API, or says the registry
   * has none (`supported: false`: fall back to the referrers tag schema). `artifactType` is a request; check
   * `filtersApplied` to know whether the registry honoured it.
   */
  async getReferrers(repo: Repository, subject: Digest, options: { artifactType?: string } = {}, signal?: AbortSignal): Promise<ReferrersAnswer> {
    return await this.#retrying(`GET referrers ${formatRepository(repo)}@${subject}`, () => readReferrers(this.#session, repo, subject, options.artifactType, MAX_MANIFEST_BYTES, signal), signal);
  }

  /**
   * Checks that this client's credentials are accepted by a registry (GET /v2/ with authorization, as `docker login`
   * does before saving them). Throws REGISTRY_AUTH when they are not.
   */
  async checkAuth(registry: string, signal?: AbortSignal): Promise<void> {
    await this.#retrying(`check login to ${registry}`, async () => {
      const res = await this.#session.send({ kind: 'ping', method: 'GET', registry, url: '/v2/', ref: registry, scopes: [], ok: [200], ...(signal ? { signal } : {}) });
      await res.body.dump();
    }, signal);
  }

  /** Releases pooled connections. */
  async close(): Promise<void> {
    await this.#transport.close();
  }
}

/**
 * Small documents (manifests, indexes, configs) held by digest outside the registry, e.g. a content store: a resolve
 * reads them instead of fetching, and offers what it fetched to `keep`. Bytes are checked against their digest here.
 */
export interface LocalDocuments {
  get(digest: Digest): Promise<Uint8Array | undefined>;
  keep?(bytes: Uint8Array, desc: Descriptor): Promise<void>;
}

/** A document `local` holds, when its bytes match `desc`'s digest (and size, when given). */
async function localBytes(local: LocalDocuments | undefined, desc: { digest: Digest; size?: number }): Promise<Uint8Array | undefined> {
  const bytes = await local?.get(desc.digest);
  if (bytes === undefined || bytes.length > MAX_MANIFEST_BYTES || (desc.size !== undefined && bytes.length !== desc.size)) return undefined;
  return sha256(bytes) === desc.digest ? bytes : undefined;
}

/** A manifest or index `local` holds, checked and parsed as one from the registry would be. */
async function localManifest(local: LocalDocuments | undefined, desc: { digest: Digest; size?: number; mediaType?: string }, name: string): Promise<FetchedManifest | undefined> {
  const bytes = await localBytes(local, desc);
  if (bytes === undefined) return undefined;
  const document = parseManifestDocument(bytes, desc.mediaType, name);
  return { descriptor: { mediaType: document.mediaType, digest: desc.digest, size: bytes.length }, document, bytes };
}
