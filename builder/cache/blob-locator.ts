import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { LayerRef, ProgressSink } from '../../solver/index.js';
import { gzipLayers, type FileContentStore } from '../../worker/index.js';
import { parseReference, type Descriptor, type Digest, type RegistryClient, type Repository } from '../../registry/index.js';
import { copy, OciLayoutDir, RepositoryTarget, StoreTarget, type BlobProvider, type CopyOutcomes, type CopyProgress } from '../content/index.js';
import type { RegistryImageSource } from '../image-source.js';
import { isOciLayoutRef } from '../oci-layout-image.js';
import type { LoadedCache } from './remote-cache-set.js';

/**
 * Where every blob of a build can be had, as one BlobProvider: the local content store, a `--cache-from` (registry
 * or directory), the repository a base image came from, or a repository this build pushed to. Remote cache hits
 * leave their layers remote; `copy` from here brings them to the content store, a push target or a cache export
 * without a detour through this machine when the registry can mount them (`mountFrom` lists who holds a blob).
 */
export class BlobLocator implements BlobProvider {
  readonly #client: RegistryClient;
  readonly #store: StoreTarget;
  readonly #contentStore: FileContentStore;
  readonly #caches: readonly LoadedCache[];
  readonly #images: RegistryImageSource;
  readonly #pushed = new Map<Digest, Repository[]>();

  constructor(client: RegistryClient, store: FileContentStore, caches: readonly LoadedCache[], images: RegistryImageSource) {
    this.#client = client;
    this.#store = new StoreTarget(store, 'cache');
    this.#contentStore = store;
    this.#caches = caches;
    this.#images = images;
  }

  /** Records that `repo` now holds `digests` (an image was pushed there): later pushes may mount from it. */
  addOrigin(repo: Repository, digests: Digest[]): void {
    for (const d of digests) this.#pushed.set(d, [...(this.#pushed.get(d) ?? []), repo]);
  }

  /** True when the local content store has the blob (the only place asked: the others are known from documents). */
  async has(desc: Descriptor): Promise<boolean> {
    return this.#store.has(desc);
  }

  /** The blob's bytes from the first place that has it: the content store, a cache, a base image's repository. */
  async fetch(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    if (await this.#store.has(desc)) return this.#store.fetch(desc);
    for (const cache of this.#caches) {
      if (!cache.config.layers.some((l) => l.descriptor.digest === desc.digest)) continue;
      const { location } = cache;
      const where = location.kind === 'dir' ? new OciLayoutDir(location.dir) : location.kind === 'store' ? location.store : new RepositoryTarget(this.#client, location.repo);
      return where.fetch(desc, signal);
    }
    const repo = this.repositoriesOf(desc.digest)[0];
    if (repo === undefined) throw new Error(`blob ${desc.digest} is neither in the content store nor in any cache or base image`);
    return new RepositoryTarget(this.#client, repo).fetch(desc, signal);
  }

  /** The content store's file of the blob, for a push to upload from (outputs/push.ts); undefined when not local. */
  async openFile(desc: Descriptor): Promise<FileHandle | undefined> {
    return (await this.#contentStore.has(desc.digest)) ? await this.#contentStore.openBlob(desc.digest) : undefined;
  }

  /**
   * `layers` as they leave the build (a cache export): the uncompressed layers this build made are gzipped, once
   * (worker gzipLayer remembers the blob), the others are returned as they are.
   */
  async outgoing(layers: LayerRef[], signal?: AbortSignal): Promise<LayerRef[]> {
    return gzipLayers(this.#contentStore, layers, signal);
  }

  /** Brings the blobs of `layers` the content store lacks into it. */
  async fetchLayers(layers: LayerRef[], signal: AbortSignal, progress: ProgressSink): Promise<void> {
    const progressOf: CopyProgress = (desc, outcome, done, total) => { if (outcome !== 'exists') progress.status(`fetched ${desc.digest.slice(7, 19)}`, done, total); };
    const missing: Descriptor[] = [];
    for (const l of layers) if (!(await this.#store.has(l.descriptor))) missing.push(l.descriptor);
    await copy(this, this.#store, missing, { signal, progress: progressOf });
  }

  /** Makes sure `target` has every blob of `blobs`: HEAD, else mount from a known repository, else upload. */
  async ensureAt(target: Repository, blobs: Descriptor[], signal?: AbortSignal): Promise<CopyOutcomes> {
    return copy(this, new RepositoryTarget(this.#client, target), blobs, { signal, mountFrom: (d) => this.repositoriesOf(d) });
  }

  /** Registry repositories known to hold `digest`: caches first, then repositories pushed to, then base images. */
  repositoriesOf(digest: Digest): Repository[] {
    const out: Repository[] = [];
    for (const c of this.#caches) {
      if (c.location.kind === 'registry' && c.config.layers.some((l) => l.descriptor.digest === digest)) out.push(c.location.repo);
    }
    out.push(...(this.#pushed.get(digest) ?? []));
    for (const image of this.#images.resolvedRefs.values()) {
      // An oci-layout:// base (a named context) is no repository to mount from; its blobs are in the store.
      if (isOciLayoutRef(image.ref)) continue;
      if (image.manifest.layers.some((l) => l.digest === digest)) out.push(parseReference(image.ref));
    }
    return out;
  }
}
