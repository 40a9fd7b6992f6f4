import type { Readable } from 'node:stream';
import { MAX_MANIFEST_BYTES, RegistryError, type Descriptor } from '../../registry/index.js';
import type { BlobTarget } from '../content/index.js';
import { readStreamBounded, UserError } from '../../common/index.js';
import { GhaCache } from './gha/gha-cache.js';
import { S3Cache } from './s3/s3-cache.js';
import { AzblobCache } from './azblob/azblob-cache.js';
import type { StoreSpec } from './cache-spec.js';

/**
 * A cache backend that is a store of named objects rather than a registry or a layout directory (BuildKit's gha, s3
 * and azblob backends): blobs by digest, written once, and an index that names the newest cache manifest. Blobs are written
 * before the index, so a reader that finds an index finds what it names (until the store evicts it).
 */
export interface CacheStore extends BlobTarget {
  /** How messages name it (`gha:SCOPE`, `s3://BUCKET/PREFIX…`, `azblob://ACCOUNT/CONTAINER/PREFIX`), never with a credential. */
  readonly name: string;
  /** A blob's bytes, checked against `desc` as they stream. */
  fetch(desc: Descriptor, signal?: AbortSignal): Promise<Readable>;
  /** The newest cache manifest, or undefined when there is none yet. */
  loadIndex(signal?: AbortSignal): Promise<Buffer | undefined>;
  /** Writes `manifest` as the newest index; returns where (a key) for the note. */
  saveIndex(manifest: Uint8Array, signal?: AbortSignal): Promise<string>;
}

/** A small blob of a store (the cache config, a files blob) read whole, bounded and checked against its digest. */
export async function readStoreDocument(store: CacheStore, desc: Descriptor, signal?: AbortSignal): Promise<Buffer> {
  if (desc.size > MAX_MANIFEST_BYTES) throw new RegistryError({ code: 'REGISTRY_REQUEST', ref: store.name, message: `cache ${store.name}: ${desc.digest} is too large to be a document (${desc.size} bytes)` });
  // The fetch fails a body longer than desc.size (verifyStream), so the bound here is never what stops it.
  return (await readStreamBounded(await store.fetch(desc, signal), MAX_MANIFEST_BYTES)) ?? Buffer.alloc(0);
}

/** How many blobs an export to `spec` sends at once: s3's `upload_parallelism`, else copy's default. */
export function uploadConcurrency(spec: StoreSpec): number | undefined {
  return spec.type === 's3' ? spec.uploadParallelism : undefined;
}

/** The store of a `type=gha`, `type=s3` or `type=azblob` cache entry. */
export function openCacheStore(spec: StoreSpec): CacheStore {
  switch (spec.type) {
    case 'gha': return new GhaCache(spec.service, spec.scope);
    case 's3': return new S3Cache(spec.location);
    case 'azblob': return new AzblobCache(spec.location);
  }
}

/**
 * Runs `fn` with the build's signal, aborted also after a gha cache's `timeout` (BuildKit's default 10 minutes for a gha
 * import or export). The timeout's abort becomes the cache's error, which a `--cache-from` reports and skips and
 * `ignore-error=true` forgives; the build's own cancellation stays what it is.
 */
export async function withTimeout<T>(name: string, spec: StoreSpec, build: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  // BuildKit's s3 and azblob caches have no timeout attribute; a gha one has `timeout=` (default 10 minutes).
  const ms = spec.type === 'gha' ? spec.timeoutMs : undefined;
  if (ms === undefined) return fn(build ?? new AbortController().signal);
  const timeout = AbortSignal.timeout(ms);
  try {
    return await fn(build === undefined ? timeout : AbortSignal.any([build, timeout]));
  } catch (err) {
    if (!timeout.aborted || build?.aborted === true) throw err;
    throw new UserError('REGISTRY_UNREACHABLE', `cache ${name}: not done within its timeout (${ms / 1000} s)`, 'raise timeout= on the cache entry (a Go duration, e.g. timeout=30m), or check the cache service', { cause: err });
  }
}
