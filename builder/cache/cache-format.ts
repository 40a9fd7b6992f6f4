import { gunzipSync, gzipSync } from 'node:zlib';
import { cacheKey, type CacheExport, type CacheKeyParts, type ContentFact, type ContentFiles, type ExportRecord, type LayerRef } from '../../solver/index.js';
import {
  MediaType, canonicalJson, isDigest, sha256, type Descriptor, type Digest, type ImageManifest,
} from '../../registry/oci/index.js';
import { MAX_MANIFEST_BYTES } from '../../registry/index.js';
import { UserError } from '../../common/index.js';

/** The media type of a cache manifest's config blob (and the manifest's artifactType). */
export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.tsbuild.cache.config.v1+json';
/** The image config member that carries an inline cache (`--cache-to type=inline`). */
export const INLINE_CACHE_KEY = 'tsbuild.cache.v1';

/** One record as stored: `layers` are indexes into the document's `layers`. */
export interface StoredRecord {
  key: Digest; parts: CacheKeyParts; locator: string; layers: number[]; size: number;
  /** When the result was first built (epoch ms); absent in caches written before it was kept. */
  created?: number;
  /** The blob of the per-file digests behind the key's content (filesBlob), for a reader that misses against it. */
  files?: Descriptor;
}

/** The media type of a record's files blob: its ContentFiles as canonical JSON, gzipped. */
export const CACHE_FILES_MEDIA_TYPE = 'application/vnd.tsbuild.cache.files.v1+json+gzip';
/** The most a files blob may unzip to: a reader refuses more (a hostile cache must not make it allocate without bound). */
export const MAX_CACHE_FILES_JSON = 64 * 1024 * 1024;

/**
 * A record's per-file digests as the blob a cache document carries beside its config, fetched only by a runner that
 * misses against the record's key (RemoteCacheSet.previousFiles): the config every reader loads does not carry the
 * listings (each up to MAX_FILE_DIGESTS entries, deeper paths grouped under their directories, as the solver keeps
 * them: tens of KB gzipped at most). Undefined when it would be larger than a reader takes
 * whole (MAX_MANIFEST_BYTES): that record's misses then say only that the files differ, as before.
 */
export function filesBlob(files: ContentFiles): { descriptor: Descriptor; bytes: Buffer } | undefined {
  const json = Buffer.from(canonicalJson(files));
  if (json.length > MAX_CACHE_FILES_JSON) return undefined;
  const bytes = gzipSync(json);
  if (bytes.length > MAX_MANIFEST_BYTES) return undefined;
  return { descriptor: { mediaType: CACHE_FILES_MEDIA_TYPE, digest: sha256(bytes), size: bytes.length }, bytes };
}

/** The ContentFiles of a files blob (gunzipped, bounded, every path mapped to a digest); throws a UserError naming `where`. */
export function parseFilesBlob(bytes: Uint8Array, where: string): ContentFiles {
  const bad = (what: string): never => {
    throw new UserError('INVALID_ARGUMENT', `cache ${where}: files blob ${what}`, 'the cache was written by another tool or version; export it again with --cache-to');
  };
  let json: unknown;
  try {
    json = JSON.parse(gunzipSync(bytes, { maxOutputLength: MAX_CACHE_FILES_JSON }).toString('utf8'));
  } catch {
    bad('is not gzipped JSON within the size tsbuild reads');
  }
  const out: ContentFiles = {};
  for (const [source, paths] of Object.entries(obj(json) ?? bad('is not a JSON object'))) {
    const files: Record<string, Digest> = {};
    for (const [path, d] of Object.entries(obj(paths) ?? bad(`source ${JSON.stringify(source)} is not an object`))) files[path] = digest(d, 'file digest', bad);
    out[source] = files;
  }
  return out;
}

/**
 * The cache config document ("Registry cache format" in the README). `contents` holds the facts with a `chain` (as
 * every version wrote them; `source` is optional there), `keyed` those known only by the step's key: a reader from
 * before `keyed` reads the rest of the document as it did.
 */
export interface CacheConfig { v: 1; layers: LayerRef[]; records: StoredRecord[]; contents: ContentFact[]; keyed?: ContentFact[] }

/** A cache manifest ready to push or write: the config's bytes and the manifest's, with their descriptors. */
export interface CacheDocument {
  config: CacheConfig;
  configBytes: Uint8Array;
  configDescriptor: Descriptor;
  manifestBytes: Uint8Array;
  manifestDescriptor: Descriptor;
  /** Every layer the records name, once: the manifest's first `layers`, so registries keep them and can mount them. */
  layers: Descriptor[];
  /** The records' files blobs, once each: listed after the layers in the manifest, and pushed with the config. */
  files: { descriptor: Descriptor; bytes: Buffer }[];
}

/**
 * The config document of `exported`: layers deduplicated by digest, in first-use order. `filesOf` gives a record's
 * files blob (cacheDocument); without it (an inline cache, which has no blobs of its own) records name none.
 */
export function cacheConfig(exported: CacheExport, filesOf: (r: ExportRecord) => Descriptor | undefined = () => undefined): CacheConfig {
  const layers: LayerRef[] = [];
  const index = new Map<Digest, number>();
  const indexOf = (l: LayerRef): number => {
    let i = index.get(l.descriptor.digest);
    if (i === undefined) {
      i = layers.length;
      index.set(l.descriptor.digest, i);
      const { mediaType, digest, size } = l.descriptor;
      layers.push({ descriptor: { mediaType, digest, size }, diffId: l.diffId });
    }
    return i;
  };
  const records = exported.records.map((r): StoredRecord => {
    const files = filesOf(r);
    return {
      key: r.key, parts: r.parts, locator: r.locator, layers: r.layers.map(indexOf), size: r.size,
      ...(r.created !== undefined ? { created: r.created } : {}), ...(files !== undefined ? { files } : {}),
    };
  });
  const keyed = exported.contents.filter((c) => c.chain === undefined);
  return { v: 1, layers, records, contents: exported.contents.filter((c) => c.chain !== undefined), ...(keyed.length > 0 ? { keyed } : {}) };
}

/** Every content fact of a config, wherever it is kept. */
export function contentFactsOf(config: CacheConfig): ContentFact[] {
  return [...config.contents, ...(config.keyed ?? [])];
}

/** The OCI manifest for `exported`: config of CACHE_CONFIG_MEDIA_TYPE, every referenced layer in `layers`. */
export function cacheDocument(exported: CacheExport, annotations: Record<string, string> = {}): CacheDocument {
  const files = new Map<Digest, { descriptor: Descriptor; bytes: Buffer }>();
  const config = cacheConfig(exported, (r) => {
    const blob = r.files === undefined ? undefined : filesBlob(r.files);
    if (blob !== undefined) files.set(blob.descriptor.digest, blob);
    return blob?.descriptor;
  });
  const configBytes = Buffer.from(canonicalJson(config));
  const configDescriptor: Descriptor = { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: sha256(configBytes), size: configBytes.length };
  const layers = config.layers.map((l) => l.descriptor);
  const manifest: ImageManifest = {
    schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType: CACHE_CONFIG_MEDIA_TYPE, config: configDescriptor,
    layers: [...layers, ...[...files.values()].map((f) => f.descriptor)],
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  const manifestBytes = Buffer.from(canonicalJson(manifest));
  const manifestDescriptor: Descriptor = { mediaType: MediaType.ociManifest, digest: sha256(manifestBytes), size: manifestBytes.length };
  return { config, configBytes, configDescriptor, manifestBytes, manifestDescriptor, layers, files: [...files.values()] };
}

/**
 * Checks a cache config read from a registry, a directory or an image config. Every record's key must be the
 * digest of its parts (so a record can only ever answer for the step it describes) and its layer indexes in range.
 */
export function parseCacheConfig(value: unknown, where: string): CacheConfig {
  const bad = (what: string): never => {
    throw new UserError('INVALID_ARGUMENT', `cache ${where}: ${what}`, 'the cache was written by another tool or version; export it again with --cache-to');
  };
  const doc = obj(value) ?? bad('not a JSON object');
  if (doc.v !== 1) bad(`unsupported version ${JSON.stringify(doc.v)}`);
  const layers = arr(doc.layers, 'layers', bad).map((l, i) => layerRef(l, `layers[${i}]`, bad));
  const records = arr(doc.records, 'records', bad).map((r, i): StoredRecord => {
    const rec = obj(r) ?? bad(`records[${i}] is not an object`);
    const parts = keyParts(rec.parts, `records[${i}].parts`, bad);
    const key = digest(rec.key, `records[${i}].key`, bad);
    if (cacheKey(parts).digest !== key) bad(`records[${i}]: key ${key} is not the digest of its parts`);
    const idx = arr(rec.layers, `records[${i}].layers`, bad).map((n) => (Number.isInteger(n) && typeof n === 'number' && n >= 0 && n < layers.length ? n : bad(`records[${i}]: bad layer index ${String(n)}`)));
    const size = typeof rec.size === 'number' && rec.size >= 0 ? rec.size : bad(`records[${i}].size`);
    const created = rec.created === undefined ? undefined : typeof rec.created === 'number' && Number.isSafeInteger(rec.created) && rec.created >= 0 ? rec.created : bad(`records[${i}].created`);
    const files = rec.files === undefined ? undefined : filesDescriptor(rec.files, `records[${i}].files`, bad);
    return { key, parts, locator: typeof rec.locator === 'string' ? rec.locator : '', layers: idx, size, ...(created !== undefined ? { created } : {}), ...(files !== undefined ? { files } : {}) };
  });
  const contents = arr(doc.contents ?? [], 'contents', bad).map((c, i) => contentFact(c, `contents[${i}]`, 'chain', bad));
  const keyed = arr(doc.keyed ?? [], 'keyed', bad).map((c, i) => contentFact(c, `keyed[${i}]`, 'source', bad));
  return { v: 1, layers, records, contents, ...(keyed.length > 0 ? { keyed } : {}) };
}

/** One content fact; `named` is the name it must have (`chain` in `contents`, `source` in `keyed`), the other is optional. */
function contentFact(value: unknown, where: string, named: 'chain' | 'source', bad: Bad): ContentFact {
  const fact = obj(value) ?? bad(`${where} is not an object`);
  const d = obj(fact.digest) ?? bad(`${where}.digest`);
  const files: Record<string, Digest> = {};
  for (const [path, f] of Object.entries(obj(d.files) ?? {})) files[path] = digest(f, `${where}.files`, bad);
  const name = (field: 'chain' | 'source'): Digest | undefined =>
    field === named || fact[field] !== undefined ? digest(fact[field], `${where}.${field}`, bad) : undefined;
  const chain = name('chain');
  const source = name('source');
  return {
    ...(chain !== undefined ? { chain } : {}), ...(source !== undefined ? { source } : {}),
    selector: digest(fact.selector, `${where}.selector`, bad), digest: { digest: digest(d.digest, `${where}.digest`, bad), files },
  };
}

type Bad = (what: string) => never;

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function arr(v: unknown, what: string, bad: Bad): unknown[] {
  return Array.isArray(v) ? v : bad(`${what} is not an array`);
}

function digest(v: unknown, what: string, bad: Bad): Digest {
  return isDigest(v) ? v : bad(`${what} is not a sha256 digest`);
}

function str(v: unknown, what: string, bad: Bad): string {
  return typeof v === 'string' ? v : bad(`${what} is not a string`);
}

/** A record's files blob descriptor: a digest and a size a reader takes whole. */
function filesDescriptor(v: unknown, what: string, bad: Bad): Descriptor {
  const d = obj(v) ?? bad(`${what} is not an object`);
  const size = typeof d.size === 'number' && Number.isInteger(d.size) && d.size >= 0 && d.size <= MAX_MANIFEST_BYTES ? d.size : bad(`${what}.size`);
  return { mediaType: str(d.mediaType, `${what}.mediaType`, bad), digest: digest(d.digest, `${what}.digest`, bad), size };
}

function layerRef(v: unknown, what: string, bad: Bad): LayerRef {
  const l = obj(v) ?? bad(`${what} is not an object`);
  const d = obj(l.descriptor) ?? bad(`${what}.descriptor`);
  const size = typeof d.size === 'number' && Number.isInteger(d.size) && d.size >= 0 ? d.size : bad(`${what}.descriptor.size`);
  return { descriptor: { mediaType: str(d.mediaType, `${what}.mediaType`, bad), digest: digest(d.digest, `${what}.digest`, bad), size }, diffId: digest(l.diffId, `${what}.diffId`, bad) };
}

function keyParts(v: unknown, what: string, bad: Bad): CacheKeyParts {
  const p = obj(v) ?? bad(`${what} is not an object`);
  // A record of an older key recipe (v1) is read but never answers: keys of this version differ from its key.
  const version = typeof p.v === 'number' && Number.isInteger(p.v) && p.v >= 1 ? p.v : bad(`${what}.v`);
  const strings = (x: unknown, w: string): Record<string, string> => {
    const o = obj(x) ?? bad(`${what}.${w}`);
    return Object.fromEntries(Object.entries(o).map(([k, s]) => [k, str(s, `${what}.${w}.${k}`, bad)]));
  };
  const content: Record<string, Digest> = {};
  for (const [k, d] of Object.entries(obj(p.content) ?? bad(`${what}.content`))) content[k] = digest(d, `${what}.content`, bad);
  // Members this version does not know are kept: they are part of the digest the key is checked against.
  return {
    ...p, v: version, op: str(p.op, `${what}.op`, bad), opText: str(p.opText, `${what}.opText`, bad),
    inputs: arr(p.inputs, `${what}.inputs`, bad).map((d) => digest(d, `${what}.inputs`, bad)),
    content, args: strings(p.args, 'args'), platform: str(p.platform, `${what}.platform`, bad),
  };
}
