import type { Readable } from 'node:stream';
import type { Descriptor, RegistryClient, Repository } from '../../registry/index.js';
import type { BlobTarget, CopyOutcome } from './target.js';

/** A registry repository as a blob target: HEAD, GET and the client's push (HEAD, mount, upload). */
export class RepositoryTarget implements BlobTarget {
  readonly repository: Repository;
  readonly #client: RegistryClient;

  constructor(client: RegistryClient, repository: Repository) {
    this.#client = client;
    this.repository = { registry: repository.registry, path: repository.path };
  }

  has(desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
    return this.#client.hasBlob(this.repository, desc.digest, signal);
  }

  fetch(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    return this.#client.fetchBlob(this.repository, desc, signal);
  }

  push(desc: Descriptor, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome> {
    return this.#client.pushBlob(this.repository, desc, open, undefined, signal);
  }

  mount(desc: Descriptor, from: Repository, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome> {
    return this.#client.pushBlob(this.repository, desc, open, from, signal);
  }
}
