import type { CacheExport } from '../../solver/index.js';
import { MediaType, canonicalJson, parseReference, sha256 as sha, type RegistryClient } from '../../registry/index.js';
import type { AssembledImage } from '../image/assemble.js';
import { checkLayoutDir, writingTo } from '../options/destinations.js';
import { BytesProvider, copy, OciLayoutDir, RepositoryTarget } from '../content/index.js';
import type { BlobLocator } from './blob-locator.js';
import { cacheConfig, cacheDocument, INLINE_CACHE_KEY, type CacheDocument } from './cache-format.js';
import type { CacheToSpec, StoreSpec } from './cache-spec.js';
import { openCacheStore, uploadConcurrency, withTimeout } from './cache-store.js';

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
  const doc = cacheDocument(await outgoingExport(exported, ctx.blobs, ctx.signal));
  const outcomes = await ctx.blobs.ensureAt(ref, doc.layers, ctx.signal);
  const documents = [{ descriptor: doc.configDescriptor, bytes: doc.configBytes }, ...doc.files];
  await copy(new BytesProvider(documents), new RepositoryTarget(ctx.client, ref), documents.map((d) => d.descriptor), { signal: ctx.signal });
  await ctx.client.putManifest(ref, MediaType.ociManifest, doc.manifestBytes, ctx.signal);
  ctx.note(`exported cache to ${text}: ${doc.config.records.length} steps, ${doc.layers.length} layers (${outcomes.uploaded} uploaded, ${outcomes.mounted} mounted, ${outcomes.exists} already there)`);
  return doc;
}

/**
 * `--cache-to type=gha|s3|azblob` (a CacheStore): every referenced layer, the files blobs and the config as objects of their
 * own (those the store holds already are skipped), then the manifest as the newest index. A gha entry is bounded by
 * its `timeout` (BuildKit's default 10 minutes) on top of the build's own cancellation.
 */
export async function exportToStore(spec: StoreSpec, exported: CacheExport, ctx: ExportContext): Promise<CacheDocument> {
  const store = openCacheStore(spec);
  return withTimeout(store.name, spec, ctx.signal, async (signal) => {
    const doc = cacheDocument(await outgoingExport(exported, ctx.blobs, signal));
    const layers = await copy(ctx.blobs, store, doc.layers, { signal, concurrency: uploadConcurrency(spec) });
    const documents = [...doc.files, { descriptor: doc.configDescriptor, bytes: doc.configBytes }];
    await copy(new BytesProvider(documents), store, documents.map((d) => d.descriptor), { signal });
    const where = await store.saveIndex(doc.manifestBytes, signal);
    ctx.note(`exported cache to ${store.name} (${where}): ${doc.config.records.length} steps, ${doc.layers.length} layers (${layers.uploaded} uploaded, ${layers.exists} already there)`);
    return doc;
  });
}

/** Exports to one `--cache-to` other than inline. */
export async function exportTo(spec: Exclude<CacheToSpec, { type: 'inline' }>, exported: CacheExport, ctx: ExportContext): Promise<CacheDocument> {
  switch (spec.type) {
    case 'registry': return exportToRegistry(spec.ref, exported, ctx);
    case 'local': return exportToDir(spec.dest, exported, ctx, spec.tag);
    case 'gha':
    case 's3':
    case 'azblob': return exportToStore(spec, exported, ctx);
  }
}

/**
 * `--cache-to type=local,dest=DIR`: an OCI image layout holding the cache manifest, its config and its layers. An
 * existing layout is added to (as BuildKit does): missing blobs written, then index.json rewritten with the new
 * manifest first under its tag (replacing the entry with the same tag). A directory holding anything else is refused.
 */
export async function exportToDir(dest: string, exported: CacheExport, ctx: ExportContext, tag = 'latest'): Promise<CacheDocument> {
  return writingTo(`--cache-to type=local,dest=${dest}`, dest, ctx.signal, () => writeCacheDir(dest, exported, ctx, tag));
}

async function writeCacheDir(dest: string, exported: CacheExport, ctx: ExportContext, tag: string): Promise<CacheDocument> {
  const layout = new OciLayoutDir(dest);
  await checkLayoutDir(layout.dir, '--cache-to type=local');
  const doc = cacheDocument(await outgoingExport(exported, ctx.blobs, ctx.signal));
  await copy(ctx.blobs, layout, doc.layers, { signal: ctx.signal });
  // Readers find the manifest through index.json, rewritten only after every blob is written.
  const documents = [...doc.files, { descriptor: doc.configDescriptor, bytes: doc.configBytes }, { descriptor: doc.manifestDescriptor, bytes: doc.manifestBytes }];
  await copy(new BytesProvider(documents), layout, documents.map((d) => d.descriptor), { signal: ctx.signal });
  // The newest cache first: readers take the first manifest of the index.
  const entry = { ...doc.manifestDescriptor, annotations: { ...(doc.manifestDescriptor.annotations ?? {}), [REF_NAME]: tag } };
  await layout.updateIndex((previous) => {
    const others = (Array.isArray(previous?.manifests) ? previous.manifests : []).filter((m) => m.annotations?.[REF_NAME] !== tag && m.digest !== doc.manifestDescriptor.digest);
    return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [entry, ...others] };
  });
  ctx.note(`exported cache to ${dest}: ${doc.config.records.length} steps, ${doc.layers.length} layers`);
  return doc;
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * `exported` as it leaves the build: the layers this build kept uncompressed are named by their gzip blobs (made
 * once, BlobLocator.outgoing), so a cache manifest never references a raw tar; diffIds are unchanged.
 */
export async function outgoingExport(exported: CacheExport, blobs: BlobLocator, signal?: AbortSignal): Promise<CacheExport> {
  const records = [];
  for (const r of exported.records) records.push({ ...r, layers: await blobs.outgoing(r.layers, signal) });
  return { ...exported, records };
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
