import type { Digest } from '../../registry/oci/index.js';
import type { CacheExport } from '../cache-export.js';
import type { CacheKey } from '../cache-key.js';
import { ContentFacts } from '../content-facts.js';
import type { ContentDigest, ContentFiles, LayerRef, RemoteCache, RemoteRecord } from '../ports.js';

/** A RemoteCache over another runner's cacheExport(), in memory. Counts the layer bytes it is asked to fetch. */
export class FakeRemoteCache implements RemoteCache {
  /** Every layer digest fetchLayers() was asked for, in order. */
  readonly fetched: Digest[] = [];
  fetchedBytes = 0;
  readonly #records = new Map<Digest, RemoteRecord>();
  readonly #contents = new ContentFacts();
  readonly #locators = new Map<string, CacheKey>();
  readonly #files = new Map<string, ContentFiles>();

  constructor(exported: CacheExport, readonly ref = 'registry.test/cache:main') {
    for (const r of exported.records) {
      this.#records.set(r.key, { parts: r.parts, layers: r.layers, size: r.size, ref });
      this.#locators.set(r.locator, { digest: r.key, parts: r.parts });
      if (r.files !== undefined) this.#files.set(r.locator, r.files);
    }
    for (const c of exported.contents) this.#contents.add(c);
  }

  async lookup(key: Digest): Promise<RemoteRecord | undefined> {
    return this.#records.get(key);
  }

  async contentDigest(at: { chain?: Digest; key?: Digest }, selector: Digest): Promise<ContentDigest | undefined> {
    return this.#contents.get(at, selector);
  }

  async hasContentOf(key: Digest): Promise<boolean> {
    return this.#contents.hasContentOf(key);
  }

  async previous(locator: string): Promise<CacheKey | undefined> {
    return this.#locators.get(locator);
  }

  async previousFiles(locator: string): Promise<ContentFiles | undefined> {
    return this.#files.get(locator);
  }

  async fetchLayers(layers: LayerRef[], signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    for (const l of layers) {
      this.fetched.push(l.descriptor.digest);
      this.fetchedBytes += l.descriptor.size;
    }
  }
}
