import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import PQueue from 'p-queue';
import type { LayerRef, ProgressSink } from '../../solver/index.js';
import type { FileContentStore } from '../../worker/index.js';
import { digestHex, parseReference, type Descriptor, type Digest, type RegistryClient, type Repository } from '../../registry/index.js';
import type { RegistryImageSource } from '../image-source.js';
import type { LoadedCache } from './remote-cache-set.js';

/** How many blobs move at once. */
const CONCURRENCY = 4;

/** What ensureAt() did, blob by blob. */
export interface BlobOutcomes { exists: number; mounted: number; uploaded: number }

/**
 * Where every blob of a build can be had: the local content store, a `--cache-from` (registry or directory), the
 * repository a base image came from, or a repository this build pushed to. Remote cache hits leave their layers
 * remote; this is how they reach the content store (fetch), a push target or a cache export (ensureAt) without a
 * detour through this machine when the registry can mount them.
 */
export class BlobLocator {
  readonly #client: RegistryClient;
  readonly #store: FileContentStore;
  readonly #caches: readonly LoadedCache[];
  readonly #images: RegistryImageSource;
  readonly #pushed = new Map<Digest, Repository[]>();

  constructor(client: RegistryClient, store: FileContentStore, caches: readonly LoadedCache[], images: RegistryImageSource) {
    this.#client = client;
    this.#store = store;
    this.#caches = caches;
    this.#images = images;
  }

  /** Records that `repo` now holds `digests` (an image was pushed there): later pushes may mount from it. */
  addOrigin(repo: Repository, digests: Digest[]): void {
    for (const d of digests) this.#pushed.set(d, [...(this.#pushed.get(d) ?? []), repo]);
  }

  /** True when the local content store has the blob. */
  async isLocal(digest: Digest): Promise<boolean> {
    return this.#store.has(digest);
  }

  /** The blob's bytes from the first place that has it: the content store, a cache, a base image's repository. */
  async open(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    if (await this.#store.has(desc.digest)) return this.#store.read(desc.digest);
    for (const cache of this.#caches) {
      if (!cache.config.layers.some((l) => l.descriptor.digest === desc.digest)) continue;
      if (cache.location.kind === 'dir') return createReadStream(join(cache.location.dir, 'blobs', 'sha256', digestHex(desc.digest)));
      return this.#client.fetchBlob(cache.location.repo, desc, signal);
    }
    const repo = this.#registryRepos(desc.digest)[0];
    if (repo === undefined) throw new Error(`blob ${desc.digest} is neither in the content store nor in any cache or base image`);
    return this.#client.fetchBlob(repo, desc, signal);
  }

  /** A repository on `target`'s registry (not `target` itself) known to hold the blob: a cross-repository mount. */
  mountFrom(digest: Digest, target: Repository): Repository | undefined {
    return this.#registryRepos(digest).find((r) => r.registry === target.registry && r.path !== target.path);
  }

  /** Brings the blobs of `layers` the content store lacks into it. */
  async fetch(layers: LayerRef[], signal: AbortSignal, progress: ProgressSink): Promise<void> {
    const missing: Descriptor[] = [];
    for (const l of layers) if (!(await this.#store.has(l.descriptor.digest)) && !missing.some((m) => m.digest === l.descriptor.digest)) missing.push(l.descriptor);
    const total = missing.reduce((n, d) => n + d.size, 0);
    let done = 0;
    const queue = new PQueue({ concurrency: CONCURRENCY });
    await queue.addAll(missing.map((desc) => async () => {
      const ingest = await this.#store.ingest(`cache-${desc.digest}`, { digest: desc.digest, size: desc.size });
      try {
        await pipeline(await this.open(desc, signal), ingest, { signal });
        await ingest.commit();
      } catch (err) {
        await ingest.abort();
        throw err;
      }
      done += desc.size;
      progress.status(`fetched ${desc.digest.slice(7, 19)}`, done, total);
    }));
  }

  /** Makes sure `target` has every blob of `blobs`: HEAD, else mount from a known repository, else upload. */
  async ensureAt(target: Repository, blobs: Descriptor[], signal?: AbortSignal): Promise<BlobOutcomes> {
    const outcomes: BlobOutcomes = { exists: 0, mounted: 0, uploaded: 0 };
    const queue = new PQueue({ concurrency: CONCURRENCY });
    await queue.addAll(blobs.map((desc) => async () => {
      outcomes[await this.#client.pushBlob(target, desc, () => this.open(desc, signal), this.mountFrom(desc.digest, target), signal)]++;
    }));
    return outcomes;
  }

  /** Registry repositories known to hold `digest`: caches first, then repositories pushed to, then base images. */
  #registryRepos(digest: Digest): Repository[] {
    const out: Repository[] = [];
    for (const c of this.#caches) {
      if (c.location.kind === 'registry' && c.config.layers.some((l) => l.descriptor.digest === digest)) out.push(c.location.repo);
    }
    out.push(...(this.#pushed.get(digest) ?? []));
    for (const image of this.#images.resolvedRefs.values()) {
      if (image.manifest.layers.some((l) => l.digest === digest)) out.push(parseReference(image.ref));
    }
    return out;
  }
}
