import type { ProgressSink, ImageSource } from '../solver/index.js';
import type { FileContentStore } from '../worker/index.js';
import { isOciLayoutRef, ociLayoutByDigest, resolveOciLayout } from './oci-layout-image.js';
import {
  formatPlatform, MAX_MANIFEST_BYTES, parseReference, withDigest, type Descriptor, type Digest, type LocalDocuments, type ImageConfig, type ImageManifest, type Platform, type RegistryClient, type ResolvedImage,
} from '../registry/index.js';
import { copy, RepositoryTarget, StoreTarget } from './content/index.js';

/**
 * Base images from registries: resolves references for the frontend (tag → platform manifest digest + config) and
 * pulls what a FROM step needs into the content store, fetching only the blobs the store lacks.
 */
export class RegistryImageSource implements ImageSource {
  readonly #client: RegistryClient;
  readonly #store: StoreTarget;
  readonly #documents: LocalDocuments;
  readonly #resolved = new Map<Digest, ResolvedImage>();
  /**
   * Images resolved during this build, by the reference the Dockerfile wrote and the platform: every platform's own
   * (keyed by the reference alone, the second platform of a build replaced the first's, and that platform's base
   * layers were then taken for its own: rewritten, recompressed, uploaded instead of mounted).
   */
  readonly resolvedRefs = new Map<string, ResolvedImage>();

  constructor(client: RegistryClient, store: FileContentStore) {
    this.#client = client;
    this.#store = new StoreTarget(store, 'pull');
    this.#documents = storeDocuments(store);
  }

  /** The frontend's `resolveImage`: a reference as written → its normalised name, manifest digest and config. */
  async resolve(text: string, platform: Platform, signal?: AbortSignal): Promise<{ ref: string; digest: Digest; config: ImageConfig }> {
    // An OCI layout (--build-context NAME=oci-layout://DIR) is read here, its blobs copied into the store; it is kept out
    // of resolvedRefs, which lists registry repositories (pushes mount base layers from them).
    const layout = isOciLayoutRef(text);
    const image = layout ? await resolveOciLayout(text, platform, this.#store, signal) : await this.#client.resolveImage(parseReference(text), platform, signal, this.#documents);
    this.#resolved.set(image.descriptor.digest, image);
    if (!layout) this.resolvedRefs.set(`${text}|${formatPlatform(platform)}`, image);
    return { ref: image.ref, digest: image.descriptor.digest, config: image.config };
  }

  /** The registry repository a resolved image came from: pushes mount its layers from there. */
  originOf(digest: Digest): ResolvedImage | undefined { return this.#resolved.get(digest); }

  async pull(ref: string, digest: Digest, signal: AbortSignal, progress: ProgressSink): Promise<{ manifest: ImageManifest; config: ImageConfig }> {
    let image = this.#resolved.get(digest);
    if (!image) {
      // A cached FROM step of an earlier process: resolve by digest; the registry serves the same bytes.
      image = isOciLayoutRef(ref) ? await resolveOciLayout(ociLayoutByDigest(ref, digest), undefined, this.#store, signal)
        : await this.#client.resolveImage(withDigest(parseReference(ref), digest), undefined, signal, this.#documents);
      this.#resolved.set(digest, image);
    }
    const { manifest, config } = image;
    if (isOciLayoutRef(image.ref)) return { manifest, config };   // every blob was copied into the store by resolve
    const missing = [];
    for (const layer of manifest.layers) if (!(await this.#store.has(layer))) missing.push(layer);
    const total = missing.reduce((n, l) => n + l.size, 0);
    if (missing.length > 0) progress.status(`pulling ${missing.length} of ${manifest.layers.length} layers from ${image.ref}`, 0, total);
    await copy(new RepositoryTarget(this.#client, parseReference(image.ref)), this.#store, missing, {
      signal, progress: (layer, _outcome, done) => progress.status(`pulled ${layer.digest.slice(7, 19)}`, done, total),
    });
    return { manifest, config };
  }
}

/**
 * The content store as a resolve's local documents: a base image's platform manifest and config are fetched once and
 * read from the store by every later build (a tag is still asked of the registry each time: RegistryClient.resolveImage).
 */
function storeDocuments(store: FileContentStore): LocalDocuments {
  return {
    get: async (digest) => ((await store.has(digest)) ? await store.readAll(digest, MAX_MANIFEST_BYTES) : undefined),
    keep: async (bytes: Uint8Array, desc: Descriptor) => { if (!(await store.has(desc.digest))) await store.put(bytes, desc.mediaType); },
  };
}
