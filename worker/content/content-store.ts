import type { Readable, Writable } from 'node:stream';
import type { Descriptor, Digest } from '../../registry/oci/index.js';
import type { BlockSource } from '../layers/parallel-gzip.js';

/**
 * Content-addressed blob storage. Nothing is visible until `commit` has verified it: a blob in the store is always
 * whole and matches its digest, even after a crash mid-write. The store does not know media types: descriptors it
 * returns carry `application/octet-stream` (or the media type the caller passed to `put`); callers that know better
 * (manifests, layers) keep their own descriptors.
 */
export interface ContentStore {
  info(digest: Digest): Promise<Descriptor | undefined>;
  read(digest: Digest): Promise<Readable>;
  /** Starts writing a blob. `ref` names the write for diagnostics; concurrent writes of one ref are allowed. */
  ingest(ref: string, expected?: { digest: Digest; size: number }): Promise<Ingest>;
}

/** A blob being written: end the stream, then `commit` (verify and publish) or `abort` (discard). */
export interface Ingest extends Writable {
  /**
   * Writes one chunk and resolves once it is hashed and written, so the caller may fill or free its memory again. A
   * failure rejects here, and commit rejects with it.
   */
  writeChunk(chunk: Buffer): Promise<void>;
  commit(): Promise<Descriptor>;
  abort(): Promise<void>;
}

/**
 * A blob the store can make on demand instead of keeping its bytes: a lazy layer, whose bytes are its committed
 * snapshot (worker/layers/lazy-layers.ts). `open` writes the bytes again, to be checked against `digest` and `size`.
 */
export interface LazyBlob {
  digest: Digest;
  size: number;
  /** Where the bytes come from, for error messages (`snapshot layer-…`). */
  origin: string;
  open(): BlockSource;
}

/** Looks up lazy blobs by digest. */
export interface LazyBlobs { find(digest: Digest): LazyBlob | undefined }
