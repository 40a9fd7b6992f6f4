import type { CacheExportMode } from '../../solver/index.js';
import { parseBool } from '../options/output.js';
import { flagFields, parseCsvAttrs } from '../options/csv-attrs.js';
import { UserError, parseGoBool } from '../../common/index.js';

/** Attributes every exported cache shares. */
interface CacheToCommon {
  /** `ignore-error=true`: a failed export is reported and the build still succeeds (as buildx). */
  ignoreError?: boolean;
}

/** One `--cache-to`, as buildx writes it. */
export type CacheToSpec =
  | ({ type: 'registry'; ref: string; mode: CacheExportMode; registryInsecure?: boolean } & CacheToCommon)
  | ({ type: 'local'; dest: string; mode: CacheExportMode; tag?: string } & CacheToCommon)
  | { type: 'inline' };

/** One `--cache-from`: a registry reference (a cache manifest, or an image with an inline cache) or a directory. */
export type CacheFromSpec = { type: 'registry'; ref: string; registryInsecure?: boolean } | { type: 'local'; src: string };

/** Cache backends buildx documents that tsbuild has no client for. */
const OTHER_BACKENDS = ['gha', 's3', 'azblob'];

/** The attributes each `--cache-to` type accepts. */
const CACHE_TO_ATTRS: Record<string, string[]> = {
  registry: ['ref', 'mode', 'image-manifest', 'oci-mediatypes', 'compression', 'compression-level', 'force-compression', 'ignore-error', 'registry.insecure'],
  local: ['dest', 'tag', 'mode', 'image-manifest', 'oci-mediatypes', 'compression', 'compression-level', 'force-compression', 'ignore-error'],
  inline: [],
};

function refuse(flag: string, text: string, what: string, hint: string): never {
  throw new UserError('INVALID_ARGUMENT', `${flag} ${text}: ${what}`, hint);
}

/**
 * Checks the attributes a cache export shares. The cache's layers are the build's own gzip layers in an OCI image
 * manifest, so `compression=gzip`, `oci-mediatypes=true` and `image-manifest=true` describe what is written anyway;
 * other values are refused by name instead of being dropped.
 */
function checkCacheToAttrs(attrs: Record<string, string>, text: string): void {
  const type = attrs.type ?? '';
  for (const key of Object.keys(attrs)) {
    if (key !== 'type' && !(CACHE_TO_ATTRS[type] ?? []).includes(key)) {
      refuse('--cache-to', text, `attribute ${JSON.stringify(key)} is not supported for type=${type}`, `remove ${key}=… (type=${type} accepts ${(CACHE_TO_ATTRS[type] ?? []).join(', ') || 'no attributes'})`);
    }
  }
  const c = attrs.compression;
  if (c !== undefined && c !== '' && c !== 'gzip') refuse('--cache-to', text, `compression=${c} is not supported for caches yet (cache layers are the build's gzip layers)`, 'drop compression= or use compression=gzip');
  if (attrs['compression-level'] !== undefined) refuse('--cache-to', text, 'compression-level is not supported for caches (layers are exported as they were built)', 'drop compression-level=');
  if (parseBool(attrs['force-compression'], false, 'force-compression')) refuse('--cache-to', text, 'force-compression=true is not supported for caches', 'drop force-compression=');
  if (!parseBool(attrs['oci-mediatypes'], true, 'oci-mediatypes')) refuse('--cache-to', text, 'oci-mediatypes=false is not supported: the cache is always written with OCI media types', 'drop oci-mediatypes=false');
  if (!parseBool(attrs['image-manifest'], true, 'image-manifest')) refuse('--cache-to', text, 'image-manifest=false is not supported: tsbuild writes the cache as an OCI image manifest', 'drop image-manifest=false');
}

function mode(value: string | undefined): CacheExportMode {
  if (value === undefined || value === '' || value === 'min') return 'min';
  if (value === 'max') return 'max';
  throw new UserError('INVALID_ARGUMENT', `invalid cache mode ${JSON.stringify(value)}`, 'use mode=min (the final image’s steps) or mode=max (every step)');
}

function need(attrs: Record<string, string>, key: string, flag: string, example: string): string {
  const value = attrs[key];
  if (!value) throw new UserError('INVALID_ARGUMENT', `${flag} type=${attrs.type ?? ''} needs ${key}=`, `e.g. ${flag} ${example}`);
  return value;
}

/**
 * The `--cache-to` / `--cache-from` values as buildx lists them (ParseCacheEntry): an empty value is skipped, and a
 * value without `=` is one registry reference per CSV field (`--cache-to a/app:cache,b/app:cache`), as written.
 */
export function cacheEntries(values: string[], flag: '--cache-from' | '--cache-to'): string[] {
  return values.filter((v) => v !== '').flatMap((v) => (v.includes('=') ? [v] : flagFields(flag, v)));
}

/**
 * Whether buildx passes a `type=gha` entry on to BuildKit at all. build/opt.go CreateCaches fills in its `token`,
 * `url` and `url_v2` from the runner's environment (addGithubToken: ACTIONS_RUNTIME_TOKEN, ACTIONS_CACHE_URL, or
 * ACTIONS_RESULTS_URL, the latter for `url_v2` when `version=2` or ACTIONS_CACHE_SERVICE_V2 says so) and drops,
 * without a word, an entry left without a token or without either URL (isActive). Outside a GitHub Actions step
 * (a shell `run:`, a laptop, another CI) a workflow's `cache-from: type=gha` is therefore no cache at all.
 */
function isActiveGha(attrs: Record<string, string>, env: NodeJS.ProcessEnv): boolean {
  const version = attrs['version'] ?? (parseGoBool(env['ACTIONS_CACHE_SERVICE_V2']) === true ? '2' : undefined);
  const token = attrs['token'] ?? env['ACTIONS_RUNTIME_TOKEN'];
  const urlV2 = attrs['url_v2'] ?? (version === '2' ? env['ACTIONS_RESULTS_URL'] : undefined);
  const url = attrs['url'] ?? env['ACTIONS_CACHE_URL'] ?? env['ACTIONS_RESULTS_URL'];
  return Boolean(token) && (Boolean(url) || Boolean(urlV2));
}

/**
 * The `--cache-from` / `--cache-to` entries of a backend tsbuild has no client for (gha, s3, azblob) that a build
 * goes on without, each with the warning that says so: every such `--cache-from`, as BuildKit carries on when a cache
 * cannot be imported, and a `--cache-to` with `ignore-error=true`, which asks for just that. build-push-action's
 * `cache-from: type=gha` then runs, without that cache. A `--cache-to` without it is refused by its parser. A gha
 * entry buildx would not pass on (isActiveGha) is dropped silently, as buildx drops it, `--cache-to` included.
 */
export function unsupportedCaches(entries: string[], flag: '--cache-from' | '--cache-to', env: NodeJS.ProcessEnv = process.env): { kept: string[]; warnings: string[] } {
  const kept: string[] = [];
  const warnings: string[] = [];
  for (const text of entries) {
    const attrs = text.includes('=') ? parseCsvAttrs(flag, text) : {};
    if (attrs.type === 'gha' && !isActiveGha(attrs, env)) continue;
    const isOther = OTHER_BACKENDS.includes(attrs.type ?? '');
    if (isOther && (flag === '--cache-from' || parseBool(attrs['ignore-error'], false, 'ignore-error'))) {
      warnings.push(`warning: ${flag} ${text}: cache type ${attrs.type ?? ''} is not supported by tsbuild; building without it`);
    } else {
      kept.push(text);
    }
  }
  return { kept, warnings };
}

/**
 * Parses `--cache-to type=registry,ref=REF[,mode=min|max]`, `type=local,dest=DIR[,mode=…]`, `type=inline`, or a bare
 * REF (buildx's shorthand for type=registry,ref=REF).
 */
export function parseCacheTo(text: string): CacheToSpec {
  if (!text.includes('=')) return { type: 'registry', ref: text, mode: 'min' };
  const attrs = parseCsvAttrs('--cache-to', text);
  if (OTHER_BACKENDS.includes(attrs.type ?? '')) {
    refuse('--cache-to', text, `cache type ${attrs.type ?? ''} is not supported`, 'use type=registry,ref=REF or type=local,dest=DIR (e.g. with actions/cache) or type=inline, or add ignore-error=true to build without it');
  }
  if (!CACHE_TO_ATTRS[attrs.type ?? '']) {
    throw new UserError('INVALID_ARGUMENT', `unknown cache type ${JSON.stringify(attrs.type ?? '')} in --cache-to ${text}`, 'use type=registry, type=local or type=inline');
  }
  checkCacheToAttrs(attrs, text);
  const ignoreError = attrs['ignore-error'] !== undefined ? { ignoreError: parseBool(attrs['ignore-error'], false, 'ignore-error') } : {};
  switch (attrs.type) {
    case 'registry': {
      const insecure = attrs['registry.insecure'];
      return {
        type: 'registry', ref: need(attrs, 'ref', '--cache-to', 'type=registry,ref=registry.example/app:cache,mode=max'), mode: mode(attrs.mode), ...ignoreError,
        ...(insecure !== undefined ? { registryInsecure: parseBool(insecure, false, 'registry.insecure') } : {}),
      };
    }
    case 'local': return { type: 'local', dest: need(attrs, 'dest', '--cache-to', 'type=local,dest=/tmp/cache,mode=max'), mode: mode(attrs.mode), ...(attrs.tag ? { tag: attrs.tag } : {}), ...ignoreError };
    default: return { type: 'inline' };
  }
}

/** Parses `--cache-from type=registry,ref=REF`, `type=local,src=DIR`, or a bare REF (buildx's shorthand). */
export function parseCacheFrom(text: string): CacheFromSpec {
  if (!text.includes('=')) return { type: 'registry', ref: text };
  const attrs = parseCsvAttrs('--cache-from', text);
  if (OTHER_BACKENDS.includes(attrs.type ?? '')) {
    refuse('--cache-from', text, `cache type ${attrs.type ?? ''} is not supported`, 'use type=registry,ref=REF or type=local,src=DIR');
  }
  const allowed: Record<string, string[]> = { registry: ['ref', 'registry.insecure'], local: ['src'] };
  for (const key of Object.keys(attrs)) {
    if (key === 'type' || (allowed[attrs.type ?? ''] ?? []).includes(key)) continue;
    if (allowed[attrs.type ?? '']) {
      const why = key === 'tag' || key === 'digest' ? `${key}= is not supported yet: the newest cache in the layout (its first manifest) is read` : `attribute ${JSON.stringify(key)} is not supported for type=${attrs.type ?? ''}`;
      refuse('--cache-from', text, why, `remove ${key}=…`);
    }
  }
  switch (attrs.type) {
    case 'registry': {
      const insecure = attrs['registry.insecure'];
      return { type: 'registry', ref: need(attrs, 'ref', '--cache-from', 'type=registry,ref=registry.example/app:cache'), ...(insecure !== undefined ? { registryInsecure: parseBool(insecure, false, 'registry.insecure') } : {}) };
    }
    case 'local': return { type: 'local', src: need(attrs, 'src', '--cache-from', 'type=local,src=/tmp/cache') };
    default:
      throw new UserError('INVALID_ARGUMENT', `unknown cache type ${JSON.stringify(attrs.type ?? '')} in --cache-from ${text}`, 'use type=registry or type=local (an inline cache is read with type=registry,ref=IMAGE)');
  }
}
