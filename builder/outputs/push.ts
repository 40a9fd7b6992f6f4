import PQueue from 'p-queue';
import type { FileContentStore } from '../../worker/index.js';
import { parseReference, type Descriptor, type RegistryClient, type Repository } from '../../registry/index.js';
import type { AssembledImage } from '../image/assemble.js';
import type { ProgressWriter } from '../progress/index.js';

/** How many blobs one push uploads at once. */
const PUSH_CONCURRENCY = 4;

/**
 * Pushes `image` to `name`: every blob is HEADed first and only missing ones are sent (layers of the base image are
 * mounted from its repository when it lives on the same registry), then the manifest is PUT last, so a reader never
 * sees a manifest whose blobs are not all there.
 */
export async function pushImage(
  client: RegistryClient, store: FileContentStore, image: AssembledImage, name: string,
  mountSources: Map<string, Repository>, progress: ProgressWriter, signal: AbortSignal,
): Promise<void> {
  const ref = parseReference(name);
  const blobs: Descriptor[] = [...image.manifest.layers, image.configDescriptor];
  const outcomes = { exists: 0, mounted: 0, uploaded: 0 };
  const queue = new PQueue({ concurrency: PUSH_CONCURRENCY });
  await queue.addAll(blobs.map((desc) => async () => {
    const origin = mountSources.get(desc.digest);
    const mountFrom = origin && origin.registry === ref.registry && origin.path !== ref.path ? origin : undefined;
    outcomes[await client.pushBlob(ref, desc, () => store.read(desc.digest), mountFrom, signal)]++;
  }));
  await client.putManifest(ref, image.manifestDescriptor.mediaType, image.manifestBytes, signal);
  progress.note(`pushed ${name}@${image.manifestDescriptor.digest}: ${outcomes.uploaded} blobs uploaded, ${outcomes.mounted} mounted, ${outcomes.exists} already there`);
}
