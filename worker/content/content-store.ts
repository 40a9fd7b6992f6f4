import type { Readable, Writable } from 'node:stream';
import type { Descriptor, Digest } from '../../registry/oci/index.js';

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
  commit(): Promise<Descriptor>;
  abort(): Promise<void>;
}
