// `tsbuild push`'s work, loaded by push.ts only when the command runs: `tsbuild push --help` does not load the
// worker, the frontend, the content store or the registry client.
import type { BuildHistory, BuildSummary } from '../../solver/index.js';
import { FileContentStore } from '../../worker/index.js';
import {
  parseImageConfig, parseManifestDocument, parseReference, type Descriptor, type Digest, type Repository,
} from '../../registry/index.js';
import type { AssembledImage } from '../image/assemble.js';
import { gzippedRoot } from '../image/gzip-image.js';
import type { AssembledIndex } from '../multi-platform.js';
import { StoreTarget, type CopyOutcome } from '../content/index.js';
import type { PushSource } from '../outputs/push.js';
import { comparePush, planPush, renderPushComparison, renderPushPlan, type PushPlan } from '../push-plan.js';
import { UserError } from '../../common/index.js';
import type { RegistryFlags } from './registry-flags.js';
import type { Root } from './root.js';

export interface PushFlags extends RegistryFlags {
  imageId?: string; plan?: boolean; format: 'text' | 'json'; mountFrom: string[]; progress: 'auto' | 'plain' | 'tty' | 'quiet';
}

/** Manifests and configs are documents: read whole, with the spec's size limit. */
const DOCUMENT_LIMIT = 4 << 20;

/** An image built in the root, as the push code takes it, with where it came from. */
interface StoredImage { root: AssembledImage | AssembledIndex; build: BuildSummary }

/** Plans the push of the root's image to `ref`, and (without --plan) pushes it and compares. */
export async function pushAction(root: Root, ref: string, flags: PushFlags, signal: AbortSignal): Promise<void> {
  const target = parseReference(ref);
  if (target.digest !== undefined) throw new UserError('INVALID_ARGUMENT', `push ${ref}: a push names a tag, not a digest`, 'write registry/repository:tag');
  for (const m of flags.mountFrom) parseReference(m);
  // Shared with builds, exclusive of prune: the image's blobs stay while they are read.
  await root.lock('shared');
  const client = await root.registry();
  const history = await root.history();
  const store = await FileContentStore.open(root.dir);
  const found = await findImage(root.dir, history, store, flags.imageId);
  const { build } = found;
  // A build with no output left its own layers uncompressed in the store: they are gzipped as they leave, once.
  const image = await gzippedRoot(store, found.root, signal);
  const images = 'images' in image ? [...image.images, ...(image.attestations ?? [])] : [image];
  const candidates = [...flags.mountFrom, ...baseImages(history, build.id), ...build.tags];
  const plan = await planPush(client, ref, images.map((i) => ({ config: i.configDescriptor, layers: i.manifest.layers })), candidates, signal);
  if (flags.plan) {
    process.stdout.write(flags.format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : renderPushPlan(plan, `push plan for ${ref} (build ${build.id}; nothing sent):`));
    return;
  }
  await checkLocal(store, plan, ref);
  if (flags.format === 'text') process.stdout.write(renderPushPlan(plan, `push plan for ${ref} (build ${build.id}):`));
  const outcomes = new Map<Digest, CopyOutcome>();
  const { createProgress } = await import('../progress/index.js');
  const { pushImage, pushIndex } = await import('../outputs/push.js');
  const progress = createProgress(flags.format === 'json' && flags.progress === 'auto' ? 'quiet' : flags.progress);
  const onBlob = (desc: Descriptor, outcome: CopyOutcome) => outcomes.set(desc.digest, outcome);
  const source = followPlan(store, plan);
  let pushed: string;
  try {
    pushed = 'images' in image
      ? await pushIndex(client, source, image, ref, progress, signal, false, onBlob)
      : await pushImage(client, source, image, ref, progress, signal, false, onBlob);
  } finally {
    progress.close();
  }
  const comparison = comparePush(plan, outcomes, pushed);
  process.stdout.write(flags.format === 'json' ? `${JSON.stringify(comparison, null, 2)}\n` : renderPushComparison(comparison));
}

/**
 * The push follows the plan: blobs come from the content store, a blob the plan found in the target is not asked
 * about again, and one it found mountable is mounted from the repository it was found in (copy's same-registry guard
 * still applies).
 */
function followPlan(store: FileContentStore, plan: PushPlan): PushSource {
  const local = new StoreTarget(store);
  const from = new Map<string, Repository>();
  for (const b of plan.blobs) {
    if (b.action !== 'mount' || b.from === undefined) continue;
    const r = parseReference(b.from);
    from.set(b.digest, { registry: r.registry, path: r.path });
  }
  const answers = new Map(plan.blobs.map((b) => [b.digest, b.action === 'exists' ? 'exists' as const : 'missing' as const]));
  return {
    has: (desc) => local.has(desc),
    fetch: (desc) => local.fetch(desc),
    repositoriesOf: (digest) => { const r = from.get(digest); return r ? [r] : []; },
    // The plan HEADed every blob in the target a moment ago: the push does not ask again.
    headAnswer: (digest) => answers.get(digest),
    openFile: (desc) => store.openBlob(desc.digest),
  };
}

/** A blob the plan uploads must be in the store (a base layer taken lazily from a remote cache may not be). */
async function checkLocal(store: FileContentStore, plan: PushPlan, ref: string): Promise<void> {
  for (const b of plan.blobs) {
    if (b.action === 'upload' && !(await store.has(b.digest))) {
      throw new UserError('IMAGE_NOT_FOUND', `push ${ref}: ${b.what} ${b.digest} must be uploaded but is not in the content store`,
        'rebuild the image (the blob may have been pruned), or pass --mount-from a repository of the same registry that holds it');
    }
  }
}

/** The base images a build started from (its `FROM` steps name the resolved references): mount candidates. */
function baseImages(history: BuildHistory, buildId: string): string[] {
  const record = history.getBuild(buildId);
  return (record?.vertices ?? []).flatMap((v) => /^FROM (\S+)$/.exec(v.text)?.slice(1) ?? []).filter((r) => r !== 'scratch');
}

/**
 * The image to push: the newest successful build's, or the one `id` names (a build id or unique prefix, its
 * manifest/index digest, or its config digest), read back from the content store.
 */
async function findImage(root: string, history: BuildHistory, store: FileContentStore, id: string | undefined): Promise<StoredImage> {
  const builds = history.listBuilds(1000).filter((b) => b.status === 'succeeded' && b.resultDigest !== undefined);
  if (builds.length === 0) throw new UserError('IMAGE_NOT_FOUND', `no image built in ${root}`, 'run `tsbuild build` first, or pass the --root the build used');
  const hint = 'list builds with `tsbuild history`; pass a build id, the image digest or the image id (--iidfile)';
  let build: BuildSummary | undefined;
  if (id === undefined) build = builds[0];
  else if (id.startsWith('sha256:')) {
    build = builds.find((b) => b.resultDigest === id);
    for (const b of builds) {
      if (build !== undefined) break;
      const image = await readRoot(store, b).catch(() => undefined);
      if (image !== undefined && !('images' in image) && image.configDescriptor.digest === id) build = b;
    }
  } else {
    const matching = builds.filter((b) => b.id.startsWith(id));
    if (matching.length > 1) throw new UserError('INVALID_ARGUMENT', `--image-id ${id} names ${matching.length} builds`, 'give more characters of the build id');
    build = matching[0];
  }
  if (build === undefined) throw new UserError('IMAGE_NOT_FOUND', `no successful build in ${root} matches --image-id ${id ?? ''}`, hint);
  return { root: await readRoot(store, build), build };
}

/** A build's image (or image index) read back from the content store into the shape the push code takes. */
async function readRoot(store: FileContentStore, build: BuildSummary): Promise<AssembledImage | AssembledIndex> {
  const digest = build.resultDigest;
  if (digest === undefined || !(await store.has(digest))) {
    throw new UserError('IMAGE_NOT_FOUND', `the image of build ${build.id} is no longer in the content store`, 'build it again (a prune removed it)');
  }
  const bytes = await store.readAll(digest, DOCUMENT_LIMIT);
  const doc = parseManifestDocument(bytes, undefined, `build ${build.id}`);
  if (doc.kind === 'manifest') return readImage(store, { mediaType: doc.mediaType, digest, size: bytes.length }, bytes, build.id);
  const images: AssembledImage[] = [];
  for (const d of doc.index.manifests) images.push(await readImage(store, d, await store.readAll(d.digest, DOCUMENT_LIMIT), build.id));
  return { index: doc.index, indexBytes: bytes, indexDescriptor: { mediaType: doc.mediaType, digest, size: bytes.length }, images };
}

async function readImage(store: FileContentStore, desc: Descriptor, manifestBytes: Uint8Array, buildId: string): Promise<AssembledImage> {
  const doc = parseManifestDocument(manifestBytes, desc.mediaType, `build ${buildId}`);
  if (doc.kind !== 'manifest') throw new Error(`build ${buildId}: ${desc.digest} is an index inside an index`);
  const configBytes = await store.readAll(doc.manifest.config.digest, DOCUMENT_LIMIT);
  return {
    config: parseImageConfig(configBytes, `build ${buildId}`), configBytes, configDescriptor: doc.manifest.config,
    manifest: doc.manifest, manifestBytes, manifestDescriptor: { ...desc, mediaType: doc.mediaType, size: manifestBytes.length },
  };
}
