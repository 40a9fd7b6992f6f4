import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import aws4 from 'aws4';
import { request, type Dispatcher } from 'undici';
import { DEFAULT_RETRY, RegistryError, withRetry, type Descriptor } from '../../../registry/index.js';
import { downloadDispatcher } from '../../../worker/index.js';
import { readStreamBounded, USER_AGENT } from '../../../common/index.js';
import type { CopyOutcome } from '../../content/index.js';
import type { CacheStore } from '../cache-store.js';
import { readIndexBody, verifiedBlob } from '../store-io.js';

/** AWS credentials as the S3 API signs with them (attributes, else AWS_ACCESS_KEY_ID … of the environment). */
export interface S3Credentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

/** Where a `type=s3` cache lives, as BuildKit's cache/remotecache/s3 lays it out. */
export interface S3Location {
  bucket: string;
  region: string;
  /** `endpoint_url`: an S3-compatible service (MinIO, R2 …); absent: AWS's `s3.REGION.amazonaws.com`. */
  endpoint?: string;
  /** `use_path_style`: `ENDPOINT/BUCKET/KEY` instead of `BUCKET.ENDPOINT/KEY`. */
  pathStyle: boolean;
  /** `prefix`, `blobs_prefix` (default `blobs/`), `manifests_prefix` (default `manifests/`). */
  prefix: string;
  blobsPrefix: string;
  manifestsPrefix: string;
  /** `name` (default `buildkit`, `;` between several): the manifests written; the first is read. */
  names: string[];
  credentials: S3Credentials;
  /** `touch_refresh` (default 24h): a blob found older than this is copied onto itself, so lifecycle rules spare it. */
  touchRefreshMs: number;
}

/** S3's largest CopyObject source: a bigger blob would need a multipart copy, and is left untouched. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;

/**
 * A `type=s3` cache: each blob at `PREFIX BLOBS_PREFIX sha256:…` (BuildKit's layout, so the layers of both builders'
 * caches are shared objects), the cache manifest at `PREFIX MANIFESTS_PREFIX NAME`, overwritten by each export. The
 * manifest is tsbuild's own document: BuildKit's at the same name is not read (a warning, the build goes on).
 *
 * Requests are signed with AWS Signature Version 4 by aws4 (the signer the AWS JavaScript SDK v2 used, for a handful
 * of object calls where the whole SDK would weigh on every command's start-up snapshot) and sent with undici. A
 * blob's PUT carries its sha256 as `x-amz-content-sha256`: the signature covers the content and S3 refuses bytes
 * that do not match. Every blob read is checked against its digest.
 */
export class S3Cache implements CacheStore {
  readonly name: string;
  readonly #at: S3Location;
  readonly #dispatcher: Dispatcher;

  constructor(at: S3Location, dispatcher: Dispatcher = downloadDispatcher()) {
    this.#at = at;
    this.#dispatcher = dispatcher;
    this.name = s3CacheName(at);
  }

  async has(desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
    return (await this.#head(desc, signal)) !== undefined;
  }

  /** HEAD of a blob: when it was last written (epoch ms; 0 if S3 did not say), or undefined when it is not there. */
  async #head(desc: Descriptor, signal?: AbortSignal): Promise<number | undefined> {
    return withRetry(`s3 HEAD ${desc.digest}`, DEFAULT_RETRY, async () => {
      const res = await this.#send('HEAD', this.#blobKey(desc), {}, undefined, signal);
      await res.body.dump();
      if (res.statusCode === 404) return undefined;
      if (res.statusCode !== 200) throw this.#statusError(`HEAD ${desc.digest}`, res.statusCode);
      const modified = Date.parse(String(res.headers['last-modified'] ?? ''));
      return Number.isNaN(modified) ? 0 : modified;
    }, undefined, signal);
  }

  async fetch(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    const res = await this.#get(this.#blobKey(desc), signal);
    if (res === undefined) throw new RegistryError({ code: 'IMAGE_NOT_FOUND', ref: this.name, message: `cache ${this.name}: blob ${desc.digest} is not in the bucket`, hint: 'a lifecycle rule may have removed it; the next --cache-to writes it again' });
    return verifiedBlob(res.body, desc, this.name);
  }

  async push(desc: Descriptor, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome> {
    const modified = await this.#head(desc, signal);
    if (modified !== undefined) {
      // BuildKit's touch: a blob every export still names, but written long ago, would be taken by a lifecycle rule
      // that expires old objects while the manifest keeps naming it. A copy onto itself makes it new again.
      if (Date.now() - modified > this.#at.touchRefreshMs && desc.size < MAX_COPY_BYTES) await this.#touch(this.#blobKey(desc), signal);
      return 'exists';
    }
    await this.#put(this.#blobKey(desc), desc.size, desc.digest.slice('sha256:'.length), open, signal);
    return 'uploaded';
  }

  async loadIndex(signal?: AbortSignal): Promise<Buffer | undefined> {
    const key = this.#manifestKey(this.#at.names[0] ?? 'buildkit');
    const res = await this.#get(key, signal);
    if (res === undefined) return undefined;
    return readIndexBody(res.body, this.name, key);
  }

  async saveIndex(manifest: Uint8Array, signal?: AbortSignal): Promise<string> {
    const hash = createHash('sha256').update(manifest).digest('hex');
    const keys = this.#at.names.map((n) => this.#manifestKey(n));
    for (const key of keys) await this.#put(key, manifest.length, hash, async () => Readable.from([Buffer.from(manifest)]), signal);
    return keys.join(', ');
  }

  /** CopyObject of `key` onto itself with new metadata (S3 refuses a self-copy that changes nothing). */
  async #touch(key: string, signal?: AbortSignal): Promise<void> {
    await withRetry(`s3 touch ${key}`, DEFAULT_RETRY, async () => {
      // URL-encoded as S3 wants it, but for the digest's `:`, which BuildKit sends as it is (and some S3-compatible
      // servers, s3rver among them, decode the header with decodeURI, which leaves a `%3A` alone).
      const source = `/${this.#at.bucket}/${key.split('/').map((s) => encodeRfc3986(s).replaceAll('%3A', ':')).join('/')}`;
      const res = await this.#send('PUT', key, { 'x-amz-copy-source': source, 'x-amz-metadata-directive': 'REPLACE', 'x-amz-meta-updated-at': new Date().toISOString() }, undefined, signal);
      const text = (await readStreamBounded(res.body, 64 * 1024))?.toString('utf8') ?? '';
      // A copy can fail after its 200 (S3 then sends the error in the body).
      if (res.statusCode !== 200 || s3ErrorCode(text) !== '') throw this.#statusError(`touch (CopyObject) ${key}`, res.statusCode, s3ErrorCode(text));
    }, undefined, signal);
  }

  #blobKey(desc: Descriptor): string {
    return `${this.#at.prefix}${this.#at.blobsPrefix}${desc.digest}`;
  }

  #manifestKey(name: string): string {
    return `${this.#at.prefix}${this.#at.manifestsPrefix}${name}`;
  }

  /** GET `key`: the response (status 200), or undefined for 404; a 5xx or 429 is tried again. */
  async #get(key: string, signal?: AbortSignal): Promise<Dispatcher.ResponseData | undefined> {
    return withRetry(`s3 GET ${key}`, DEFAULT_RETRY, async () => {
      const res = await this.#send('GET', key, {}, undefined, signal);
      if (res.statusCode === 200) return res;
      await res.body.dump();
      if (res.statusCode === 404) return undefined;
      throw this.#statusError(`GET ${key}`, res.statusCode);
    }, undefined, signal);
  }

  /** PUT `key` from a stream `open` makes (again for a retry: a stream is never sent twice). */
  async #put(key: string, size: number, sha256Hex: string, open: () => Promise<Readable>, signal?: AbortSignal): Promise<void> {
    await withRetry(`s3 PUT ${key}`, DEFAULT_RETRY, async () => {
      const res = await this.#send('PUT', key, { 'content-length': String(size), 'content-type': 'application/octet-stream', 'x-amz-content-sha256': sha256Hex }, await open(), signal);
      const text = (await readStreamBounded(res.body, 64 * 1024))?.toString('utf8') ?? '';
      if (res.statusCode !== 200) throw this.#statusError(`PUT ${key}`, res.statusCode, s3ErrorCode(text));
    }, undefined, signal);
  }

  /** One signed request for `key`. */
  async #send(method: 'GET' | 'HEAD' | 'PUT', key: string, headers: Record<string, string>, body: Readable | undefined, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    const { url, signed } = signS3Request(this.#at, method, key, headers);
    try {
      return await request(url, { method, headers: { ...signed, 'user-agent': USER_AGENT }, body, dispatcher: this.#dispatcher, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new RegistryError({
        code: 'REGISTRY_UNREACHABLE', ref: this.name, transient: true, cause: err,
        message: `cache ${this.name}: cannot reach ${new URL(url).host}: ${err instanceof Error ? err.message : String(err)}`,
        hint: 'check endpoint_url / region and the network; a --cache-from goes on without the cache',
      });
    }
  }

  #statusError(what: string, status: number, code = ''): RegistryError {
    const auth = status === 401 || status === 403;
    return new RegistryError({
      code: auth ? 'REGISTRY_AUTH' : 'REGISTRY_REQUEST', ref: this.name, status,
      message: `cache ${this.name}: ${what} failed with HTTP ${status}${code ? ` (${code})` : ''}`,
      hint: auth ? 'the credentials (access_key_id/secret_access_key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) are missing, wrong, or not allowed on this bucket' : 'see the S3 error code above',
    });
  }
}

/** How messages name an s3 cache: `s3://BUCKET/PREFIX` (never with a credential). */
export function s3CacheName(at: S3Location): string {
  return `s3://${at.bucket}/${at.prefix}`;
}

/**
 * The URL and signed headers of an S3 object request: virtual-hosted (`BUCKET.s3.REGION.amazonaws.com/KEY`) unless
 * path style, each key segment percent-encoded as S3 canonicalises it (aws4 encodes the path it signs the same way).
 */
export function signS3Request(at: S3Location, method: string, key: string, headers: Record<string, string>, date?: Date): { url: string; signed: Record<string, string> } {
  const endpoint = new URL(at.endpoint ?? `https://s3.${at.region}.amazonaws.com`);
  const host = at.pathStyle ? endpoint.host : `${at.bucket}.${endpoint.host}`;
  const encodedKey = key.split('/').map(encodeRfc3986).join('/');
  const base = endpoint.pathname.replace(/\/+$/, '');
  const path = `${base}${at.pathStyle ? `/${encodeRfc3986(at.bucket)}` : ''}/${encodedKey}`;
  const opts: aws4.Request = {
    host, path, method, service: 's3', region: at.region, doNotEncodePath: true,
    headers: { ...headers, ...(headers['x-amz-content-sha256'] === undefined ? { 'x-amz-content-sha256': EMPTY_SHA256 } : {}), ...(date ? { 'X-Amz-Date': amzDate(date) } : {}) },
  };
  aws4.sign(opts, { accessKeyId: at.credentials.accessKeyId, secretAccessKey: at.credentials.secretAccessKey, ...(at.credentials.sessionToken ? { sessionToken: at.credentials.sessionToken } : {}) });
  const signed: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined && k.toLowerCase() !== 'host') signed[k] = String(v);
  return { url: `${endpoint.protocol}//${host}${path}`, signed };
}

/** The sha256 of no bytes: the payload hash of a GET or HEAD. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 unreserved characters kept, everything else percent-encoded, as SigV4 wants a path segment. */
function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function amzDate(d: Date): string {
  return d.toISOString().replace(/[:-]|\.\d{3}/g, '');
}

/** `<Code>NoSuchBucket</Code>` of an S3 error body; '' when there is none. */
function s3ErrorCode(xml: string): string {
  return /<Code>([^<]{1,64})<\/Code>/.exec(xml)?.[1] ?? '';
}
