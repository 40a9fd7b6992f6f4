import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { RegistryError, withRetry, DEFAULT_RETRY } from '../../../registry/index.js';
import { downloadDispatcher } from '../../../worker/index.js';
import { readStreamBounded, USER_AGENT } from '../../../common/index.js';

/**
 * A client of GitHub Actions' cache service, version 2 (the one github.com runs since 2025; version 1 is retired):
 * the runner's results service answers Twirp calls (JSON over POST, `Authorization: Bearer` the job's runtime token)
 * with signed Azure Blob Storage URLs, and the bytes go to and come from those URLs directly. Written from the
 * protocol as @actions/cache and BuildKit (tonistiigi/go-actions-cache cache_v2.go) speak it; there is no
 * maintained Node client for it outside @actions/cache, which caches directories as tarballs, not blobs.
 *
 * Entries are immutable: a key (with a version string) is created once, uploaded, then finalised. A lookup names an
 * exact key and prefixes (`restore_keys`); the service answers with the newest finalised entry that matches, which
 * is how a cache index that changes from build to build is found (GhaCache.saveIndex).
 */
export interface ActionsCacheService {
  /** The results service's base URL (`ACTIONS_RESULTS_URL`, buildx's `url_v2`). */
  url: string;
  /** The job's runtime token (`ACTIONS_RUNTIME_TOKEN`). Sent only to `url`, never shown. */
  token: string;
}

/** A finalised entry: the key it was found under and where its bytes can be read for a while. */
export interface CacheEntry { key: string; downloadUrl: string }

/**
 * The `version` every tsbuild entry is created with: the service keys entries by key and version together (for
 * @actions/cache it is a hash of the cached paths). sha256 of `|tsbuild-actions-cache-1`, written out so that no
 * hash runs at load; a new format of entries gets a new string.
 */
const ENTRY_VERSION = '37bbaf8ff8a6cb50b05075ed64f7a011265d988bc7fca6d4b40c28d75bd9edde';

/** The Azure Blob Storage API version of the uploads (Put Blob takes up to 5,000 MiB in one request from 2019-12-12). */
const AZURE_VERSION = '2023-11-03';

/** Twirp answers are small JSON objects; a bigger body is not the service. */
const ANSWER_LIMIT = 64 * 1024;

export class ActionsCacheClient {
  readonly #service: ActionsCacheService;
  /** How errors name this cache (`gha:SCOPE`), never with the token or a signed URL. */
  readonly #name: string;
  readonly #dispatcher: Dispatcher;

  constructor(service: ActionsCacheService, name: string, dispatcher: Dispatcher = downloadDispatcher()) {
    this.#service = service;
    this.#name = name;
    this.#dispatcher = dispatcher;
  }

  /** The newest finalised entry under `key` exactly, or else under the newest key starting with one of `prefixes`. */
  async lookup(key: string, prefixes: string[], signal?: AbortSignal): Promise<CacheEntry | undefined> {
    const answer = await this.#twirp('GetCacheEntryDownloadURL', { key, restore_keys: prefixes, version: ENTRY_VERSION }, signal, [404]);
    if (answer === undefined || answer['ok'] !== true) return undefined;
    const url = answer['signed_download_url'];
    const matched = answer['matched_key'];
    if (typeof url !== 'string' || url === '') throw this.#error('REGISTRY_REQUEST', 'GetCacheEntryDownloadURL answered without a download URL');
    return { key: typeof matched === 'string' && matched !== '' ? matched : key, downloadUrl: url };
  }

  /** Creates `key`: its upload URL, or 'exists' when an entry with that key is already there (or being written). */
  async reserve(key: string, signal?: AbortSignal): Promise<string | 'exists'> {
    const answer = await this.#twirp('CreateCacheEntry', { key, version: ENTRY_VERSION }, signal, [409]);
    if (answer === undefined || answer['ok'] !== true) return 'exists';
    const url = answer['signed_upload_url'];
    if (typeof url !== 'string' || url === '') throw this.#error('REGISTRY_REQUEST', 'CreateCacheEntry answered without an upload URL');
    return url;
  }

  /** Marks `key` complete at `size` bytes: from now on lookups find it. */
  async finalize(key: string, size: number, signal?: AbortSignal): Promise<void> {
    const answer = await this.#twirp('FinalizeCacheEntryUpload', { key, size_bytes: size, version: ENTRY_VERSION }, signal);
    if (answer?.['ok'] !== true) throw this.#error('REGISTRY_REQUEST', `FinalizeCacheEntryUpload refused ${key}`);
  }

  /**
   * Uploads an entry's bytes to its signed URL as one block blob (Azure's Put Blob). `open` is called again for a
   * retry, so a stream is never sent twice.
   */
  async upload(url: string, size: number, open: () => Promise<Readable>, signal?: AbortSignal): Promise<void> {
    await withRetry('cache upload', DEFAULT_RETRY, async () => {
      const body = await open();
      const res = await this.#send(url, 'PUT', {
        'x-ms-blob-type': 'BlockBlob', 'x-ms-version': AZURE_VERSION, 'content-length': String(size), 'content-type': 'application/octet-stream',
      }, body, signal);
      await res.body.dump();
      if (res.statusCode !== 201 && res.statusCode !== 200) throw this.#statusError('upload', res.statusCode);
    }, undefined, signal);
  }

  /** The bytes of an entry, as a stream (the caller verifies them against what it expects). */
  async download(entry: CacheEntry, signal?: AbortSignal): Promise<Readable> {
    return withRetry('cache download', DEFAULT_RETRY, async () => {
      const res = await this.#send(entry.downloadUrl, 'GET', { 'x-ms-version': AZURE_VERSION }, undefined, signal);
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw this.#statusError(`download of ${entry.key}`, res.statusCode);
      }
      return res.body;
    }, undefined, signal);
  }

  async #twirp(method: string, body: Record<string, unknown>, signal: AbortSignal | undefined, quiet: number[] = []): Promise<Record<string, unknown> | undefined> {
    const url = `${this.#service.url.replace(/\/+$/, '')}/twirp/github.actions.results.api.v1.CacheService/${method}`;
    return withRetry(`cache ${method}`, DEFAULT_RETRY, async () => {
      const res = await this.#send(url, 'POST', { authorization: `Bearer ${this.#service.token}`, 'content-type': 'application/json' }, JSON.stringify(body), signal);
      const text = (await readStreamBounded(res.body, ANSWER_LIMIT))?.toString('utf8') ?? '';
      // 409 (already exists) and 404 (not found) are answers, not failures; Twirp says them with a status.
      if (quiet.includes(res.statusCode)) return undefined;
      if (res.statusCode !== 200) throw this.#statusError(method, res.statusCode, twirpMessage(text));
      try {
        const parsed = JSON.parse(text) as unknown;
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
      } catch {
        // reported below
      }
      throw this.#error('REGISTRY_REQUEST', `${method} answered with something other than a JSON object`);
    }, undefined, signal);
  }

  async #send(url: string, method: 'GET' | 'PUT' | 'POST', headers: Record<string, string>, body: string | Readable | undefined, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    try {
      return await request(url, { method, headers: { 'user-agent': USER_AGENT, ...headers }, body, dispatcher: this.#dispatcher, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) throw err;
      // The error names the host only: a signed URL's query is a credential.
      throw new RegistryError({
        code: 'REGISTRY_UNREACHABLE', ref: this.#name, transient: true, cause: err,
        message: `GitHub Actions cache ${this.#name}: cannot reach ${hostOf(url)}: ${err instanceof Error ? err.message : String(err)}`,
        hint: 'the runner\'s cache service is unreachable; the build goes on without the cache where it can',
      });
    }
  }

  #statusError(what: string, status: number, detail = ''): RegistryError {
    const auth = status === 401 || status === 403;
    return new RegistryError({
      code: auth ? 'REGISTRY_AUTH' : 'REGISTRY_REQUEST', ref: this.#name, status,
      message: `GitHub Actions cache ${this.#name}: ${what} failed with HTTP ${status}${detail ? `: ${detail}` : ''}`,
      hint: auth ? 'the runtime token (ACTIONS_RUNTIME_TOKEN or token=) is missing, expired or not for this service' : 'a 429 means the repository\'s cache is throttled; see the service\'s message',
    });
  }

  #error(code: 'REGISTRY_REQUEST', message: string): RegistryError {
    return new RegistryError({ code, ref: this.#name, message: `GitHub Actions cache ${this.#name}: ${message}`, hint: 'the cache service answered unexpectedly; try again, or build without this cache' });
  }
}

/** A Twirp error body's `msg` (`{"code":"…","msg":"…"}`), cut short; '' for anything else. */
function twirpMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { msg?: unknown };
    return typeof parsed.msg === 'string' ? parsed.msg.slice(0, 300) : '';
  } catch {
    return '';
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the cache service';
  }
}
