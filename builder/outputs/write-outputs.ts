import type { FsState } from '../../solver/index.js';
import type { FileContentStore, LinuxWorker } from '../../worker/index.js';
import { join } from 'node:path';
import { formatPlatform, type Descriptor, type Digest, type Platform, type RegistryClient } from '../../registry/index.js';
import type { AssembledImage } from '../image/assemble.js';
import { assembleIndex, platformDir, type AssembledIndex } from '../multi-platform.js';
import type { RegistryImageSource } from '../image-source.js';
import type { ImageExportAttrs, OutputSpec } from '../options/output.js';
import type { ProgressWriter } from '../progress/index.js';
import { retargetAttestation } from '../attest/attach.js';
import type { Statement } from '../attest/in-toto.js';
import type { MadeAttestation } from '../attest/attest-build.js';
import { exportImage } from './export-image.js';
import { layoutDescriptorAnnotations, writeOciLayout } from './oci-layout.js';
import { pushImage, pushIndex, type PushSource } from './push.js';
import { filesIn, removeStaleLocal, writeFsTar, writeLocal, writePlatformsTar, type OutputAttestations } from './filesystem.js';
import { UserError } from '../../common/index.js';
import { writingTo } from '../options/destinations.js';

/** What the outputs need from the build. */
export interface OutputContext {
  client: RegistryClient;
  store: FileContentStore;
  /** Where every blob of the build is (the store, a cache, a base image's repository) and who else holds it. */
  blobs: PushSource;
  images: RegistryImageSource;
  worker: LinuxWorker;
  progress: ProgressWriter;
  signal: AbortSignal;
  /** SOURCE_DATE_EPOCH (seconds), for `rewrite-timestamp=true`. */
  sourceDateEpoch?: number;
}

/**
 * One platform's image and its final filesystem (for the local and tar outputs), and the attestations made of it
 * (for the files a local or tar output writes beside the filesystem's).
 */
export interface PlatformResult { platform: Platform; image: AssembledImage; fs: FsState; attestations?: MadeAttestation[] }

/** What a build produced: one image, or one per platform under an image index. */
export interface BuiltImage { platforms: PlatformResult[]; index?: AssembledIndex }

/** What the image outputs pushed: the references written, and the names `--metadata-file` reports. */
export interface Pushed {
  /** Each push's reference: the name as given, or `repo@digest` for a push by digest. */
  pushed: string[];
  /** buildx's `image.name`: the names, or `repo@digest` with `name-canonical=true`. */
  imageNames: string[];
  /**
   * The image (or index) as the outputs wrote it, after their attributes (compression, annotations …): the first
   * `type=image` output's, else the first oci/docker output's. What `--metadata-file` reports and a push holds.
   */
  written?: { descriptor: Descriptor; configDigest?: Digest };
}

/** The written image's descriptor; an OCI layout's entry also carries `entryAnnotations`, as BuildKit reports it. */
function writtenOf(root: AssembledImage | AssembledIndex, entryAnnotations?: Record<string, string>): { descriptor: Descriptor; configDigest?: Digest } {
  const written = 'images' in root ? { descriptor: root.indexDescriptor } : { descriptor: root.manifestDescriptor, configDigest: root.configDescriptor.digest };
  if (!entryAnnotations) return written;
  return { ...written, descriptor: { ...written.descriptor, annotations: { ...written.descriptor.annotations, ...entryAnnotations } } };
}

/** Layers that came from a base image: `compression=` leaves them as they are unless force-compression is set. */
function baseLayers(images: RegistryImageSource): Set<string> {
  return new Set([...images.resolvedRefs.values()].flatMap((r) => r.manifest.layers.map((l) => l.digest)));
}

/** What one image output writes: the image (or index) after its -o attributes, and the layout annotations. */
interface OutputImage {
  root: AssembledImage | AssembledIndex;
  layout: { descriptorAnnotations?: Record<string, string> };
}

/**
 * Applies one output's attributes (compression, media types, annotations, rewrite-timestamp: export-image.ts) to
 * every platform's image and, for an index, assembles the index over the results; attestation manifests that
 * described a changed image are made about the exported one (retargetAttestation).
 */
async function outputImage(built: BuiltImage, asked: ImageExportAttrs, text: string, ctx: OutputContext): Promise<OutputImage> {
  let attrs = asked;
  if (asked.ociMediatypes === false && (built.index?.attestations ?? []).length > 0) {
    // Docker's media types have no attestation manifest; BuildKit forces OCI types then, and says so. So do we.
    ctx.progress.note(`warning: ${text}: oci-mediatypes=false with attestations: using OCI media types (add --provenance=false --sbom=false for docker media types)`);
    attrs = { ...asked, ociMediatypes: true };
  }
  const exported = [];
  for (const p of built.platforms) {
    exported.push(await exportImage(p.image, attrs, {
      store: ctx.store, baseLayers: baseLayers(ctx.images), platform: p.platform, signal: ctx.signal,
      ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}),
    }));
  }
  const first = exported[0];
  if (first === undefined) throw new Error('a build produced no image');
  if (!built.index) {
    // One manifest and no image index to carry `annotation-index.*`: BuildKit's image writer refuses them rather than
    // drop them (exporter/containerimage/writer.go, Commit), for every exporter (image, oci, docker) alike. An OCI
    // layout's index.json entry is the manifest's descriptor, which takes `annotation-manifest-descriptor.*`.
    if (Object.keys(first.indexAnnotations).length > 0) {
      throw new UserError('INVALID_ARGUMENT', `${text}: index annotations not supported for single platform export`,
        'an image index is written for several platforms or with attestations (--provenance); else annotate the manifest (manifest:KEY=VALUE)');
    }
    return { root: first.image, layout: { descriptorAnnotations: first.descriptorAnnotations } };
  }
  // An image index (platforms, attestations): `annotation-index.*` belongs on it and `annotation-manifest-descriptor.*`
  // on each platform's entry in it, wherever the index goes (a registry, a layout), as BuildKit's exporter puts them.
  const isAnnotated = Object.keys(first.indexAnnotations).length > 0 || exported.some((e) => Object.keys(e.descriptorAnnotations).length > 0);
  const changed = exported.some((e, k) => e.image.manifestDescriptor.digest !== built.platforms[k]?.image.manifestDescriptor.digest);
  // `oci-artifact=` rewrites every attestation manifest in the form it asks for, so the index changes with them.
  const form = (built.index.attestations ?? []).length > 0 ? attrs.ociArtifact : undefined;
  if (!changed && !isAnnotated && form === undefined) return { root: built.index, layout: {} };
  const attestations = [];
  for (const att of built.index.attestations ?? []) attestations.push(await retarget(att, built, exported.map((e) => e.image), ctx, form));
  const images = exported.map((e) => (Object.keys(e.descriptorAnnotations).length === 0 ? e.image
    : { ...e.image, manifestDescriptor: { ...e.image.manifestDescriptor, annotations: { ...e.image.manifestDescriptor.annotations, ...e.descriptorAnnotations } } }));
  const index = assembleIndex(images, { ...built.index.index.annotations, ...first.indexAnnotations }, attestations);
  await ctx.store.put(index.indexBytes, index.indexDescriptor.mediaType);
  return { root: index, layout: {} };
}

/** `att` made about the exported image of the platform it described, in the form `ociArtifact` asks; its statements come from the store. */
async function retarget(att: AssembledImage, built: BuiltImage, exported: AssembledImage[], ctx: OutputContext, ociArtifact: boolean | undefined): Promise<AssembledImage> {
  const subject = att.manifest.subject?.digest;
  const k = built.platforms.findIndex((p) => p.image.manifestDescriptor.digest === subject);
  const from = built.platforms[k]?.image.manifestDescriptor;
  const to = exported[k]?.manifestDescriptor;
  if (from === undefined || to === undefined || (from.digest === to.digest && ociArtifact === undefined)) return att;
  const statements: Statement<unknown>[] = [];
  for (const layer of att.manifest.layers) {
    const chunks: Buffer[] = [];
    for await (const chunk of await ctx.store.read(layer.digest)) chunks.push(chunk as Buffer);
    statements.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Statement<unknown>);
  }
  const moved = retargetAttestation(statements, from, to, ociArtifact);
  for (const blob of moved.blobs) await ctx.store.put(blob.bytes, blob.descriptor.mediaType);
  await ctx.store.put(moved.configBytes, moved.configDescriptor.mediaType);
  await ctx.store.put(moved.manifestBytes, moved.manifestDescriptor.mediaType);
  return moved;
}

function digestOf(root: AssembledImage | AssembledIndex): string {
  return 'images' in root ? root.indexDescriptor.digest : root.manifestDescriptor.digest;
}

/** Writes every requested output; a destination's own failure is a user error naming it (writingTo). */
export async function writeOutputs(built: BuiltImage, outputs: OutputSpec[], ctx: OutputContext): Promise<Pushed> {
  const result: Pushed = { pushed: [], imageNames: [] };
  for (const out of outputs) {
    const write = (): Promise<void> => writeOutput(built, out, outputs, ctx, result);
    // A registry output's failures are the registry client's own.
    await ('dest' in out ? writingTo(`-o type=${out.type},dest=${out.dest}`, out.dest, ctx.signal, write) : write());
  }
  return result;
}

/** Writes one output (of `outputs`) and adds what it pushed or wrote to `result`. */
async function writeOutput(built: BuiltImage, out: OutputSpec, outputs: OutputSpec[], ctx: OutputContext, result: Pushed): Promise<void> {
  // One platform stays `single` under an index too (attestations make one): docker, tar and local want its image.
  const single = built.platforms.length === 1 ? built.platforms[0] : undefined;
  switch (out.type) {
    case 'cacheonly':
      break;
    case 'image': {
      const { root } = await outputImage(built, out, `-o type=image`, ctx);
      if (!outputs.slice(0, outputs.indexOf(out)).some((o) => o.type === 'image')) result.written = writtenOf(root);
      if (!out.push) { ctx.progress.note(`image ${digestOf(root)} kept in the build store (no push requested)`); break; }
      if (out.names.length === 0) {
        throw new Error('push requested without a name: the CLI checks this before building');
      }
      const byDigest = out.pushByDigest === true;
      for (const name of out.names) {
        const canonical = 'images' in root
          ? await pushIndex(ctx.client, ctx.blobs, root, name, ctx.progress, ctx.signal, byDigest)
          : await pushImage(ctx.client, ctx.blobs, root, name, ctx.progress, ctx.signal, byDigest);
        result.pushed.push(byDigest ? canonical : name);
        if (!byDigest) result.imageNames.push(name);
        if (byDigest || out.nameCanonical === true) result.imageNames.push(canonical);
      }
      break;
    }
    case 'oci': {
      const { root, layout } = await outputImage(built, out, `-o type=oci`, ctx);
      const descriptorAnnotations = layoutDescriptorAnnotations(layout.descriptorAnnotations, ctx.sourceDateEpoch);
      if (!outputs.some((o) => o.type === 'image')) result.written ??= writtenOf(root, descriptorAnnotations);
      await writeOciLayout(root, ctx.blobs, { dest: out.dest, tar: out.tar, names: out.names, ...layout, descriptorAnnotations }, ctx.signal);
      ctx.progress.note(`wrote OCI layout ${out.tar ? 'tarball' : 'directory'} ${out.dest === '-' ? 'to stdout' : out.dest}`);
      break;
    }
    case 'docker': {
      if (!single) throw new Error('a docker archive holds one platform: the CLI checks this before building');
      const { root, layout } = await outputImage({ platforms: [single] }, out, `-o type=docker`, ctx);
      const descriptorAnnotations = layoutDescriptorAnnotations(layout.descriptorAnnotations, ctx.sourceDateEpoch);
      if (!outputs.some((o) => o.type === 'image')) result.written ??= writtenOf(root, descriptorAnnotations);
      await writeOciLayout(root, ctx.blobs, { dest: out.dest, tar: true, names: out.names, dockerManifest: true, ...layout, descriptorAnnotations }, ctx.signal);
      ctx.progress.note(`wrote docker archive ${out.dest === '-' ? 'to stdout' : out.dest}`);
      break;
    }
    case 'local': {
      // Several platforms: one directory each, named as buildx names them (dest/linux_arm64), unless platform-split=false
      // merges them; platform-split=true gives one platform its directory too (BuildKit's local exporter).
      const split = out.platformSplit ?? !single;
      if (!split && !single) await refuseOverlaps(built.platforms, ctx.worker, out.dest);
      if (out.mode === 'delete') {
        // The result is the whole of dest: with a split, a platform's directory is part of it and anything else at the
        // top of dest is stale too (BuildKit sends the platforms as one tree in delete mode). Removed before the trees
        // are written, which leaves the same entries: what is stale is what no tree has, and writeTree replaces
        // whatever is in the way of what a tree has. Done after, the removals would date every directory they
        // touched now, where BuildKit's receiver sets the directory times last (fsutil DiskWriter.Wait).
        const trees = built.platforms.map((p) => ({ at: split ? platformDir(p.platform) : '', fs: p.fs }));
        const removed = await removeStaleLocal(ctx.worker, trees, out.dest);
        ctx.progress.note(`removed ${removed} stale ${removed === 1 ? 'entry' : 'entries'} from ${out.dest} (mode=delete)`);
      }
      for (const p of built.platforms) {
        const at = split ? platformDir(p.platform) : '';
        const dest = split ? join(out.dest, at) : out.dest;
        // Platforms merged into one directory: each one's attestation files named after it (provenance.linux_amd64.json).
        const attest = outputAttestations(p, out.attestationPrefix, !split && !single, ctx);
        const { skipped } = await writeLocal(ctx.worker, p.fs, out.dest, at, attest);
        // Device nodes never become live devices in a user's directory (see filesystem.ts): say which were left out.
        if (skipped.length > 0) ctx.progress.note(`left out of ${dest}: ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ` and ${skipped.length - 5} more` : ''}`);
        ctx.progress.note(`copied the ${single ? '' : `${formatPlatform(p.platform)} `}filesystem to ${dest}`);
      }
      break;
    }
    case 'tar': {
      // Several platforms: one tar with a directory each (linux_amd64/, linux_arm64/), as BuildKit's tar exporter
      // (exporter/tar/export.go, Export) puts every platform's result under fsutil.SubDirFS whenever the frontend
      // returned one per platform. Unlike the local exporter it never asks CreateFSOpts.UsePlatformSplit: platform-split
      // only renames attestation files there (local.CreateFS), so one platform stays at the top even with
      // platform-split=true, and platform-split=false neither merges the platforms nor refuses a path two of them have.
      // platform-split=false keeps each platform in its directory and names its attestation files after it.
      if (single) await writeFsTar(ctx.worker, single.fs, out.dest, ctx.signal, outputAttestations(single, out.attestationPrefix, false, ctx));
      else {
        const trees = built.platforms.map((p) => ({ name: platformDir(p.platform), fs: p.fs, attest: outputAttestations(p, out.attestationPrefix, out.platformSplit === false, ctx) }));
        await writePlatformsTar(ctx.worker, trees, ctx.sourceDateEpoch ?? 0, out.dest, ctx.signal);
      }
      ctx.progress.note(`wrote the ${single ? 'filesystem' : `filesystems of ${built.platforms.map((p) => formatPlatform(p.platform)).join(', ')}`} as a tar to ${out.dest === '-' ? 'stdout' : out.dest}`);
      break;
    }
  }
}

/**
 * The attestations a local or tar output writes beside platform `p`'s files (BuildKit's local and tar exporters write
 * what the build attested, but for buildx's inline-only default provenance), dated as the build's epoch or now.
 */
function outputAttestations(p: PlatformResult, prefix: string | undefined, isNamedByPlatform: boolean, ctx: OutputContext): OutputAttestations | undefined {
  if (p.attestations === undefined || p.attestations.length === 0) return undefined;
  return {
    made: p.attestations,
    options: {
      prefix: prefix ?? '', mtime: ctx.sourceDateEpoch !== undefined ? new Date(ctx.sourceDateEpoch * 1000) : new Date(),
      ...(isNamedByPlatform ? { platformSuffix: platformDir(p.platform) } : {}),
    },
  };
}

/**
 * platform-split=false writes every platform into one directory; a file that two platforms both have would be
 * overwritten by the second, so it is refused before anything is written, as BuildKit's local exporter refuses it
 * (directories may be shared).
 */
async function refuseOverlaps(platforms: PlatformResult[], worker: LinuxWorker, dest: string): Promise<void> {
  const owner = new Map<string, string>();
  for (const p of platforms) {
    const name = formatPlatform(p.platform);
    for (const file of await filesIn(worker, p.fs)) {
      const first = owner.get(file);
      if (first !== undefined) {
        throw new UserError('INVALID_ARGUMENT', `-o type=local,dest=${dest},platform-split=false: cannot overwrite ${file} from ${first} with ${name} when split option is disabled`,
          'drop platform-split=false (one directory per platform), or give each platform\'s files their own names (e.g. with $TARGETARCH in the path)');
      }
      owner.set(file, name);
    }
  }
}

/**
 * Refuses, before anything is built, the outputs that cannot hold several platforms: a docker archive (buildx's
 * "docker exporter does not currently support exporting manifest lists").
 */
export function checkOutputsForPlatforms(outputs: OutputSpec[], platforms: Platform[]): void {
  if (platforms.length < 2) return;
  for (const out of outputs) {
    if (out.type === 'docker') {
      throw new UserError('INVALID_ARGUMENT', `-o type=${out.type} holds one platform, and ${platforms.length} were asked for (${platforms.map(formatPlatform).join(', ')})`,
        'use -o type=oci (an image index) or build one --platform at a time');
    }
  }
}
