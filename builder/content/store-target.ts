import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileContentStore } from '../../worker/index.js';
import type { Descriptor } from '../../registry/index.js';
import type { BlobTarget, CopyOutcome } from './target.js';

/**
 * The content store as a blob target. Writes go through an ingest (verified, committed whole); `refPrefix` names
 * the ingests, so two copies of one blob for different reasons (a pull, a cache fetch) never share one.
 */
export class StoreTarget implements BlobTarget {
  readonly #store: FileContentStore;
  readonly #refPrefix: string;

  constructor(store: FileContentStore, refPrefix = 'copy') {
    this.#store = store;
    this.#refPrefix = refPrefix;
  }

  has(desc: Descriptor): Promise<boolean> {
    return this.#store.has(desc.digest);
  }

  fetch(desc: Descriptor): Promise<Readable> {
    return this.#store.read(desc.digest);
  }

  async push(desc: Descriptor, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome> {
    if (await this.#store.has(desc.digest)) return 'exists';
    const ingest = await this.#store.ingest(`${this.#refPrefix}-${desc.digest}`, { digest: desc.digest, size: desc.size });
    try {
      await pipeline(await open(), ingest, ...(signal ? [{ signal }] : []));
      await ingest.commit();
    } catch (err) {
      await ingest.abort();
      throw err;
    }
    return 'uploaded';
  }
}
