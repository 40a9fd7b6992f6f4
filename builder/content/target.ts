import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { UserError } from '../../common/index.js';
import type { Descriptor, Repository } from '../../registry/index.js';

/** What putting one blob at a target took. */
export type CopyOutcome = 'exists' | 'mounted' | 'uploaded';

/**
 * Somewhere blobs can be read from: the content store, an OCI layout directory, a registry repository, bytes in
 * memory, or several of them in order (BlobLocator). `fetch` streams the bytes and fails when the blob is not there.
 */
export interface BlobProvider {
  has(desc: Descriptor, signal?: AbortSignal): Promise<boolean>;
  fetch(desc: Descriptor, signal?: AbortSignal): Promise<Readable>;
  /**
   * The file holding exactly the blob's bytes (a content store's), read through reused buffers (common fileChunks)
   * instead of a stream; undefined when the blob is not a local file (then `fetch`). The caller closes it.
   */
  openFile?(desc: Descriptor): Promise<FileHandle | undefined>;
}

/**
 * Somewhere blobs can also be written to. `push` makes sure the target holds the blob: 'exists' when it did already,
 * else it writes the bytes of `open()` (called again for a retry) and nothing is visible until they are complete.
 * A registry repository also names itself (`repository`) and can `mount` a blob from another repository of the same
 * registry: HEAD, then the mount, then an upload when the registry declines, as one round of requests. Who may be
 * mounted from is decided once, by `copy` (mountSource), never by a target.
 */
export interface BlobTarget extends BlobProvider {
  push(desc: Descriptor, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome>;
  /** As push, from a local file (a provider's openFile, which the caller closes), copied by the kernel. */
  pushFile?(desc: Descriptor, file: FileHandle, signal?: AbortSignal): Promise<CopyOutcome>;
  readonly repository?: Repository;
  mount?(desc: Descriptor, from: Repository, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome>;
}

/** A content store's file of a blob that does not hold `size` bytes, its descriptor's size: it was damaged. */
export function storeBlobDamaged(desc: Descriptor, size: number): UserError {
  const holds = size < desc.size ? `ends at byte ${size} of ${desc.size}` : `holds ${size} bytes, not the ${desc.size} of its descriptor`;
  return new UserError('DIGEST_MISMATCH', `blob ${desc.digest} in the content store ${holds}`, 'the local copy of the blob is damaged: build the image again (or prune, then build)');
}
