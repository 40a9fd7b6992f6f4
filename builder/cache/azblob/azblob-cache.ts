import { createHash, randomUUID } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { DEFAULT_RETRY, RegistryError, withRetry, type Descriptor } from '../../../registry/index.js';
import { downloadDispatcher } from '../../../worker/index.js';
import { fileChunks, USER_AGENT } from '../../../common/index.js';
import { storeBlobDamaged, type CopyOutcome } from '../../content/index.js';
import type { CacheStore } from '../cache-store.js';
import { readIndexBody, verifiedBlob } from '../store-io.js';
import { sendParts, splitBlob, type PartBody, type PartSource } from '../blob-parts.js';
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
 * How an AzblobCache cuts blobs. The defaults are BuildKit's (UploadStream with IOChunkSize 32 MiB blocks, 4 at a
 * time: cache/remotecache/azblob utils.go) and Azure's limit; tests make them small.
 */
export interface AzblobBlockSizes {
  /** A block's size; a blob read from a local file goes up in blocks when it is longer than one. */
  blockSize: number;
  /**
   * The largest blob one Put Blob writes (5000 MiB, Azure's limit). A blob known only as a stream goes up in one Put
   * Blob up to it (nothing held in memory), in blocks buffered in memory above it.
   */
  maxSingleBytes: number;
}

const DEFAULT_SIZES: AzblobBlockSizes = { blockSize: 32 * 1024 ** 2, maxSingleBytes: 5000 * 1024 ** 2 };
/** Blocks of one blob in flight at once (BuildKit's IOConcurrency). */
const BLOCK_CONCURRENCY = 4;
/** Azure's most committed blocks in a blob. */
const MAX_BLOCKS = 50_000;

/**
 * A `type=azblob` cache: each blob at `PREFIX/BLOBS_PREFIX/sha256:…` (BuildKit's layout, so the layers of both
 * builders' caches are shared blobs), the cache manifest at `PREFIX/MANIFESTS_PREFIX/NAME`, overwritten by each export.
 * The manifest is tsbuild's own document: BuildKit's at the same name is not read (a warning, the build goes on).
 *
 * Requests are signed with the account key (Shared Key, shared-key.ts) and sent with undici: Get Blob Properties
 * (HEAD) before a blob is written, Put Blob (one request, `If-None-Match: *` as BuildKit writes blobs: a blob another
 * writer put there first is as good), Get Blob. A big blob read from the content store goes up as BuildKit's
 * UploadStream sends it: Put Block for each block (blob-parts.ts checks the whole blob's digest before the last
 * block), each retried on its own, then Put Block List with `If-None-Match: *`.
 * Blocks never committed are dropped by Azure after a week. An export creates the container when a write finds it
 * missing; a missing container on import is no cache. Every blob read is checked against its digest.
 */
export class AzblobCache implements CacheStore {
  readonly name: string;
  readonly #at: AzblobLocation;
  readonly #key: Buffer;
  readonly #sizes: AzblobBlockSizes;
  readonly #dispatcher: Dispatcher;

  constructor(at: AzblobLocation, sizes: Partial<AzblobBlockSizes> = {}, dispatcher: Dispatcher = downloadDispatcher()) {
    this.#at = at;
    this.#key = Buffer.from(at.secretAccessKey, 'base64');
    this.#sizes = { ...DEFAULT_SIZES, ...sizes };
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

  /** A blob known only as a stream: one Put Blob, streamed, up to maxSingleBytes; above it, blocks held in memory. */
  async push(desc: Descriptor, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome> {
    if (await this.has(desc, signal)) return 'exists';
    if (desc.size <= this.#sizes.maxSingleBytes) await this.#put(this.#blobKey(desc), desc.size, open, { 'if-none-match': '*' }, signal);
    else await this.#putBlocks(this.#blobKey(desc), desc, { stream: await open() }, signal);
    return 'uploaded';
  }

  /** A blob in the content store: one Put Blob up to a block's size, else blocks read from the file. */
  async pushFile(desc: Descriptor, file: FileHandle, signal?: AbortSignal): Promise<CopyOutcome> {
    if (await this.has(desc, signal)) return 'exists';
    const open = async (): Promise<Readable> => Readable.from(fileChunks(file, desc.size, (at) => storeBlobDamaged(desc, at)));
    if (desc.size <= this.#sizes.blockSize) await this.#put(this.#blobKey(desc), desc.size, open, { 'if-none-match': '*' }, signal);
    else await this.#putBlocks(this.#blobKey(desc), desc, { file }, signal);
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
  #blobUrl(key: string, query: Record<string, string> = {}): URL {
    const url = new URL(`${this.#containerUrl().href}/${encodeURIComponent(key)}`);
    // Percent-encoded (a block id's `+`, `/`, `=`); Shared Key signs the decoded values (shared-key.ts).
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return url;
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

  /**
   * The blob as blocks: Put Block of each (ids of one length, as Azure wants them: a random prefix, so that two
   * writers' blocks never mix, and the block's number), then Put Block List with `If-None-Match: *`, which a blob
   * another writer committed first answers with BlobAlreadyExists (409) or ConditionNotMet (412): as good.
   */
  async #putBlocks(key: string, desc: Descriptor, source: PartSource, signal?: AbortSignal): Promise<void> {
    const blocks = splitBlob(desc.size, this.#sizes.blockSize, MAX_BLOCKS);
    const prefix = randomUUID();
    const ids = blocks.map((b) => Buffer.from(`${prefix}-${String(b.number).padStart(6, '0')}`).toString('base64'));
    await sendParts(source, { desc, parts: blocks, partSha256: false, concurrency: BLOCK_CONCURRENCY, signal }, (body, blockSignal) => this.#putBlock(key, ids[body.part.number - 1] ?? '', body, blockSignal));
    const list = Buffer.from(`<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.map((id) => `<Latest>${id}</Latest>`).join('')}</BlockList>`);
    await withRetry(`azblob Put Block List ${key}`, DEFAULT_RETRY, async () => {
      const res = await this.#send('PUT', this.#blobUrl(key, { comp: 'blocklist' }), {
        'content-length': String(list.length), 'content-type': 'application/xml', 'content-md5': createHash('md5').update(list).digest('base64'),
        'if-none-match': '*', 'x-ms-blob-content-type': 'application/octet-stream',
      }, Readable.from([list]), signal);
      await res.body.dump();
      if (res.statusCode === 201 || (res.statusCode === 409 && errorCode(res) === 'BlobAlreadyExists') || res.statusCode === 412) return;
      throw this.#statusError(`Put Block List ${key}`, res);
    }, undefined, signal);
  }

  /**
   * Put Block: one block, tried again on its own; a missing container is created first. No Content-MD5, as BuildKit
   * sends none: TLS guards the bytes on the way, and the blob is checked against its digest before it is committed.
   */
  async #putBlock(key: string, id: string, body: PartBody, signal: AbortSignal): Promise<void> {
    const what = `Put Block ${body.part.number} of ${key}`;
    const putOnce = async (): Promise<Dispatcher.ResponseData> => {
      const stream = body.open();
      try {
        const res = await this.#send('PUT', this.#blobUrl(key, { comp: 'block', blockid: id }), { 'content-length': String(body.part.size) }, stream, signal);
        await res.body.dump();
        return res;
      } finally {
        stream.destroy();
      }
    };
    await withRetry(`azblob ${what}`, DEFAULT_RETRY, async () => {
      let res = await putOnce();
      if (res.statusCode === 404 && errorCode(res) === 'ContainerNotFound') {
        await this.#createContainer(signal);
        res = await putOnce();
      }
      if (res.statusCode !== 201) throw this.#statusError(what, res);
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
