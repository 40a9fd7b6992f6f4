import { join } from 'node:path';
import {
  MediaType, parseManifestDocument, parseReference, MAX_MANIFEST_BYTES, type Descriptor, type ImageManifest, type Platform, type RegistryClient,
} from '../../registry/index.js';
import { CACHE_CONFIG_MEDIA_TYPE, INLINE_CACHE_KEY, parseCacheConfig, type CacheConfig } from './cache-format.js';
import { cacheName, type CacheFromSpec, type StoreSpec } from './cache-spec.js';
import { openCacheStore, readStoreDocument, withTimeout } from './cache-store.js';
import { OciLayoutDir } from '../content/index.js';
import type { LoadedCache } from './remote-cache-set.js';
import { isTsbuildError, UserError } from '../../common/index.js';

/**
 * Loads every `--cache-from`: the cache manifest and its config (or an image's config with an inline cache), never
 * a layer. A cache that cannot be read is reported through `warn` and skipped, as BuildKit does: the first CI run
 * of a branch has no cache yet, and a build must not fail for want of one.
 */
export async function loadCaches(specs: CacheFromSpec[], client: RegistryClient, platforms: Platform[], warn: (text: string) => void, signal?: AbortSignal): Promise<LoadedCache[]> {
  const out: LoadedCache[] = [];
  for (const spec of specs) {
    try {
      out.push(...await load(spec, client, platforms, signal));
    } catch (err) {
      if (!isTsbuildError(err) || signal?.aborted === true) throw err;
      warn(`cache ${cacheName(spec)} not used: ${err.message}`);
    }
  }
  return out;
}

async function load(spec: CacheFromSpec, client: RegistryClient, platforms: Platform[], signal?: AbortSignal): Promise<LoadedCache[]> {
  switch (spec.type) {
    case 'registry': return loadRegistry(spec.ref, client, platforms, signal);
    case 'local': return [await loadDir(spec.src)];
    case 'gha':
    case 's3':
    case 'azblob': {
      const loaded = await loadStore(spec, signal);
      return loaded === undefined ? [] : [loaded];
    }
  }
}

/**
 * A gha, s3 or azblob cache's newest index and its config. A store with no index yet is no cache, without a warning of its
 * own: the first run of a workflow has none (BuildKit's importer says nothing either).
 */
async function loadStore(spec: StoreSpec, buildSignal?: AbortSignal): Promise<LoadedCache | undefined> {
  const store = openCacheStore(spec);
  return withTimeout(store.name, spec, buildSignal, async (signal) => {
    const bytes = await store.loadIndex(signal);
    if (bytes === undefined) return undefined;
    const doc = parseManifestDocument(bytes, MediaType.ociManifest, store.name);
    if (doc.kind !== 'manifest') throw new UserError('INVALID_ARGUMENT', `cache ${store.name}: the index is not a cache manifest`, `write it again with --cache-to type=${spec.type}`);
    const config = doc.manifest.config;
    return { ref: store.name, location: { kind: 'store', store }, config: configOf(config, await readStoreDocument(store, config, signal), store.name) };
  });
}

/**
 * A registry cache manifest, or an image's inline cache. An image index (a multi-platform image built with
 * `--cache-to type=inline`) has one in each platform's config, each with the keys of that platform's steps: the
 * inline cache of every platform being built is read, as BuildKit's importer reads each platform's. An index that has
 * none of them is refused by the first one's resolution error.
 */
async function loadRegistry(text: string, client: RegistryClient, platforms: Platform[], signal?: AbortSignal): Promise<LoadedCache[]> {
  const ref = parseReference(text);
  const fetched = await client.getManifest(ref, undefined, signal);
  const loaded = async (manifest: ImageManifest): Promise<LoadedCache> => {
    const bytes = await client.readBlob(ref, manifest.config, signal);
    return { ref: text, location: { kind: 'registry', repo: ref }, config: configOf(manifest.config, bytes, text) };
  };
  if (fetched.document.kind === 'manifest') return [await loaded(fetched.document.manifest)];
  const out: LoadedCache[] = [];
  const seen = new Set<string>();
  let firstError: unknown;
  for (const platform of platforms) {
    const desc = await client.resolve(ref, platform, signal).catch((err: unknown) => { firstError ??= err; return undefined; });
    if (desc === undefined || seen.has(desc.digest)) continue;
    seen.add(desc.digest);
    const platformManifest = await client.getManifest(ref, desc, signal);
    if (platformManifest.document.kind !== 'manifest') throw new UserError('INVALID_ARGUMENT', `${text}: nested index`, 'point --cache-from at a cache manifest or an image');
    out.push(await loaded(platformManifest.document.manifest));
  }
  if (out.length === 0) throw firstError ?? new UserError('INVALID_ARGUMENT', `${text}: no image for the platforms being built`, 'point --cache-from at an image built for them');
  return out;
}

async function loadDir(src: string): Promise<LoadedCache> {
  const layout = new OciLayoutDir(src);
  const dir = layout.dir;
  const readBlob = (desc: Descriptor): Promise<Buffer> => layout.readAll(desc, MAX_MANIFEST_BYTES, `cache ${src}`);
  let index: unknown;
  try {
    const bytes = await layout.indexBytes();
    if (bytes === undefined) throw Object.assign(new Error(`${join(dir, 'index.json')}: no such file`), { code: 'ENOENT' });
    index = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError('INVALID_ARGUMENT', `cache ${src} has no readable index.json`, 'write it first with --cache-to type=local,dest=DIR', { cause: err });
  }
  const doc = parseManifestDocument(Buffer.from(JSON.stringify(index)), undefined, src);
  const first = doc.kind === 'index' ? doc.index.manifests[0] : undefined;
  if (first === undefined) throw new UserError('INVALID_ARGUMENT', `cache ${src}: index.json lists no manifest`, 'write it with --cache-to type=local,dest=DIR');
  const manifestDoc = parseManifestDocument(await readBlob(first), first.mediaType, src);
  if (manifestDoc.kind !== 'manifest') throw new UserError('INVALID_ARGUMENT', `cache ${src}: expected a manifest`, 'write it with --cache-to type=local,dest=DIR');
  const config = manifestDoc.manifest.config;
  return { ref: src, location: { kind: 'dir', dir }, config: configOf(config, await readBlob(config), src) };
}

/** The cache config from a cache manifest's config blob, or the inline cache of an image config. */
function configOf(desc: Descriptor, bytes: Uint8Array, where: string): CacheConfig {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new UserError('INVALID_ARGUMENT', `cache ${where}: config is not JSON`, undefined, { cause: err });
  }
  if (desc.mediaType === CACHE_CONFIG_MEDIA_TYPE) return parseCacheConfig(json, where);
  const inline = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)[INLINE_CACHE_KEY] : undefined;
  if (inline === undefined) throw new UserError('INVALID_ARGUMENT', `${where} is an image without an inline cache`, 'build it with --cache-to type=inline, or point --cache-from at a cache manifest');
  return parseCacheConfig(inline, where);
}

/**
 * A small blob of a loaded cache (a record's files blob), read whole and verified: from its registry repository, or
 * from its layout directory, or from its store (gha, s3, azblob).
 */
export async function readCacheDocument(cache: LoadedCache, desc: Descriptor, client: RegistryClient, signal?: AbortSignal): Promise<Uint8Array> {
  if (cache.location.kind === 'registry') return client.readBlob(cache.location.repo, desc, signal);
  if (cache.location.kind === 'store') return readStoreDocument(cache.location.store, desc, signal);
  return new OciLayoutDir(cache.location.dir).readAll(desc, MAX_MANIFEST_BYTES, `cache ${cache.ref}`);
}
