import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { DEFAULT_RETRY, RegistryError, withRetry, type Descriptor } from '../../../registry/index.js';
import { downloadDispatcher } from '../../../worker/index.js';
import { fileChunks, readStreamBounded, USER_AGENT } from '../../../common/index.js';
import { storeBlobDamaged, type CopyOutcome } from '../../content/index.js';
import type { CacheStore } from '../cache-store.js';
import { readIndexBody, verifiedBlob } from '../store-io.js';
import { mapParts, sendParts, splitBlob, type BlobPart, type PartBody, type PartSource } from '../blob-parts.js';
import { completeMultipartXml, encodeRfc3986, s3ErrorCode, s3XmlText, signS3Request } from './s3-request.js';

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

/**
 * How an S3Cache cuts objects. The defaults are S3's limits and the AWS transfer manager's choices (the Go SDK's
 * feature/s3/transfermanager that BuildKit uploads with: 8 MiB parts, multipart from 16 MiB, 5 parts at a time);
 * tests make them small.
 */
export interface S3PartSizes {
  /** A multipart upload's part size; a blob read from a local file goes up in parts from twice this size. */
  partSize: number;
  /**
   * The largest object one PutObject or one CopyObject writes (5 GiB, S3's limit). A blob known only as a stream goes
   * up in one PUT up to it (nothing held in memory), in parts buffered in memory above it; a touch above it is a
   * multipart copy (UploadPartCopy), each part this long.
   */
  maxSingleBytes: number;
}

const DEFAULT_SIZES: S3PartSizes = { partSize: 8 * 1024 ** 2, maxSingleBytes: 5 * 1024 ** 3 };
/** Parts of one object in flight at once (the transfer manager's default concurrency). */
const PART_CONCURRENCY = 5;
/** S3's most parts in one multipart upload. */
const MAX_PARTS = 10_000;

/**
 * A `type=s3` cache: each blob at `PREFIX BLOBS_PREFIX sha256:…` (BuildKit's layout, so the layers of both builders'
 * caches are shared objects), the cache manifest at `PREFIX MANIFESTS_PREFIX NAME`, overwritten by each export. The
 * manifest is tsbuild's own document: BuildKit's at the same name is not read (a warning, the build goes on).
 *
 * Requests are signed with AWS Signature Version 4 (s3-request.ts) and sent with undici. A blob's PUT carries its
 * sha256 as `x-amz-content-sha256`: the signature covers the content and S3 refuses bytes that do not match. A big
 * blob read from the content store goes up as a multipart upload, each part signed with its own sha256 (blob-parts.ts
 * reads the file twice, and checks the whole blob's digest before the last part), each part retried on its own; a
 * failed upload is aborted. Every blob read is checked against its digest.
 */
export class S3Cache implements CacheStore {
  readonly name: string;
  readonly #at: S3Location;
  readonly #sizes: S3PartSizes;
  readonly #dispatcher: Dispatcher;

  constructor(at: S3Location, sizes: Partial<S3PartSizes> = {}, dispatcher: Dispatcher = downloadDispatcher()) {
    this.#at = at;
    this.#sizes = { ...DEFAULT_SIZES, ...sizes };
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

  /** A blob known only as a stream: one PUT, streamed, up to maxSingleBytes; above it, parts held in memory. */
  async push(desc: Descriptor, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome> {
    return this.#ensure(desc, signal, async (key) => {
      if (desc.size <= this.#sizes.maxSingleBytes) await this.#put(key, desc.size, desc.digest.slice('sha256:'.length), open, signal);
      else await this.#putParts(key, desc, { stream: await open() }, signal);
    });
  }

  /** A blob in the content store: one PUT below twice the part size, else a multipart upload read from the file. */
  async pushFile(desc: Descriptor, file: FileHandle, signal?: AbortSignal): Promise<CopyOutcome> {
    return this.#ensure(desc, signal, async (key) => {
      if (desc.size >= 2 * this.#sizes.partSize) return this.#putParts(key, desc, { file }, signal);
      const open = async (): Promise<Readable> => Readable.from(fileChunks(file, desc.size, (at) => storeBlobDamaged(desc, at)));
      return this.#put(key, desc.size, desc.digest.slice('sha256:'.length), open, signal);
    });
  }

  /** 'exists' (touched when older than touch_refresh) when the bucket holds the blob, else `upload` and 'uploaded'. */
  async #ensure(desc: Descriptor, signal: AbortSignal | undefined, upload: (key: string) => Promise<void>): Promise<CopyOutcome> {
    const modified = await this.#head(desc, signal);
    if (modified !== undefined) {
      // BuildKit's touch: a blob every export still names, but written long ago, would be taken by a lifecycle rule
      // that expires old objects while the manifest keeps naming it. A copy onto itself makes it new again.
      if (Date.now() - modified > this.#at.touchRefreshMs) await this.#touch(desc, signal);
      return 'exists';
    }
    await upload(this.#blobKey(desc));
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

  /**
   * A copy of the blob onto itself with new metadata (S3 refuses a self-copy that changes nothing): CopyObject, or
   * above maxSingleBytes (CopyObject's limit) a multipart upload whose parts are UploadPartCopy ranges of the
   * object itself, as BuildKit touches a big blob.
   */
  async #touch(desc: Descriptor, signal?: AbortSignal): Promise<void> {
    const key = this.#blobKey(desc);
    const headers = { 'x-amz-metadata-directive': 'REPLACE', 'x-amz-meta-updated-at': new Date().toISOString() };
    if (desc.size <= this.#sizes.maxSingleBytes) {
      await withRetry(`s3 touch ${key}`, DEFAULT_RETRY, async () => {
        const res = await this.#send('PUT', key, { ...headers, 'x-amz-copy-source': this.#copySource(key) }, undefined, signal);
        await this.#xmlAnswer(`touch (CopyObject) ${key}`, res);
      }, undefined, signal);
      return;
    }
    const parts = splitBlob(desc.size, this.#sizes.maxSingleBytes, MAX_PARTS);
    await this.#multipart(key, desc, { 'content-type': 'application/octet-stream', 'x-amz-meta-updated-at': headers['x-amz-meta-updated-at'] }, signal, (uploadId) =>
      mapParts(parts, PART_CONCURRENCY, signal, (part, partSignal) => this.#copyPart(key, uploadId, part, partSignal)));
  }

  /**
   * `x-amz-copy-source` of `key` in this bucket: URL-encoded as S3 wants it, but for the digest's `:`, which BuildKit
   * sends as it is (and some S3-compatible servers, s3rver among them, decode the header with decodeURI, which leaves
   * a `%3A` alone).
   */
  #copySource(key: string): string {
    return `/${this.#at.bucket}/${key.split('/').map((s) => encodeRfc3986(s).replaceAll('%3A', ':')).join('/')}`;
  }

  /** A multipart upload of the blob from `source`: parts of partSize (grown to fit 10,000), each signed with its sha256. */
  async #putParts(key: string, desc: Descriptor, source: PartSource, signal?: AbortSignal): Promise<void> {
    const parts = splitBlob(desc.size, this.#sizes.partSize, MAX_PARTS);
    await this.#multipart(key, desc, { 'content-type': 'application/octet-stream' }, signal, (uploadId) =>
      sendParts(source, { desc, parts, partSha256: true, concurrency: PART_CONCURRENCY, signal }, (body, partSignal) => this.#uploadPart(key, uploadId, body, partSignal)));
  }

  /**
   * CreateMultipartUpload (with `headers`, the object's metadata), `parts` (the ETag of each part, in order), then
   * CompleteMultipartUpload. A failure aborts the upload (AbortMultipartUpload, best effort: S3 would keep the parts,
   * and bill them, until a lifecycle rule removes them) and is thrown.
   */
  async #multipart(key: string, desc: Descriptor, headers: Record<string, string>, signal: AbortSignal | undefined, parts: (uploadId: string) => Promise<string[]>): Promise<void> {
    const uploadId = await withRetry(`s3 CreateMultipartUpload ${key}`, DEFAULT_RETRY, async () => {
      const res = await this.#send('POST', key, headers, undefined, signal, { uploads: '' });
      const id = s3XmlText(await this.#xmlAnswer(`CreateMultipartUpload ${key}`, res), 'UploadId');
      if (id === '') throw new RegistryError({ code: 'REGISTRY_REQUEST', ref: this.name, status: res.statusCode, message: `cache ${this.name}: CreateMultipartUpload ${key} answered without an UploadId` });
      return id;
    }, undefined, signal);
    try {
      const etags = await parts(uploadId);
      await this.#complete(key, desc, uploadId, etags, signal);
    } catch (err) {
      await this.#abort(key, uploadId);
      throw err;
    }
  }

  /** UploadPart: the part's bytes, signed with their sha256; its ETag. Tried again on its own, from the part's file range anew. */
  async #uploadPart(key: string, uploadId: string, body: PartBody, signal: AbortSignal): Promise<string> {
    const { part, sha256 } = body;
    const what = `UploadPart ${part.number} of ${key}`;
    if (sha256 === undefined) throw new Error('unreachable: sendParts hashes each part for S3');
    return withRetry(`s3 ${what}`, DEFAULT_RETRY, async () => {
      const stream = body.open();
      try {
        const res = await this.#send('PUT', key, { 'content-length': String(part.size), 'x-amz-content-sha256': sha256.toString('hex') }, stream, signal, { partNumber: String(part.number), uploadId });
        const text = (await readStreamBounded(res.body, 64 * 1024))?.toString('utf8') ?? '';
        const etag = res.headers['etag'];
        if (res.statusCode !== 200 || typeof etag !== 'string') throw this.#statusError(what, res.statusCode, s3ErrorCode(text));
        return etag;
      } finally {
        stream.destroy();
      }
    }, undefined, signal);
  }

  /** UploadPartCopy: bytes `part` of the object itself (x-amz-copy-source-range); its ETag. */
  async #copyPart(key: string, uploadId: string, part: BlobPart, signal: AbortSignal): Promise<string> {
    const what = `UploadPartCopy ${part.number} of ${key}`;
    return withRetry(`s3 ${what}`, DEFAULT_RETRY, async () => {
      const range = `bytes=${part.start}-${part.start + part.size - 1}`;
      const res = await this.#send('PUT', key, { 'x-amz-copy-source': this.#copySource(key), 'x-amz-copy-source-range': range }, undefined, signal, { partNumber: String(part.number), uploadId });
      const etag = s3XmlText(await this.#xmlAnswer(what, res), 'ETag');
      if (etag === '') throw this.#statusError(`${what} (no ETag)`, res.statusCode);
      return etag;
    }, undefined, signal);
  }

  /**
   * CompleteMultipartUpload. A retry whose first try did complete (its answer lost) finds the upload gone
   * (NoSuchUpload): the object being there is the success it missed.
   */
  async #complete(key: string, desc: Descriptor, uploadId: string, etags: string[], signal?: AbortSignal): Promise<void> {
    const xml = Buffer.from(completeMultipartXml(etags));
    const hash = createHash('sha256').update(xml).digest('hex');
    await withRetry(`s3 CompleteMultipartUpload ${key}`, DEFAULT_RETRY, async (attempt) => {
      const res = await this.#send('POST', key, { 'content-length': String(xml.length), 'content-type': 'application/xml', 'x-amz-content-sha256': hash }, Readable.from([xml]), signal, { uploadId });
      try {
        await this.#xmlAnswer(`CompleteMultipartUpload ${key}`, res);
      } catch (err) {
        if (attempt > 1 && err instanceof RegistryError && err.registryCodes.includes('NoSuchUpload') && (await this.#head(desc, signal)) !== undefined) return;
        throw err;
      }
    }, undefined, signal);
  }

  /** AbortMultipartUpload, once, on its own short clock (the build's signal may be what failed the upload). */
  async #abort(key: string, uploadId: string): Promise<void> {
    try {
      const res = await this.#send('DELETE', key, {}, undefined, AbortSignal.timeout(30_000), { uploadId });
      await res.body.dump();
    } catch {
      // Best effort: the upload's own failure is what the user must see; S3 lifecycle rules remove what is left.
    }
  }

  /**
   * The XML body of an answer that must be 200. A copy or a completion can fail after its 200: S3 then sends the
   * error in the body, which is worth another try (the AWS SDKs retry it too).
   */
  async #xmlAnswer(what: string, res: Dispatcher.ResponseData): Promise<string> {
    const text = (await readStreamBounded(res.body, 1024 * 1024))?.toString('utf8') ?? '';
    const code = s3ErrorCode(text);
    if (res.statusCode !== 200 || code !== '') throw this.#statusError(what, res.statusCode, code, res.statusCode === 200);
    return text;
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

  /** One signed request for `key` (with a subresource `query`: `uploads`, `uploadId` …). */
  async #send(method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE', key: string, headers: Record<string, string>, body: Readable | undefined, signal?: AbortSignal, query?: Record<string, string>): Promise<Dispatcher.ResponseData> {
    const { url, signed } = signS3Request(this.#at, method, key, headers, query ? { query } : {});
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

  /** The error of an S3 answer; `transient` for one S3 may answer otherwise next time (an error after a 200). */
  #statusError(what: string, status: number, code = '', transient = false): RegistryError {
    const auth = status === 401 || status === 403;
    return new RegistryError({
      code: auth ? 'REGISTRY_AUTH' : 'REGISTRY_REQUEST', ref: this.name, status, transient, registryCodes: code ? [code] : [],
      message: `cache ${this.name}: ${what} failed with HTTP ${status}${code ? ` (${code})` : ''}`,
      hint: auth ? 'the credentials (access_key_id/secret_access_key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) are missing, wrong, or not allowed on this bucket' : 'see the S3 error code above',
    });
  }
}

/** How messages name an s3 cache: `s3://BUCKET/PREFIX` (never with a credential). */
export function s3CacheName(at: S3Location): string {
  return `s3://${at.bucket}/${at.prefix}`;
}
