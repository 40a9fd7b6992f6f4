import type { BuildGraph } from '../../frontend/index.js';
import { cacheExport, contentFactId, materialize, type CacheExport, type CacheExportMode, type FsState, type ProgressSink, type ExportSource } from '../../solver/index.js';
import type { FileContentStore, LinuxWorker } from '../../worker/index.js';
import { parseReference, type Platform, type RegistryClient } from '../../registry/index.js';
import type { AssembledImage } from '../image/assemble.js';
import type { RegistryImageSource } from '../image-source.js';
import type { OutputSpec } from '../options/output.js';
import type { ProgressWriter } from '../progress/index.js';
import { BlobLocator } from './blob-locator.js';
import { cacheName, type CacheFromSpec, type CacheToSpec } from './cache-spec.js';
import { exportTo, outgoingExport, withInlineCache } from './export-cache.js';
import { loadCaches, readCacheDocument } from './load-cache.js';
import { RemoteCacheSet } from './remote-cache-set.js';

/** A build's remote caches: the solver's RemoteCache (when any `--cache-from` loaded) and where every blob is. */
export interface BuildCache { cache: RemoteCacheSet | undefined; blobs: BlobLocator }

/** Loads the `--cache-from` documents (no layers) and sets up where blobs are found. */
export async function openRemoteCache(
  specs: CacheFromSpec[],
  ctx: { client: RegistryClient; store: FileContentStore; images: RegistryImageSource; platforms: Platform[]; progress: ProgressWriter; signal: AbortSignal },
): Promise<BuildCache> {
  const loaded = await loadCaches(specs, ctx.client, ctx.platforms, (text) => ctx.progress.note(text), ctx.signal);
  const blobs = new BlobLocator(ctx.client, ctx.store, loaded, ctx.images);
  for (const c of loaded) ctx.progress.note(`using cache ${c.ref}: ${c.config.records.length} steps`);
  const cache = loaded.length === 0 ? undefined : new RemoteCacheSet(loaded, (layers, signal, progress) => blobs.fetchLayers(layers, signal, progress),
    (c, desc) => readCacheDocument(c, desc, ctx.client, ctx.signal));
  return { cache, blobs };
}

/** `image` with an inline cache of its own steps when `--cache-to type=inline` asked for one. */
export async function inlineCacheIfAsked(image: AssembledImage, graph: BuildGraph, solved: ExportSource, cacheTo: CacheToSpec[], blobs: BlobLocator, signal?: AbortSignal): Promise<AssembledImage> {
  return cacheTo.some((c) => c.type === 'inline') ? withInlineCache(image, await outgoingExport(cacheExport(graph, solved, 'min'), blobs, signal)) : image;
}

/**
 * The target filesystem the outputs read: unpacked for the local and tar outputs (fetching remote layers), and for
 * the layout outputs (oci, docker), whose attributes may re-encode layers, every layer brought into the content
 * store. Pushes need nothing here: they copy from the BlobLocator, which mounts or streams what stayed remote.
 */
export async function outputFilesystem(
  target: FsState, outputs: OutputSpec[], ctx: { worker: LinuxWorker; remote: BuildCache; progress: ProgressWriter; signal: AbortSignal },
): Promise<FsState> {
  const progress = sinkOf(ctx.progress);
  const needsFiles = outputs.some((o) => o.type === 'local' || o.type === 'tar');
  const fs = needsFiles ? await materialize(target, { worker: ctx.worker, remote: ctx.remote.cache, signal: ctx.signal, progress }) : target;
  if (outputs.some((o) => o.type === 'oci' || o.type === 'docker')) await ctx.remote.blobs.fetchLayers(target.layers, ctx.signal, progress);
  return fs;
}

/**
 * Exports the cache to every `--cache-to` registry or directory (inline was written into the image already). A
 * multi-platform build passes one graph view per platform (each with its own target): `min` then exports every
 * platform's chain, in one cache document, as buildx does.
 */
export async function writeCaches(
  specs: CacheToSpec[], graphs: BuildGraph[], solved: ExportSource, images: AssembledImage[], pushed: string[],
  ctx: { client: RegistryClient; remote: BuildCache; progress: ProgressWriter; signal: AbortSignal },
): Promise<void> {
  const { blobs } = ctx.remote;
  const layers = images.flatMap((image) => image.manifest.layers.map((l) => l.digest));
  for (const name of pushed) blobs.addOrigin(parseReference(name), layers);
  const exportCtx = { client: ctx.client, blobs, note: (t: string) => ctx.progress.note(t), signal: ctx.signal };
  for (const spec of specs) {
    try {
      if (spec.type !== 'inline') await exportTo(spec, exportOf(graphs, solved, spec.mode), exportCtx);
    } catch (err) {
      // `ignore-error=true` (buildx): a cache that cannot be written costs the next build time, not this build.
      if (spec.type === 'inline' || !spec.ignoreError || ctx.signal.aborted) throw err;
      ctx.progress.note(`warning: cache export to ${cacheName(spec)} failed (ignore-error=true): ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** The union of each graph's export, one record per key. */
function exportOf(graphs: BuildGraph[], solved: ExportSource, mode: CacheExportMode): CacheExport {
  const out: CacheExport = { records: [], contents: [] };
  const keys = new Set<string>();
  const facts = new Set<string>();
  for (const graph of graphs) {
    const part = cacheExport(graph, solved, mode);
    for (const r of part.records) if (!keys.has(r.key)) { keys.add(r.key); out.records.push(r); }
    for (const c of part.contents) {
      const id = contentFactId(c);
      if (!facts.has(id)) { facts.add(id); out.contents.push(c); }
    }
  }
  return out;
}

function sinkOf(progress: ProgressWriter): ProgressSink {
  return { log: () => undefined, status: (text) => progress.note(text) };
}
