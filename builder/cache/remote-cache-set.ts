import { ContentFacts, type CacheKey, type ContentDigest, type ContentFiles, type LayerRef, type ProgressSink, type RemoteCache, type RemoteRecord } from '../../solver/index.js';
import type { Descriptor, Digest } from '../../registry/oci/index.js';
import type { Repository } from '../../registry/index.js';
import type { CacheStore } from './cache-store.js';
import { contentFactsOf, parseFilesBlob, type CacheConfig } from './cache-format.js';

/** Where a loaded cache's blobs are read from. */
export type CacheLocation = { kind: 'registry'; repo: Repository } | { kind: 'dir'; dir: string } | { kind: 'store'; store: CacheStore };

/** One `--cache-from` after loading: its documents are here, its layers still where they were. */
export interface LoadedCache { ref: string; location: CacheLocation; config: CacheConfig }

/** Fetches layer blobs into the content store (BlobLocator.fetch). */
export type LayerFetch = (layers: LayerRef[], signal: AbortSignal, progress: ProgressSink) => Promise<void>;

/** Reads a small blob of a loaded cache whole, verified against its descriptor (a record's files blob). */
export type DocumentRead = (cache: LoadedCache, desc: Descriptor) => Promise<Uint8Array>;

/** A key exported at a locator, the cache it came from, and its files blob. */
interface LocatedKey { key: CacheKey; cache: LoadedCache; files?: Descriptor }

/**
 * The solver's RemoteCache over every loaded `--cache-from`, the first listed winning a key they share. Lookups
 * read the loaded documents only; fetchLayers is the one place layer bytes move.
 */
export class RemoteCacheSet implements RemoteCache {
  readonly caches: readonly LoadedCache[];
  readonly #records = new Map<Digest, RemoteRecord>();
  readonly #contents = new ContentFacts();
  readonly #locators = new Map<string, LocatedKey>();
  readonly #fetch: LayerFetch;
  readonly #read: DocumentRead;
  /** Files blobs read (or being read), by digest: steps sharing one read it once. */
  readonly #files = new Map<Digest, Promise<ContentFiles | undefined>>();

  constructor(caches: LoadedCache[], fetch: LayerFetch, read: DocumentRead) {
    this.caches = caches;
    this.#fetch = fetch;
    this.#read = read;
    for (const cache of caches) {
      const { config } = cache;
      for (const r of config.records) {
        if (this.#records.has(r.key)) continue;
        const layers = r.layers.map((i) => config.layers[i]).filter((l): l is LayerRef => l !== undefined);
        this.#records.set(r.key, { parts: r.parts, layers, size: r.size, ref: cache.ref, ...(r.created !== undefined ? { created: r.created } : {}) });
        if (r.locator !== '' && !this.#locators.has(r.locator)) this.#locators.set(r.locator, { key: { digest: r.key, parts: r.parts }, cache, ...(r.files !== undefined ? { files: r.files } : {}) });
      }
      for (const c of contentFactsOf(config)) this.#contents.add(c);
    }
  }

  /** How many records the loaded caches hold. */
  get size(): number { return this.#records.size; }

  /** The caches that list `digest` among their layers, first listed first. */
  holders(digest: Digest): LoadedCache[] {
    return this.caches.filter((c) => c.config.layers.some((l) => l.descriptor.digest === digest));
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
    return this.#locators.get(locator)?.key;
  }

  /**
   * The per-file digests behind the content of the key exported at `locator`, read from its files blob on first
   * ask; undefined when the record has none (written by an older tsbuild, or too large) or it cannot be read: a miss is
   * then explained without the files, never failed for want of them.
   */
  async previousFiles(locator: string): Promise<ContentFiles | undefined> {
    const at = this.#locators.get(locator);
    if (at?.files === undefined) return undefined;
    const desc = at.files;
    let files = this.#files.get(desc.digest);
    if (files === undefined) {
      files = this.#read(at.cache, desc).then((bytes) => parseFilesBlob(bytes, at.cache.ref)).catch(() => undefined);
      this.#files.set(desc.digest, files);
    }
    return files;
  }

  async fetchLayers(layers: LayerRef[], signal: AbortSignal, progress: ProgressSink): Promise<void> {
    await this.#fetch(layers, signal, progress);
  }
}
