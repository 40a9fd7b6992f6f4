import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CacheExport } from '../../solver/index.js';
import { MediaType, canonicalJson, digestHex, parseReference, sha256 as sha, type Digest, type ImageIndex, type RegistryClient } from '../../registry/index.js';
import type { AssembledImage } from '../image/assemble.js';
import type { BlobLocator } from './blob-locator.js';
import { cacheConfig, cacheDocument, INLINE_CACHE_KEY, type CacheDocument } from './cache-format.js';

/** What an export needs besides the records. */
export interface ExportContext {
  client: RegistryClient;
  blobs: BlobLocator;
  note: (text: string) => void;
  signal?: AbortSignal;
}

/**
 * `--cache-to type=registry,ref=REF`: every referenced layer first (HEAD, mount from the image or cache repository
 * when on the same registry, upload the rest), then the config blob, then the manifest under REF's tag.
 */
export async function exportToRegistry(text: string, exported: CacheExport, ctx: ExportContext): Promise<CacheDocument> {
  const ref = parseReference(text);
  const doc = cacheDocument(exported);
  const outcomes = await ctx.blobs.ensureAt(ref, doc.layers, ctx.signal);
  await ctx.client.pushBlob(ref, doc.configDescriptor, async () => Readable.from([doc.configBytes]), undefined, ctx.signal);
  await ctx.client.putManifest(ref, MediaType.ociManifest, doc.manifestBytes, ctx.signal);
  ctx.note(`exported cache to ${text}: ${doc.config.records.length} steps, ${doc.layers.length} layers (${outcomes.uploaded} uploaded, ${outcomes.mounted} mounted, ${outcomes.exists} already there)`);
  return doc;
}

/** `--cache-to type=local,dest=DIR`: an OCI image layout holding the cache manifest, its config and its layers. */
export async function exportToDir(dest: string, exported: CacheExport, ctx: ExportContext): Promise<CacheDocument> {
  const dir = resolve(dest);
  const doc = cacheDocument(exported);
  const tmp = `${dir}.tsbuild-tmp-${process.pid}`;
  await mkdir(join(tmp, 'blobs', 'sha256'), { recursive: true });
  try {
    const blob = (digest: Digest): string => join(tmp, 'blobs', 'sha256', digestHex(digest));
    for (const desc of doc.layers) await pipeline(await ctx.blobs.open(desc, ctx.signal), createWriteStream(blob(desc.digest)), ...(ctx.signal ? [{ signal: ctx.signal }] : []));
    await writeFile(blob(doc.configDescriptor.digest), doc.configBytes);
    await writeFile(blob(doc.manifestDescriptor.digest), doc.manifestBytes);
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [doc.manifestDescriptor] };
    await writeFile(join(tmp, 'index.json'), canonicalJson(index));
    await writeFile(join(tmp, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await mkdir(dirname(dir), { recursive: true });
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  ctx.note(`exported cache to ${dest}: ${doc.config.records.length} steps, ${doc.layers.length} layers`);
  return doc;
}

/**
 * `--cache-to type=inline`: the records of the image's own steps (min mode: every layer they name is one of the
 * image's) in its config under INLINE_CACHE_KEY, as BuildKit writes `moby.buildkit.cache.v0`. Returns the image
 * re-assembled around the new config.
 */
export function withInlineCache(image: AssembledImage, exported: CacheExport): AssembledImage {
  const config = { ...image.config, [INLINE_CACHE_KEY]: cacheConfig(exported) };
  const configBytes = Buffer.from(canonicalJson(config));
  const configDescriptor = { ...image.configDescriptor, digest: sha(configBytes), size: configBytes.length };
  const manifest = { ...image.manifest, config: configDescriptor };
  const manifestBytes = Buffer.from(canonicalJson(manifest));
  const manifestDescriptor = { ...image.manifestDescriptor, digest: sha(manifestBytes), size: manifestBytes.length };
  return { config, configBytes, configDescriptor, manifest, manifestBytes, manifestDescriptor };
}
