import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { DEFAULT_RETRY, RegistryError, withRetry, type Descriptor } from '../../../registry/index.js';
import { downloadDispatcher } from '../../../worker/index.js';
import { USER_AGENT } from '../../../common/index.js';
import type { CopyOutcome } from '../../content/index.js';
import type { CacheStore } from '../cache-store.js';
import { readIndexBody, verifiedBlob } from '../store-io.js';
import { sharedKeyAuthorization } from './shared-key.js';

/** Where a `type=azblob` cache lives, as BuildKit's cache/remotecache/azblob lays it out. */
export interface AzblobLocation {
  /** `account_url`: the blob service, `https://ACCOUNT.blob.core.windows.net`, or an emulator's `http://HOST:PORT/ACCOUNT`. */
  accountUrl: string;
  /** `account_name`: the account Shared Key signs as. */
  accountName: string;
  /** `container` (default `buildkit-cache`). */
  container: string;
  /** `prefix`, `blobs_prefix` (default `blobs`), `manifests_prefix` (default `manifests`): path elements of each key. */
  prefix: string;
  blobsPrefix: string;
  manifestsPrefix: string;
  /** `name` (default `buildkit`, `;` between several): the manifests written; the first is read. */
  names: string[];
  /** `secret_access_key`: the account's access key, base64 as the portal shows it. */
  secretAccessKey: string;
}

/** The REST API version every request asks for (Put Blob takes up to 5000 MiB in one request since 2019-12-12). */
const API_VERSION = '2021-08-06';

/**
 * A `type=azblob` cache: each blob at `PREFIX/BLOBS_PREFIX/sha256:…` (BuildKit's layout, so the layers of both
 * builders' caches are shared blobs), the cache manifest at `PREFIX/MANIFESTS_PREFIX/NAME`, overwritten by each export.
 * The manifest is tsbuild's own document: BuildKit's at the same name is not read (a warning, the build goes on).
 *
 * Requests are signed with the account key (Shared Key, shared-key.ts) and sent with undici: Get Blob Properties
 * (HEAD) before a blob is written, Put Blob (one request, `If-None-Match: *` as BuildKit writes blobs: a blob another
 * writer put there first is as good), Get Blob. An export creates the container when a write finds it missing; a
 * missing container on import is no cache. Every blob read is checked against its digest.
 */
export class AzblobCache implements CacheStore {
  readonly name: string;
  readonly #at: AzblobLocation;
  readonly #key: Buffer;
  readonly #dispatcher: Dispatcher;

  constructor(at: AzblobLocation, dispatcher: Dispatcher = downloadDispatcher()) {
    this.#at = at;
    this.#key = Buffer.from(at.secretAccessKey, 'base64');
    this.#dispatcher = dispatcher;
    this.name = azblobCacheName(at);
  }

  async has(desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
    const key = this.#blobKey(desc);
    return withRetry(`azblob HEAD ${key}`, DEFAULT_RETRY, async () => {
      const res = await this.#send('HEAD', this.#blobUrl(key), {}, undefined, signal);
      await res.body.dump();
      if (res.statusCode === 200) return true;
      if (res.statusCode === 404) return false;
      throw this.#statusError(`HEAD ${key}`, res);
    }, undefined, signal);
  }

  async fetch(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    const res = await this.#get(this.#blobKey(desc), signal);
    if (res === undefined) throw new RegistryError({ code: 'IMAGE_NOT_FOUND', ref: this.name, message: `cache ${this.name}: blob ${desc.digest} is not in the container`, hint: 'a lifecycle rule may have removed it; the next --cache-to writes it again' });
    return verifiedBlob(res.body, desc, this.name);
  }

  async push(desc: Descriptor, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome> {
    if (await this.has(desc, signal)) return 'exists';
    await this.#put(this.#blobKey(desc), desc.size, open, { 'if-none-match': '*' }, signal);
    return 'uploaded';
  }

  async loadIndex(signal?: AbortSignal): Promise<Buffer | undefined> {
    const key = this.#manifestKey(this.#at.names[0] ?? 'buildkit');
    const res = await this.#get(key, signal);
    if (res === undefined) return undefined;
    return readIndexBody(res.body, this.name, key);
  }

  async saveIndex(manifest: Uint8Array, signal?: AbortSignal): Promise<string> {
    // The manifest is the one object not read back by digest: its Content-MD5 has the service refuse damaged bytes.
    const md5 = createHash('md5').update(manifest).digest('base64');
    const keys = this.#at.names.map((n) => this.#manifestKey(n));
    for (const key of keys) await this.#put(key, manifest.length, async () => Readable.from([Buffer.from(manifest)]), { 'content-md5': md5 }, signal);
    return keys.join(', ');
  }

  #blobKey(desc: Descriptor): string {
    return joinKey(this.#at.prefix, this.#at.blobsPrefix, desc.digest);
  }

  #manifestKey(name: string): string {
    return joinKey(this.#at.prefix, this.#at.manifestsPrefix, name);
  }

  /** The container's URL, with `query` (`?restype=container`) when it names the container itself. */
  #containerUrl(query = ''): URL {
    return new URL(`${this.#at.accountUrl.replace(/\/+$/, '')}/${encodeURIComponent(this.#at.container)}${query}`);
  }

  /**
   * A blob's URL: its whole name one percent-encoded path segment, slashes too (`ci%2Fblobs%2Fsha256%3A…`), as the Go
   * SDK sends it; the service decodes the name. A `..` in a prefix is then part of the name, never a step out of the
   * container that the URL parser would resolve.
   */
  #blobUrl(key: string): URL {
    return new URL(`${this.#containerUrl().href}/${encodeURIComponent(key)}`);
  }

  /** GET `key`: the response (status 200), or undefined for 404 (no such blob, or no container); a 5xx or 429 is tried again. */
  async #get(key: string, signal?: AbortSignal): Promise<Dispatcher.ResponseData | undefined> {
    return withRetry(`azblob GET ${key}`, DEFAULT_RETRY, async () => {
      const res = await this.#send('GET', this.#blobUrl(key), {}, undefined, signal);
      if (res.statusCode === 200) return res;
      await res.body.dump();
      if (res.statusCode === 404) return undefined;
      throw this.#statusError(`GET ${key}`, res);
    }, undefined, signal);
  }

  /**
   * Put Blob `key` from a stream `open` makes (again for a retry: a stream is never sent twice). A container that is
   * not there yet is created and the blob put again; with `If-None-Match: *`, BlobAlreadyExists is success (another
   * writer, or this one whose first response was lost).
   */
  async #put(key: string, size: number, open: () => Promise<Readable>, headers: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const putOnce = async (): Promise<Dispatcher.ResponseData> => {
      const res = await this.#send('PUT', this.#blobUrl(key), {
        ...headers, 'content-length': String(size), 'content-type': 'application/octet-stream', 'x-ms-blob-type': 'BlockBlob',
      }, await open(), signal);
      await res.body.dump();
      return res;
    };
    await withRetry(`azblob PUT ${key}`, DEFAULT_RETRY, async () => {
      let res = await putOnce();
      if (res.statusCode === 404 && errorCode(res) === 'ContainerNotFound') {
        await this.#createContainer(signal);
        res = await putOnce();
      }
      if (res.statusCode === 201 || (res.statusCode === 409 && errorCode(res) === 'BlobAlreadyExists')) return;
      throw this.#statusError(`PUT ${key}`, res);
    }, undefined, signal);
  }

  /** Create Container; one created meanwhile by another writer (ContainerAlreadyExists) is as good. */
  async #createContainer(signal?: AbortSignal): Promise<void> {
    const res = await this.#send('PUT', this.#containerUrl('?restype=container'), { 'content-length': '0' }, undefined, signal);
    await res.body.dump();
    if (res.statusCode === 201 || (res.statusCode === 409 && errorCode(res) === 'ContainerAlreadyExists')) return;
    throw this.#statusError(`creating container ${this.#at.container}`, res);
  }

  /** One request signed with the account key. */
  async #send(method: 'GET' | 'HEAD' | 'PUT', url: URL, headers: Record<string, string>, body: Readable | undefined, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    const signed = { ...headers, 'x-ms-date': new Date().toUTCString(), 'x-ms-version': API_VERSION };
    const authorization = sharedKeyAuthorization(this.#at.accountName, this.#key, { method, url, headers: signed });
    try {
      return await request(url, { method, headers: { ...signed, authorization, 'user-agent': USER_AGENT }, body, dispatcher: this.#dispatcher, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new RegistryError({
        code: 'REGISTRY_UNREACHABLE', ref: this.name, transient: true, cause: err,
        message: `cache ${this.name}: cannot reach ${url.host}: ${err instanceof Error ? err.message : String(err)}`,
        hint: 'check account_url and the network; a --cache-from goes on without the cache',
      });
    }
  }

  #statusError(what: string, res: Dispatcher.ResponseData): RegistryError {
    const status = res.statusCode;
    const code = errorCode(res);
    const auth = status === 401 || status === 403;
    return new RegistryError({
      code: auth ? 'REGISTRY_AUTH' : 'REGISTRY_REQUEST', ref: this.name, status, registryCodes: code ? [code] : [],
      message: `cache ${this.name}: ${what} failed with HTTP ${status}${code ? ` (${code})` : ''}`,
      // Azure answers a bad signature with AuthenticationFailed, and a host its firewall keeps out with AuthorizationFailure.
      hint: auth ? `secret_access_key is wrong or not the key of account ${this.#at.accountName} (account_name=, else the first label of account_url's host), or the account's firewall keeps this host out`
        : 'see the Azure Storage error code above',
    });
  }
}

/** How messages name an azblob cache: `azblob://ACCOUNT/CONTAINER/PREFIX` (never with the key). */
export function azblobCacheName(at: AzblobLocation): string {
  return `azblob://${at.accountName}/${at.container}/${at.prefix}`;
}

/**
 * A blob name from path elements as BuildKit's filepath.Join makes it: empty elements dropped, the rest joined by
 * `/` and cleaned (`ci/` + `blobs` is `ci/blobs`, no prefix is `blobs/sha256:…`), unlike s3's plain concatenation.
 */
function joinKey(...parts: string[]): string {
  const joined = posix.normalize(parts.filter((p) => p !== '').join('/'));
  return joined.length > 1 ? joined.replace(/\/+$/, '') : joined;
}

/** Azure's error code of a response (`x-ms-error-code`, also sent on HEAD, which has no body); '' when there is none. */
function errorCode(res: Dispatcher.ResponseData): string {
  const value = res.headers['x-ms-error-code'];
  return (Array.isArray(value) ? value[0] : value)?.slice(0, 64) ?? '';
}
