import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { MediaType, canonicalJson, digestHex, type Descriptor, type ImageIndex } from '../../registry/oci/index.js';
import type { AssembledImage } from '../image/assemble.js';
import type { AssembledIndex } from '../multi-platform.js';
import type { BlobSource } from './blob-source.js';

/** Where and how to write an OCI image layout (image-spec image-layout.md). */
export interface OciLayoutTarget {
  dest: string;
  /** false: a layout directory (`-o type=oci,dest=dir,tar=false`); true: a tarball of one, as buildx writes. */
  tar: boolean;
  /** Image names to record as `org.opencontainers.image.ref.name` / `io.containerd.image.name` annotations. */
  names: string[];
  /**
   * Also write docker's `manifest.json` (the `docker save` format since Docker 25: an OCI layout plus manifest.json
   * pointing into blobs/), so `docker load`, `podman load` and `skopeo docker-archive:` read the same tarball.
   */
  dockerManifest?: boolean;
}

/** Every blob of `image` in layout order: layers, config, manifest (each platform's, then the image index). */
function blobsOf(image: AssembledImage | AssembledIndex): Descriptor[] {
  if ('images' in image) return [...[...image.images, ...(image.attestations ?? [])].flatMap(blobsOf), image.indexDescriptor];
  return [...image.manifest.layers, image.configDescriptor, image.manifestDescriptor];
}

function layoutIndex(image: AssembledImage | AssembledIndex, names: string[]): ImageIndex {
  const annotations: Record<string, string> = {};
  const first = names[0];
  if (first) {
    annotations['io.containerd.image.name'] = first;
    // ref.name is the tag part only (image-spec annotations.md); buildx writes the tag, e.g. "1.2".
    const tag = /:([^/:@]+)$/.exec(first.split('@')[0] ?? '')?.[1];
    annotations['org.opencontainers.image.ref.name'] = tag ?? 'latest';
  }
  // A multi-platform image is one entry too, the image index, as buildx writes it.
  const { platform: _platform, ...desc } = 'images' in image ? image.indexDescriptor : image.manifestDescriptor;
  return {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [{ ...desc, ...(Object.keys(annotations).length ? { annotations } : {}) }],
  };
}

/** Writes `image` as an OCI layout, streaming every blob from `blobs`; the destination appears only when complete. */
export async function writeOciLayout(image: AssembledImage | AssembledIndex, blobs: BlobSource, target: OciLayoutTarget, signal?: AbortSignal): Promise<void> {
  const index = Buffer.from(canonicalJson(layoutIndex(image, target.names)));
  const layoutFile = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const tmp = `${target.dest}.tsbuild-tmp-${process.pid}`;
  await mkdir(dirname(target.dest), { recursive: true });
  try {
    if (target.dockerManifest && 'images' in image) throw new Error('a docker archive holds one platform: the CLI checks this before building');
    const extra = target.dockerManifest && !('images' in image) ? dockerManifestJson(image, target.names) : undefined;
    if (target.tar) await writeTar(tmp, image, blobs, index, layoutFile, signal, extra);
    else await writeDir(tmp, image, blobs, index, layoutFile, signal);
    await rm(target.dest, { recursive: true, force: true });
    await rename(tmp, target.dest);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function writeDir(dir: string, image: AssembledImage | AssembledIndex, blobs: BlobSource, index: Buffer, layoutFile: Buffer, signal?: AbortSignal) {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), layoutFile);
  for (const desc of blobsOf(image)) {
    await pipeline(await blobs.read(desc.digest), createWriteStream(join(dir, 'blobs', 'sha256', digestHex(desc.digest))), { signal });
  }
  await writeFile(join(dir, 'index.json'), index);
}

function dockerManifestJson(image: AssembledImage, names: string[]): Buffer {
  const blob = (d: Descriptor) => `blobs/sha256/${digestHex(d.digest)}`;
  const repoTags = names.map((n) => (/:[^/]+$/.test(n.split('@')[0] ?? '') ? n : `${n}:latest`));
  return Buffer.from(JSON.stringify([{ Config: blob(image.configDescriptor), RepoTags: repoTags, Layers: image.manifest.layers.map(blob) }]));
}

async function writeTar(file: string, image: AssembledImage | AssembledIndex, blobs: BlobSource, index: Buffer, layoutFile: Buffer, signal?: AbortSignal, dockerManifest?: Buffer) {
  const pack = tar.pack();
  const header = (name: string, size: number) => ({ name, size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 });
  const done = pipeline(pack, createWriteStream(file), { signal });
  const addEntry = (name: string, body: Buffer) => new Promise<void>((res, rej) => pack.entry(header(name, body.length), body, (err) => (err ? rej(err) : res())));
  await addEntry('oci-layout', layoutFile);
  const seen = new Set<string>();
  for (const desc of blobsOf(image)) {
    if (seen.has(desc.digest)) continue;   // a layer can repeat in a manifest; a tar holds it once
    seen.add(desc.digest);
    const entry = pack.entry(header(`blobs/sha256/${digestHex(desc.digest)}`, desc.size));
    await pipeline(await blobs.read(desc.digest), entry, { signal });
  }
  await addEntry('index.json', index);
  if (dockerManifest) await addEntry('manifest.json', dockerManifest);
  pack.finalize();
  await done;
}
