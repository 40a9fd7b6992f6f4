import type { FsState } from '../../solver/index.js';
import type { FileContentStore, LinuxWorker } from '../../worker/index.js';
import { parseReference, type Platform, type RegistryClient, type Repository } from '../../registry/index.js';
import type { AssembledImage } from '../image/assemble.js';
import type { RegistryImageSource } from '../image-source.js';
import type { OutputSpec } from '../options/output.js';
import type { ProgressWriter } from '../progress/index.js';
import { exportImage } from './export-image.js';
import { writeOciLayout } from './oci-layout.js';
import { pushImage } from './push.js';
import { writeFsTar, writeLocal } from './filesystem.js';

/** What the outputs need from the build. */
export interface OutputContext {
  client: RegistryClient;
  store: FileContentStore;
  images: RegistryImageSource;
  worker: LinuxWorker;
  progress: ProgressWriter;
  signal: AbortSignal;
  /** The target's final filesystem, for the local and tar outputs. */
  fs: FsState;
  /** The image's platform, for platform-limited annotations (default: the image config's). */
  platform?: Platform;
  /** SOURCE_DATE_EPOCH (seconds), for `rewrite-timestamp=true`. */
  sourceDateEpoch?: number;
}

/** Layers that came from a base image: `compression=` leaves them as they are unless force-compression is set. */
function baseLayers(images: RegistryImageSource): Set<string> {
  return new Set([...images.resolvedRefs.values()].flatMap((r) => r.manifest.layers.map((l) => l.digest)));
}

function platformOf(image: AssembledImage): Platform {
  return { os: image.config.os, architecture: image.config.architecture, ...(image.config.variant ? { variant: image.config.variant } : {}) };
}

/** The repository each base-image layer came from, so pushes to the same registry can mount instead of upload. */
function mountSources(images: RegistryImageSource): Map<string, Repository> {
  const out = new Map<string, Repository>();
  for (const resolved of images.resolvedRefs.values()) {
    const repo = parseReference(resolved.ref);
    for (const layer of resolved.manifest.layers) out.set(layer.digest, repo);
  }
  return out;
}

/** Writes every requested output; returns the names pushed. */
export async function writeOutputs(built: AssembledImage, outputs: OutputSpec[], ctx: OutputContext): Promise<string[]> {
  const pushed: string[] = [];
  for (const out of outputs) {
    // Each image output applies its own -o attributes (compression, media types, annotations): see export-image.ts.
    const exported = out.type === 'image' || out.type === 'oci' || out.type === 'docker'
      ? await exportImage(built, out, { store: ctx.store, baseLayers: baseLayers(ctx.images), platform: ctx.platform ?? platformOf(built), signal: ctx.signal, ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}) })
      : undefined;
    const image = exported?.image ?? built;
    const layoutAnnotations = exported ? { indexAnnotations: exported.indexAnnotations, descriptorAnnotations: exported.descriptorAnnotations } : {};
    switch (out.type) {
      case 'cacheonly':
        break;
      case 'image': {
        if (!out.push) { ctx.progress.note(`image ${image.manifestDescriptor.digest} kept in the build store (no push requested)`); break; }
        if (out.names.length === 0) {
          throw new Error('push requested without a name: the CLI checks this before building');
        }
        const sources = mountSources(ctx.images);
        for (const name of out.names) {
          await pushImage(ctx.client, ctx.store, image, name, sources, ctx.progress, ctx.signal);
          pushed.push(name);
        }
        break;
      }
      case 'oci':
        await writeOciLayout(image, ctx.store, { dest: out.dest, tar: out.tar, names: out.names, ...layoutAnnotations }, ctx.signal);
        ctx.progress.note(`wrote OCI layout ${out.tar ? 'tarball' : 'directory'} ${out.dest === '-' ? 'to stdout' : out.dest}`);
        break;
      case 'docker':
        await writeOciLayout(image, ctx.store, { dest: out.dest, tar: true, names: out.names, dockerManifest: true, ...layoutAnnotations }, ctx.signal);
        ctx.progress.note(`wrote docker archive ${out.dest === '-' ? 'to stdout' : out.dest}`);
        break;
      case 'local':
        await writeLocal(ctx.worker, ctx.fs, out.dest);
        ctx.progress.note(`copied the filesystem to ${out.dest}`);
        break;
      case 'tar':
        await writeFsTar(ctx.worker, ctx.fs, out.dest, ctx.signal);
        ctx.progress.note(`wrote the filesystem as a tar to ${out.dest === '-' ? 'stdout' : out.dest}`);
        break;
    }
  }
  return pushed;
}
