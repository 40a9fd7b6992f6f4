import { Readable } from 'node:stream';
import { RegistryError, type Descriptor } from '../../../registry/index.js';
import type { CopyOutcome } from '../../content/index.js';
import type { CacheStore } from '../cache-store.js';
import { readIndexBody, verifiedBlob } from '../store-io.js';
import { ActionsCacheClient, type ActionsCacheService } from './actions-cache.js';

/** Each blob's entry: content-addressed, so written once and shared by every scope and branch that may read it. */
const BLOB_KEY = 'tsbuild-blob-1-';
/** A scope's index entries are `tsbuild-index-1-SCOPE#N`, N counting up: the newest is the cache. */
const INDEX_KEY = 'tsbuild-index-1-';

/** How many index numbers a save tries past the newest before it gives up (another job writing the same scope). */
const INDEX_TRIES = 10;
/** How many keys a blob is tried under (`KEY`, `KEY#2` …) when the first is taken by an entry never finalised. */
const BLOB_TRIES = 3;

/**
 * A `type=gha` cache (BuildKit's GitHub Actions cache backend): the blobs of tsbuild's cache (layers, the config, the
 * files blobs) each as an entry named by its digest, and the cache manifest as the scope's newest index entry.
 * Keys differ from BuildKit's (`buildkit-blob-1-…`, `index-SCOPE-…`): the documents are tsbuild's, and a repository
 * moving between the two builders must not read one's index as the other's.
 *
 * Trust: what the cache holds was written by this repository's workflows, pull requests among them (GitHub scopes
 * entries by branch: a pull request reads its base branch's entries and writes its own). Every blob read is checked
 * against its digest; the index is read as any cache manifest is, bounded, and names only digests.
 */
export class GhaCache implements CacheStore {
  readonly #scope: string;
  readonly name: string;
  readonly #client: ActionsCacheClient;

  constructor(service: ActionsCacheService, scope: string) {
    this.#scope = scope;
    this.name = ghaCacheName(scope);
    this.#client = new ActionsCacheClient(service, this.name);
  }

  async has(desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
    return (await this.#lookupBlob(desc, signal)) !== undefined;
  }

  /** The blob's entry under its key, or under `KEY#N` (see push): the key is a prefix of those, and of no other blob's. */
  #lookupBlob(desc: Descriptor, signal?: AbortSignal): ReturnType<ActionsCacheClient['lookup']> {
    const key = BLOB_KEY + desc.digest;
    return this.#client.lookup(key, [key], signal);
  }

  /** The blob's bytes, checked against `desc` as they stream (a mismatch fails the stream before its end). */
  async fetch(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    const entry = await this.#lookupBlob(desc, signal);
    if (entry === undefined) throw new RegistryError({ code: 'IMAGE_NOT_FOUND', ref: this.name, message: `GitHub Actions cache ${this.name}: blob ${desc.digest} is not in the cache`, hint: 'the entry was evicted (GitHub keeps 10 GB a repository, unused entries 7 days); the next --cache-to writes it again' });
    return verifiedBlob(await this.#client.download(entry, signal), desc, this.name);
  }

  /**
   * Writes the blob unless an entry holds it. A key can be taken without holding anything a reader finds: another
   * job is writing it at this moment, or reserved it and died before finalising it (entries cannot be deleted), so
   * a taken key that no lookup finds is left and the blob written under `KEY#2`, `KEY#3`: the index this export
   * writes next must name only blobs that can be read.
   */
  async push(desc: Descriptor, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome> {
    if (await this.has(desc, signal)) return 'exists';
    for (let n = 1; n <= BLOB_TRIES; n++) {
      const key = n === 1 ? BLOB_KEY + desc.digest : `${BLOB_KEY}${desc.digest}#${n}`;
      const url = await this.#client.reserve(key, signal);
      if (url === 'exists') {
        if (await this.has(desc, signal)) return 'exists';   // finalised by another job in the meantime
        continue;
      }
      await this.#client.upload(url, desc.size, open, signal);
      await this.#client.finalize(key, desc.size, signal);
      return 'uploaded';
    }
    throw new RegistryError({ code: 'REGISTRY_REQUEST', ref: this.name, message: `GitHub Actions cache ${this.name}: blob ${desc.digest} cannot be written: its ${BLOB_TRIES} keys are taken by entries never finalised`, hint: 'other jobs are writing it now, or died writing it; the next run tries again' });
  }

  /** The scope's newest cache manifest, or undefined when the scope has none yet. */
  async loadIndex(signal?: AbortSignal): Promise<Buffer | undefined> {
    const prefix = this.#indexPrefix();
    const entry = await this.#client.lookup(prefix, [prefix], signal);
    if (entry === undefined) return undefined;
    return readIndexBody(await this.#client.download(entry, signal), this.name, `index ${entry.key}`);
  }

  /**
   * Writes `manifest` as the scope's newest index: the entry numbered one past the newest there is (entries cannot
   * be replaced). Another job saving the same scope at once takes one number, this one the next; the later
   * finalised wins, as with a tag pushed twice. Blobs must be written first: a reader trusts the index to name
   * only blobs that are there.
   */
  async saveIndex(manifest: Uint8Array, signal?: AbortSignal): Promise<string> {
    const prefix = this.#indexPrefix();
    const newest = await this.#client.lookup(prefix, [prefix], signal);
    const last = newest === undefined ? 0 : Number.parseInt(newest.key.slice(prefix.length), 10);
    let n = Number.isSafeInteger(last) && last > 0 ? last : 0;
    for (let tries = 0; tries < INDEX_TRIES; tries++) {
      const key = `${prefix}${++n}`;
      const url = await this.#client.reserve(key, signal);
      if (url === 'exists') continue;
      await this.#client.upload(url, manifest.length, async () => Readable.from([manifest]), signal);
      await this.#client.finalize(key, manifest.length, signal);
      return key;
    }
    throw new RegistryError({ code: 'REGISTRY_REQUEST', ref: this.name, message: `GitHub Actions cache ${this.name}: no free index entry after ${prefix}${n - INDEX_TRIES} (${INDEX_TRIES} taken)`, hint: 'other jobs are writing the same scope; give each its own scope=' });
  }

  #indexPrefix(): string {
    return `${INDEX_KEY}${this.#scope}#`;
  }
}

/** How messages name a gha cache: `gha:SCOPE`. */
export function ghaCacheName(scope: string): string {
  return `gha:${scope}`;
}

/** The scope as BuildKit takes it: `scope=` or `buildkit`. */
export const DEFAULT_GHA_SCOPE = 'buildkit';
