import type { CacheExportMode } from '../../solver/index.js';
import { parseBool } from '../options/output.js';
import { flagFields, parseCsvAttrs } from '../options/csv-attrs.js';
import { UserError, parseGoBool } from '../../common/index.js';
import { parseDuration } from '../options/units.js';
import type { ActionsCacheService } from './gha/actions-cache.js';
import { DEFAULT_GHA_SCOPE, ghaCacheName } from './gha/gha-cache.js';
import { awsCredentials } from './s3/aws-credentials.js';
import { s3CacheName, type S3Location } from './s3/s3-cache.js';
import { azblobCacheName, type AzblobLocation } from './azblob/azblob-cache.js';

/** Attributes every exported cache shares. */
interface CacheToCommon {
  /** `ignore-error=true`: a failed export is reported and the build still succeeds (as buildx). */
  ignoreError?: boolean;
}

/** One `--cache-to`, as buildx writes it. */
export type CacheToSpec =
  | ({ type: 'registry'; ref: string; mode: CacheExportMode; registryInsecure?: boolean } & CacheToCommon)
  | ({ type: 'local'; dest: string; mode: CacheExportMode; tag?: string } & CacheToCommon)
  | ({ type: 'gha'; mode: CacheExportMode } & GhaSpec & CacheToCommon)
  | ({ type: 's3'; mode: CacheExportMode } & S3Spec & CacheToCommon)
  | ({ type: 'azblob'; mode: CacheExportMode } & AzblobSpec & CacheToCommon)
  | { type: 'inline' };

/**
 * One `--cache-from`: a registry reference (a cache manifest, or an image with an inline cache), a directory, a
 * GitHub Actions cache scope, an S3 bucket or an Azure Blob Storage container.
 */
export type CacheFromSpec = { type: 'registry'; ref: string; registryInsecure?: boolean } | { type: 'local'; src: string } | StoreSpec;

/** A `--cache-from`/`--cache-to` entry whose cache is a CacheStore. */
export type StoreSpec = ({ type: 'gha' } & GhaSpec) | ({ type: 's3' } & S3Spec) | ({ type: 'azblob' } & AzblobSpec);

/**
 * A `type=s3` cache: where it is (bucket, prefixes, names) and the credentials it is written and read with, and
 * `upload_parallelism` (default 4): how many blobs an export sends at once, as BuildKit's exporter runs that many
 * layer uploads side by side (each big one itself in parts, s3-cache.ts).
 */
export interface S3Spec { location: S3Location; uploadParallelism: number }

/** A `type=azblob` cache: where it is (account, container, prefixes, names) and the account key it is signed with. */
export interface AzblobSpec { location: AzblobLocation }

/** A `type=gha` cache: the runner's cache service (version 2), a scope in it, and how long its transfers may take. */
export interface GhaSpec { service: ActionsCacheService; scope: string; timeoutMs: number }

/** The attributes of `type=gha` on either flag (BuildKit's cache/remotecache/gha). */
const GHA_ATTRS = ['scope', 'token', 'url', 'url_v2', 'version', 'timeout', 'repository', 'ghtoken'];

/**
 * The attributes of `type=s3` (BuildKit's cache/remotecache/s3). `disable_accept_encoding`, `retry_mode` and
 * `retry_max_attempts` are tuning of BuildKit's client, accepted and not needed.
 */
const S3_ATTRS = ['bucket', 'region', 'prefix', 'manifests_prefix', 'blobs_prefix', 'name', 'endpoint_url', 'use_path_style',
  'access_key_id', 'secret_access_key', 'session_token', 'touch_refresh', 'upload_parallelism', 'disable_accept_encoding', 'retry_mode', 'retry_max_attempts'];

/** The attributes of `type=azblob` (BuildKit's cache/remotecache/azblob getConfig). */
const AZBLOB_ATTRS = ['account_url', 'account_name', 'container', 'prefix', 'manifests_prefix', 'blobs_prefix', 'name', 'secret_access_key'];

/** The attributes each `--cache-to` type accepts. */
const CACHE_TO_ATTRS: Record<string, string[]> = {
  registry: ['ref', 'mode', 'image-manifest', 'oci-mediatypes', 'compression', 'compression-level', 'force-compression', 'ignore-error', 'registry.insecure'],
  local: ['dest', 'tag', 'mode', 'image-manifest', 'oci-mediatypes', 'compression', 'compression-level', 'force-compression', 'ignore-error'],
  inline: [],
  gha: [...GHA_ATTRS, 'mode', 'compression', 'compression-level', 'force-compression', 'ignore-error'],
  s3: [...S3_ATTRS, 'mode', 'compression', 'compression-level', 'force-compression', 'ignore-error'],
  azblob: [...AZBLOB_ATTRS, 'mode', 'compression', 'compression-level', 'force-compression', 'ignore-error'],
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

/**
 * A cache entry as messages show it: the values of `token=`, `ghtoken=`, `secret_access_key=` and `session_token=`
 * (credentials) replaced, and the query of an `account_url=` (a SAS token, refused, but not to be shown either).
 */
export function redactedEntry(text: string): string {
  return text.replace(/(^|,)("?)(token|ghtoken|secret_access_key|session_token)=[^,]*/g, '$1$2$3=***')
    .replace(/(^|,)("?account_url=[^,?]*)\?[^,]*/g, '$1$2?***');
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
 * What a `type=gha` entry reaches, as buildx and BuildKit decide it. buildx (build/opt.go addGithubToken) fills in
 * `token`, `url` and `url_v2` from the runner's environment (ACTIONS_RUNTIME_TOKEN, ACTIONS_CACHE_URL, or
 * ACTIONS_RESULTS_URL, the latter for `url_v2` when `version=2` or ACTIONS_CACHE_SERVICE_V2 says so) and drops,
 * without a word, an entry left without a token or without either URL (isActive): outside a GitHub Actions step (a
 * shell `run:`, a laptop, another CI) a workflow's `cache-from: type=gha` is no cache at all. BuildKit
 * (remotecache/gha getConfig) then speaks version 2 to `url_v2`, or to `url` when `version=2` or the URL is
 * github.com's results receiver, and version 1 otherwise: that retired protocol is 'v1' here, a backend tsbuild
 * has no client for.
 */
function ghaService(attrs: Record<string, string>, env: NodeJS.ProcessEnv): 'inactive' | 'v1' | ActionsCacheService {
  const envVersion = parseGoBool(env['ACTIONS_CACHE_SERVICE_V2']) === true ? '2' : undefined;
  const token = attrs['token'] ?? env['ACTIONS_RUNTIME_TOKEN'];
  const urlV2 = attrs['url_v2'] ?? ((attrs['version'] ?? envVersion) === '2' ? env['ACTIONS_RESULTS_URL'] : undefined);
  const url = attrs['url'] ?? env['ACTIONS_CACHE_URL'] ?? env['ACTIONS_RESULTS_URL'];
  if (!token || (!url && !urlV2)) return 'inactive';
  const version = attrs['version'];
  if (version !== undefined && !/^\d+$/.test(version)) throw new UserError('INVALID_ARGUMENT', `type=gha: failed to parse api version ${JSON.stringify(version)}, expected positive integer`, 'use version=2 (or leave it out)');
  if (version !== '1' && urlV2) return { url: urlV2, token };
  if (!url) return 'inactive';
  if (version === '2' || (version === undefined && url.includes('results-receiver.actions.githubusercontent.com'))) return { url, token };
  return 'v1';
}

/**
 * The `type=s3` attributes as BuildKit's getConfig reads them: bucket and region from the attributes or AWS_BUCKET /
 * AWS_REGION, credentials from the attributes, the environment (aws-actions/configure-aws-credentials' AWS_ACCESS_KEY_ID
 * …) or a shared-file profile (s3/aws-credentials.ts; BuildKit's SDK also assumes roles and asks instance
 * endpoints, tsbuild does not).
 */
function s3Spec(attrs: Record<string, string>, flag: string, text: string, env: NodeJS.ProcessEnv): S3Spec {
  const bucket = attrs['bucket'] ?? env['AWS_BUCKET'];
  if (!bucket) refuse(flag, text, 'bucket ($AWS_BUCKET) not set for s3 cache', 'add bucket=NAME');
  const region = attrs['region'] ?? env['AWS_REGION'];
  if (!region) refuse(flag, text, 'region ($AWS_REGION) not set for s3 cache', 'add region=us-east-1 (or the bucket\'s region)');
  const found = awsCredentials(attrs, env);
  if (found.credentials === undefined) refuse(flag, text, `no credentials for s3 cache: ${found.why}`, 'give access_key_id= and secret_access_key=, set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile with aws_access_key_id in ~/.aws/credentials (AWS_PROFILE)');
  const endpoint = attrs['endpoint_url'];
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) refuse(flag, text, `endpoint_url ${JSON.stringify(endpoint)} is not an http(s) URL`, 'e.g. endpoint_url=https://minio.example:9000');
  const names = (attrs['name'] ?? 'buildkit').split(';');
  if (names.some((n) => n === '')) refuse(flag, text, 'name= holds an empty name', 'e.g. name=main;pr-12');
  const usePathStyle = parseGoBool(attrs['use_path_style'] ?? 'false') === true;
  return {
    location: {
      bucket, region, ...(endpoint !== undefined ? { endpoint } : {}), pathStyle: usePathStyle,
      prefix: attrs['prefix'] ?? '', blobsPrefix: attrs['blobs_prefix'] ?? 'blobs/', manifestsPrefix: attrs['manifests_prefix'] ?? 'manifests/', names,
      credentials: found.credentials, touchRefreshMs: touchRefresh(attrs['touch_refresh']),
    },
    uploadParallelism: uploadParallelism(attrs['upload_parallelism'], flag, text),
  };
}

/** `upload_parallelism` as BuildKit's getConfig reads it (strconv.Atoi, then > 0), with its words for a bad value; 4 when absent. */
function uploadParallelism(text: string | undefined, flag: string, entry: string): number {
  if (text === undefined) return 4;
  const n = /^[+-]?\d{1,18}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n > 0)) refuse(flag, entry, 'upload_parallelism must be a positive integer', 'e.g. upload_parallelism=4 (how many blobs go up at once)');
  return n;
}

/** `touch_refresh` as BuildKit reads it: a duration, 24 hours when absent or not one (BuildKit ignores a bad value too). */
function touchRefresh(text: string | undefined): number {
  const day = 24 * 3_600_000;
  if (text === undefined) return day;
  try {
    return parseDuration(text);
  } catch {
    return day;
  }
}

/**
 * The `type=azblob` attributes as BuildKit's getConfig reads them: `account_url` (or BUILDKIT_AZURE_STORAGE_ACCOUNT_URL),
 * `account_name` (or BUILDKIT_AZURE_STORAGE_ACCOUNT_NAME, else the first label of the URL's host), `container` (or
 * BUILDKIT_AZURE_STORAGE_CONTAINER, default `buildkit-cache`), `prefix` (or BUILDKIT_AZURE_STORAGE_PREFIX). The key
 * is `secret_access_key` only, as in BuildKit; an entry without one was set aside by unsupportedCaches or is refused.
 */
function azblobSpec(attrs: Record<string, string>, flag: string, text: string, env: NodeJS.ProcessEnv): AzblobSpec {
  const accountUrl = attrs['account_url'] ?? env['BUILDKIT_AZURE_STORAGE_ACCOUNT_URL'];
  if (!accountUrl) refuse(flag, text, 'account_url ($BUILDKIT_AZURE_STORAGE_ACCOUNT_URL) not set for azblob cache', 'add account_url=https://ACCOUNT.blob.core.windows.net');
  const url = URL.parse(accountUrl);
  if (url === null || !/^https?:$/.test(url.protocol) || url.search !== '' || url.hash !== '') {
    refuse(flag, text, 'account_url is not an http(s) URL without a query', 'e.g. account_url=https://ACCOUNT.blob.core.windows.net (a SAS token is not supported: give secret_access_key=)');
  }
  const accountName = attrs['account_name'] ?? env['BUILDKIT_AZURE_STORAGE_ACCOUNT_NAME'] ?? url.hostname.split('.')[0] ?? '';
  if (!accountName) refuse(flag, text, 'no account name for azblob cache', 'add account_name=ACCOUNT (or set BUILDKIT_AZURE_STORAGE_ACCOUNT_NAME)');
  const container = attrs['container'] ?? env['BUILDKIT_AZURE_STORAGE_CONTAINER'] ?? 'buildkit-cache';
  if (!container) refuse(flag, text, 'container= is empty', 'give container=NAME, or leave it out for buildkit-cache');
  const secretAccessKey = attrs['secret_access_key'];
  if (!secretAccessKey) refuse(flag, text, 'no secret_access_key for azblob cache', 'add secret_access_key= (the storage account\'s access key); tsbuild does not sign in through Azure AD as BuildKit does without one');
  // The Go SDK BuildKit signs with refuses a key that is not padded standard base64; Node's decoder would take anything.
  if (secretAccessKey.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(secretAccessKey)) refuse(flag, text, 'secret_access_key is not base64 (an account key is)', 'copy the storage account\'s access key as the portal or `az storage account keys list` shows it');
  const names = (attrs['name'] ?? 'buildkit').split(';');
  if (names.some((n) => n === '')) refuse(flag, text, 'name= holds an empty name', 'e.g. name=main;pr-12');
  return {
    location: {
      accountUrl, accountName, container, prefix: attrs['prefix'] ?? env['BUILDKIT_AZURE_STORAGE_PREFIX'] ?? '',
      blobsPrefix: attrs['blobs_prefix'] ?? 'blobs', manifestsPrefix: attrs['manifests_prefix'] ?? 'manifests', names, secretAccessKey,
    },
  };
}

/** The `--cache-from`/`--cache-to` `type=gha` attributes as a GhaSpec (the entry is known to be active and v2). */
function ghaSpec(attrs: Record<string, string>, flag: string, text: string, env: NodeJS.ProcessEnv): GhaSpec {
  const service = ghaService(attrs, env);
  if (service === 'inactive' || service === 'v1') {
    refuse(flag, text, service === 'v1' ? 'version 1 of GitHub\'s cache service is not supported (it was retired in 2025)' : 'no cache service: no token, or no url', service === 'v1' ? 'use url_v2= (ACTIONS_RESULTS_URL) with version=2' : 'run it in a GitHub Actions step that exposes ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL');
  }
  const scope = attrs['scope'] ?? DEFAULT_GHA_SCOPE;
  // `#` numbers a scope's index entries (gha-cache.ts): scope `a` must never find `a#b`'s. The service refuses commas.
  if (scope === '' || /[#,]/.test(scope)) refuse(flag, text, `scope ${JSON.stringify(scope)} is not usable as a cache key`, 'give a scope without "#" or ",", e.g. scope=${{ github.ref_name }}-linux-amd64');
  const timeout = attrs['timeout'];
  return { service, scope, timeoutMs: timeout === undefined ? 10 * 60_000 : parseDuration(timeout) };
}

/**
 * The `--cache-from` / `--cache-to` entries tsbuild cannot use (gha's retired version 1, an s3 entry without
 * credentials, an azblob entry without `secret_access_key`) that a build goes on without, each with the warning that
 * says so: every such `--cache-from`, as BuildKit carries on when a cache cannot be imported, and a `--cache-to` with
 * `ignore-error=true`, which asks for just that. A `--cache-to` without it is refused by its parser. A gha entry buildx
 * would not pass on (ghaService 'inactive') is dropped silently, as buildx drops it, `--cache-to` included.
 */
export function unsupportedCaches(entries: string[], flag: '--cache-from' | '--cache-to', env: NodeJS.ProcessEnv = process.env): { kept: string[]; warnings: string[] } {
  const kept: string[] = [];
  const warnings: string[] = [];
  for (const text of entries) {
    const attrs = text.includes('=') ? parseCsvAttrs(flag, text) : {};
    const gha = attrs.type === 'gha' ? ghaService(attrs, env) : undefined;
    if (gha === 'inactive') continue;
    // BuildKit's SDK would also try what needs a call to AWS (a role, SSO, an instance's endpoint) and, finding
    // nothing, fail the import: the build goes on without it. tsbuild follows what needs no call, so it knows at once.
    const s3Lookup = attrs.type === 's3' ? awsCredentials(attrs, env) : undefined;
    const s3Missing = s3Lookup !== undefined && s3Lookup.credentials === undefined ? s3Lookup.why : undefined;
    // Without a key BuildKit signs in through Azure AD (DefaultAzureCredential: a managed identity, az login …), which
    // tsbuild has no client for: the entry is as one without credentials.
    const azblobWithoutKey = attrs.type === 'azblob' && !attrs['secret_access_key'];
    if ((gha === 'v1' || s3Missing !== undefined || azblobWithoutKey) && (flag === '--cache-from' || parseBool(attrs['ignore-error'], false, 'ignore-error'))) {
      const why = s3Missing
        ?? (azblobWithoutKey ? 'no secret_access_key (tsbuild signs with the account key; it has no Azure AD sign-in)'
          : 'version 1 of GitHub\'s cache service (retired in 2025) is not supported by tsbuild');
      warnings.push(`warning: ${flag} ${redactedEntry(text)}: ${why}; building without it`);
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
export function parseCacheTo(entry: string, env: NodeJS.ProcessEnv = process.env): CacheToSpec {
  if (!entry.includes('=')) return { type: 'registry', ref: entry, mode: 'min' };
  const attrs = parseCsvAttrs('--cache-to', entry);
  const text = redactedEntry(entry);
  if (!CACHE_TO_ATTRS[attrs.type ?? '']) {
    throw new UserError('INVALID_ARGUMENT', `unknown cache type ${JSON.stringify(attrs.type ?? '')} in --cache-to ${text}`, 'use type=registry, local, inline, gha, s3 or azblob');
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
    case 'gha': return { type: 'gha', ...ghaSpec(attrs, '--cache-to', text, env), mode: mode(attrs.mode), ...ignoreError };
    case 's3': return { type: 's3', ...s3Spec(attrs, '--cache-to', text, env), mode: mode(attrs.mode), ...ignoreError };
    case 'azblob': return { type: 'azblob', ...azblobSpec(attrs, '--cache-to', text, env), mode: mode(attrs.mode), ...ignoreError };
    default: return { type: 'inline' };
  }
}

/** Parses `--cache-from type=registry,ref=REF`, `type=local,src=DIR`, or a bare REF (buildx's shorthand). */
export function parseCacheFrom(entry: string, env: NodeJS.ProcessEnv = process.env): CacheFromSpec {
  if (!entry.includes('=')) return { type: 'registry', ref: entry };
  const attrs = parseCsvAttrs('--cache-from', entry);
  const text = redactedEntry(entry);
  const allowed: Record<string, string[]> = { registry: ['ref', 'registry.insecure'], local: ['src'], gha: GHA_ATTRS, s3: S3_ATTRS, azblob: AZBLOB_ATTRS };
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
    case 'gha': return { type: 'gha', ...ghaSpec(attrs, '--cache-from', text, env) };
    case 's3': return { type: 's3', ...s3Spec(attrs, '--cache-from', text, env) };
    case 'azblob': return { type: 'azblob', ...azblobSpec(attrs, '--cache-from', text, env) };
    default:
      throw new UserError('INVALID_ARGUMENT', `unknown cache type ${JSON.stringify(attrs.type ?? '')} in --cache-from ${text}`, 'use type=registry, local, gha, s3 or azblob (an inline cache is read with type=registry,ref=IMAGE)');
  }
}

/** How messages name a cache: its reference, its directory, or its store's name (`gha:SCOPE`, `s3://…`, `azblob://…`; never a credential). */
export function cacheName(spec: Exclude<CacheToSpec, { type: 'inline' }> | CacheFromSpec): string {
  switch (spec.type) {
    case 'registry': return spec.ref;
    case 'gha': return ghaCacheName(spec.scope);
    case 's3': return s3CacheName(spec.location);
    case 'azblob': return azblobCacheName(spec.location);
    default: return 'dest' in spec ? spec.dest : spec.src;
  }
}
