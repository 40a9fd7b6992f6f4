import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
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
  readonly repository?: Repository;
  mount?(desc: Descriptor, from: Repository, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome>;
}
