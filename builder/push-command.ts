import { Option, type Command } from 'commander';
import { SqliteCacheIndex, type BuildSummary } from '../solver/index.js';
import { FileContentStore } from '../worker/index.js';
import {
  RegistryClient, parseImageConfig, parseManifestDocument, parseReference, type Descriptor, type Digest, type Repository,
} from '../registry/index.js';
import type { AssembledImage } from './image/assemble.js';
import type { AssembledIndex } from './multi-platform.js';
import { defaultRoot } from './options/root.js';
import { lockRoot } from './root-lock.js';
import { comparePush, planPush, renderPushComparison, renderPushPlan, type BlobOutcome, type PushPlan } from './push-plan.js';
import { UserError } from '../common/index.js';

interface PushFlags {
  root: string; imageId?: string; plan?: boolean; format: 'text' | 'json'; mountFrom: string[]; insecureRegistry: string[];
  progress: 'auto' | 'plain' | 'tty' | 'quiet'; debug?: boolean;
}

/** Manifests and configs are documents: read whole, with the spec's size limit. */
const DOCUMENT_LIMIT = 4 << 20;

/** An image built in the root, as the push code takes it, with where it came from. */
interface StoredImage { root: AssembledImage | AssembledIndex; build: BuildSummary }

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * `tsbuild push REF`: pushes an image already built in the root (the newest successful build, or the one named by
 * `--image-id`) to REF. The plan (HEAD requests only: already there, mountable from another repository, bytes to
 * upload) is computed first; `--plan` prints it and stops, otherwise the push follows it (mounting what it found
 * mountable) and what the push did with each blob is compared with the plan, every difference printed.
 */
export function registerPushCommand(program: Command): void {
  program.command('push').argument('<ref>', 'where to push: registry/repository:tag')
    .description('push an image built earlier in the root (the last one, or --image-id) to REF; --plan prints what the push would send')
    .option('--root <dir>', 'state directory', defaultRoot())
    .option('--image-id <id>', 'the image: a build id (or a unique prefix), the manifest digest, or the image id (config digest) `-q`/--iidfile printed')
    .option('--plan', 'print per blob whether the push would skip, mount or upload it, and push nothing')
    .addOption(new Option('--format <format>', 'output format of the plan and the comparison').choices(['text', 'json']).default('text'))
    .option('--mount-from <repository>', 'another repository of the same registry to mount blobs from (the base images and the build\'s tags are tried by default); repeatable', collect, [])
    .option('--insecure-registry <host>', 'a registry host[:port] reached with unverified TLS, or plain HTTP; repeatable', collect, [])
    .addOption(new Option('--progress <mode>', 'progress output').choices(['auto', 'plain', 'tty', 'quiet']).default('auto'))
    .option('--debug', 'print the cause chain of errors')
    .action((ref: string, flags: PushFlags) => pushAction(ref, flags));
}

async function pushAction(ref: string, flags: PushFlags): Promise<void> {
  const target = parseReference(ref);
  if (target.digest !== undefined) throw new UserError('INVALID_ARGUMENT', `push ${ref}: a push names a tag, not a digest`, 'write registry/repository:tag');
  for (const m of flags.mountFrom) parseReference(m);
  const signal = new AbortController().signal;
  // Shared with builds, exclusive of prune: the image's blobs stay while they are read.
  const lock = await lockRoot(flags.root, 'shared');
  const client = new RegistryClient({ insecureRegistries: flags.insecureRegistry });
  try {
    const store = await FileContentStore.open(flags.root);
    const { root: image, build } = await findImage(flags.root, store, flags.imageId);
    const images = 'images' in image ? [...image.images, ...(image.attestations ?? [])] : [image];
    const candidates = [...flags.mountFrom, ...baseImages(flags.root, build.id), ...build.tags];
    const plan = await planPush(client, ref, images.map((i) => ({ config: i.configDescriptor, layers: i.manifest.layers })), candidates, signal);
    if (flags.plan) {
      process.stdout.write(flags.format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : renderPushPlan(plan, `push plan for ${ref} (build ${build.id}; nothing sent):`));
      return;
    }
    await checkLocal(store, plan, ref);
    if (flags.format === 'text') process.stdout.write(renderPushPlan(plan, `push plan for ${ref} (build ${build.id}):`));
    const outcomes = new Map<Digest, BlobOutcome>();
    const { createProgress } = await import('./progress/index.js');
    const { pushImage, pushIndex } = await import('./outputs/push.js');
    const progress = createProgress(flags.format === 'json' && flags.progress === 'auto' ? 'quiet' : flags.progress);
    const onBlob = (desc: Descriptor, outcome: BlobOutcome) => outcomes.set(desc.digest, outcome);
    let pushed: string;
    try {
      pushed = 'images' in image
        ? await pushIndex(client, store, image, ref, mountSources(plan), progress, signal, false, onBlob)
        : await pushImage(client, store, image, ref, mountSources(plan), progress, signal, false, onBlob);
    } finally {
      progress.close();
    }
    const comparison = comparePush(plan, outcomes, pushed);
    process.stdout.write(flags.format === 'json' ? `${JSON.stringify(comparison, null, 2)}\n` : renderPushComparison(comparison));
  } finally {
    await client.close();
    await lock.release();
  }
}

/** The push follows the plan: a blob it found mountable is mounted from the repository it was found in. */
function mountSources(plan: PushPlan): Map<string, Repository> {
  const out = new Map<string, Repository>();
  for (const b of plan.blobs) {
    if (b.action !== 'mount' || b.from === undefined) continue;
    const from = parseReference(b.from);
    out.set(b.digest, { registry: from.registry, path: from.path });
  }
  return out;
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
function baseImages(root: string, buildId: string): string[] {
  const cache = SqliteCacheIndex.open(root);
  try {
    const record = cache.getBuild(buildId);
    return (record?.vertices ?? []).flatMap((v) => /^FROM (\S+)$/.exec(v.text)?.slice(1) ?? []).filter((r) => r !== 'scratch');
  } finally {
    cache.close();
  }
}

/**
 * The image to push: the newest successful build's, or the one `id` names (a build id or unique prefix, its
 * manifest/index digest, or its config digest), read back from the content store.
 */
async function findImage(root: string, store: FileContentStore, id: string | undefined): Promise<StoredImage> {
  const cache = SqliteCacheIndex.open(root);
  let builds: BuildSummary[];
  try {
    builds = cache.listBuilds(1000).filter((b) => b.status === 'succeeded' && b.resultDigest !== undefined);
  } finally {
    cache.close();
  }
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
