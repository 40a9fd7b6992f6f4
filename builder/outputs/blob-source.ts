import type { Readable } from 'node:stream';
import type { Digest } from '../../registry/oci/index.js';

/** What the outputs need from the content store: a blob's bytes as a stream. */
export interface BlobSource {
  read(digest: Digest): Promise<Readable>;
}
