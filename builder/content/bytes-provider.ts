import { Readable } from 'node:stream';
import type { Descriptor, Digest } from '../../registry/index.js';
import type { BlobProvider } from './target.js';

/** Blobs held in memory (a config, a manifest just made) as a provider. */
export class BytesProvider implements BlobProvider {
  readonly #blobs = new Map<Digest, Uint8Array>();

  constructor(blobs: { descriptor: Descriptor; bytes: Uint8Array }[]) {
    for (const b of blobs) this.#blobs.set(b.descriptor.digest, b.bytes);
  }

  async has(desc: Descriptor): Promise<boolean> {
    return this.#blobs.has(desc.digest);
  }

  async fetch(desc: Descriptor): Promise<Readable> {
    const bytes = this.#blobs.get(desc.digest);
    if (bytes === undefined) throw new Error(`blob ${desc.digest} is not among the bytes given`);
    return Readable.from([Buffer.from(bytes)]);
  }
}
