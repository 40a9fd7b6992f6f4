import {
  formatPlatform, formatRepository, parseReference, type Descriptor, type Digest, type Reference, type RegistryClient, type Repository,
} from '../../registry/index.js';
import type { Readable } from 'node:stream';
import { copy, RepositoryTarget, type BlobProvider, type BlobTarget, type CopyOutcome } from '../content/index.js';
import type { AssembledImage } from '../image/assemble.js';
import type { AssembledIndex } from '../multi-platform.js';
import type { ProgressWriter } from '../progress/index.js';
import { formatSize } from '../options/units.js';

/** Where a push reads blobs from, and which repositories are known to hold each (to mount from). */
export interface PushSource extends BlobProvider {
  repositoriesOf(digest: Digest): readonly Repository[];
  /**
   * What this process's own HEAD of the blob in the target repository answered just before the push (a push plan):
   * 'exists' is not asked again, 'missing' goes straight to its mount or upload. Undefined: the push HEADs it.
   */
  headAnswer?(digest: Digest): 'exists' | 'missing' | undefined;
}

/** The uploads of one push, by digest. */
type InFlight = Map<Digest, Promise<CopyOutcome>>;

/** Told what the push did with each blob (a push plan compares it with what it expected: push-plan.ts). */
export type BlobOutcomeSink = (desc: Descriptor, outcome: CopyOutcome) => void;

/**
 * Pushes `image` to `name`: every blob is HEADed first and only missing ones are sent (layers of the base image are
 * mounted from a repository of the same registry known to hold them: a base image, a cache, an earlier push), then the manifest is PUT last, so a reader never
 * sees a manifest whose blobs are not all there. `byDigest`: the manifest is PUT under its digest only, no tag (a
 * platform manifest of an index, or `push-by-digest=true`). Returns the pushed manifest's canonical reference.
 */
export async function pushImage(
  client: RegistryClient, source: PushSource, image: AssembledImage, name: string,
  progress: ProgressWriter, signal: AbortSignal, byDigest = false, onBlob?: BlobOutcomeSink, manifestAfter?: Promise<unknown>,
  inFlight: InFlight = new Map(),
): Promise<string> {
  const named = parseReference(name);
  const digest = image.manifestDescriptor.digest;
  const ref: Reference = byDigest ? { registry: named.registry, path: named.path, digest } : named;
  // Biggest first: with more blobs than copy's concurrency, the longest upload must not wait for a slot.
  const blobs: Descriptor[] = [...image.manifest.layers, image.configDescriptor].sort((a, b) => b.size - a.size);
  // A push is a step of its own in the progress output, so a long upload always shows how far it got.
  const platform = image.manifestDescriptor.platform;
  const shown = byDigest ? `${formatRepository(ref)}@${digest}${platform ? ` (${formatPlatform(platform)})` : ''}` : name;
  const vertex = `push ${shown}`;
  const started = Date.now();
  const total = blobs.reduce((n, d) => n + d.size, 0);
  progress.event({ type: 'start', vertex, text: `pushing ${shown}`, reasons: [], time: started });
  const target = new PushTarget(client, ref, source, inFlight);
  const outcomes = await copy(source, target, blobs, {
    signal, mountFrom: (d) => source.repositoriesOf(d),
    progress: (desc, outcome, done) => {
      onBlob?.(desc, outcome);
      progress.event({ type: 'status', vertex, text: `${desc.digest.slice(7, 19)} ${outcome} (${formatSize(desc.size)})`, current: done, total, time: Date.now() });
    },
  });
  await manifestAfter;
  await client.putManifest(ref, image.manifestDescriptor.mediaType, image.manifestBytes, signal);
  const secs = Math.max(0.001, (Date.now() - started) / 1000);
  progress.event({ type: 'status', vertex, text: `manifest ${image.manifestDescriptor.digest}: ${outcomes.uploaded} blobs uploaded, ${outcomes.mounted} mounted, ${outcomes.exists} already there, ${formatSize(total / secs)}/s`, time: Date.now() });
  progress.event({ type: 'done', vertex, time: Date.now(), durationMs: Date.now() - started, size: 0 });
  return `${formatRepository(ref)}@${digest}`;
}

/**
 * Pushes a multi-platform image to `name`: each platform's image and attestation manifest by digest, then the index last, under the tag (or
 * by digest only with `byDigest`). Returns the index's canonical reference. The blobs of all of them move side by
 * side; each manifest still goes up after its own blobs, the attestation manifests after the image manifests they
 * describe, and the index after everything.
 */
export async function pushIndex(
  client: RegistryClient, source: PushSource, index: AssembledIndex, name: string,
  progress: ProgressWriter, signal: AbortSignal, byDigest = false, onBlob?: BlobOutcomeSink,
): Promise<string> {
  // One upload of each blob, however many of the manifests name it (a layer every platform COPYs alike, the empty
  // config of every attestation artifact): two uploads of one new blob at once make distribution 2.8 answer
  // DIGEST_INVALID to one of them. containerd's pusher serialises them the same way (per-digest locks).
  const inFlight: InFlight = new Map();
  const images = allDone(index.images.map((image) => pushImage(client, source, image, name, progress, signal, true, onBlob, undefined, inFlight)));
  const attestations = allDone((index.attestations ?? []).map((image) => pushImage(client, source, image, name, progress, signal, true, onBlob, images, inFlight)));
  await allDone([images, attestations]);
  const named = parseReference(name);
  const digest = index.indexDescriptor.digest;
  const ref: Reference = byDigest ? { registry: named.registry, path: named.path, digest } : named;
  await client.putManifest(ref, index.indexDescriptor.mediaType, index.indexBytes, signal);
  progress.note(`pushed index ${digest} (${index.images.length} platforms) to ${byDigest ? `${formatRepository(ref)}@${digest}` : name}`);
  return `${formatRepository(ref)}@${digest}`;
}

/** Waits for every promise, then throws the first failure: no upload is left running behind an error. */
async function allDone(promises: Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(promises);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
}

/**
 * The push's repository target: the client's push (HEAD, mount, upload), except that it takes the answers of the
 * HEADs a push plan has just sent instead of sending them again (every blob is still asked about once per push, not
 * twice), and uploads a blob the source holds as a file from that file.
 */
class PushTarget implements BlobTarget {
  readonly repository: Repository;
  readonly #client: RegistryClient;
  readonly #inner: RepositoryTarget;
  readonly #source: PushSource;
  readonly #inFlight: InFlight;

  constructor(client: RegistryClient, repository: Repository, source: PushSource, inFlight: InFlight) {
    this.#client = client;
    this.#inner = new RepositoryTarget(client, repository);
    this.repository = this.#inner.repository;
    this.#source = source;
    this.#inFlight = inFlight;
  }

  has(desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
    return this.#inner.has(desc, signal);
  }

  fetch(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    return this.#inner.fetch(desc, signal);
  }

  push(desc: Descriptor, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome> {
    return this.#put(desc, open, undefined, signal);
  }

  mount(desc: Descriptor, from: Repository, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome> {
    return this.#put(desc, open, from, signal);
  }

  /** The blob put once per push: a second image naming it waits for the first upload, and finds it there. */
  async #put(desc: Descriptor, open: () => Promise<Readable>, from: Repository | undefined, signal?: AbortSignal): Promise<CopyOutcome> {
    const running = this.#inFlight.get(desc.digest);
    if (running !== undefined) {
      await running;
      return 'exists';
    }
    const put = this.#putOnce(desc, open, from, signal);
    this.#inFlight.set(desc.digest, put);
    return await put;
  }

  async #putOnce(desc: Descriptor, open: () => Promise<Readable>, from: Repository | undefined, signal?: AbortSignal): Promise<CopyOutcome> {
    const answer = this.#source.headAnswer?.(desc.digest);
    if (answer === 'exists') return 'exists';
    const source = this.#source;
    const openFile = source.openFile;
    const bytes = openFile === undefined ? open : async () => {
      const file = await openFile.call(source, desc);
      return file === undefined ? await open() : { file };
    };
    return await this.#client.pushBlob(this.repository, desc, bytes, from, signal, answer === 'missing');
  }
}
