import { parseAnnotations, type Annotations } from './annotations.js';
import { csvUsageError } from './csv-attrs.js';
import { parseExportEntry, type ExportEntry } from './export-entry.js';
import { UserError } from '../../common/index.js';
import { parseReference } from '../../registry/index.js';

/** How an image output's layers are compressed (buildx `compression=`). */
export type Compression = 'gzip' | 'zstd' | 'uncompressed';

/** The image attributes buildx's image, registry, oci and docker exporters share. */
export interface ImageExportAttrs {
  /** `compression=`: layers made by this build use it; gzip (the store's format) when absent. */
  compression?: Compression;
  /** `compression-level=`: the compressor's level (gzip 0-9, zstd 0-22). */
  compressionLevel?: number;
  /** `force-compression=true`: layers that came from the base image are recompressed too. */
  forceCompression?: boolean;
  /** `oci-mediatypes=false`: docker's manifest, config and layer media types (default true, as buildx). */
  ociMediatypes?: boolean;
  /** `annotation.*`, `annotation-manifest.*`, `annotation-index.*`, `annotation-*-descriptor.*`. */
  annotations?: Annotations;
  /** `rewrite-timestamp=true`: the layers' file times clamped to the epoch; without one they are left as they are. */
  rewriteTimestamp?: boolean;
  /**
   * `source-date-epoch=`: this output's epoch (seconds) instead of the build's SOURCE_DATE_EPOCH, null for none at
   * all (an empty value), as BuildKit's exporters read it (exporter/util/epoch ParseExporterAttrs).
   */
  sourceDateEpoch?: number | null;
  /**
   * `oci-artifact=`: the form of the attestation manifests, as BuildKit's commitAttestationsManifest (exporter/
   * containerimage/writer.go) writes them: true, an OCI artifact (artifactType, the empty config) naming the image as
   * its `subject`; false (also what BUILDX_NO_DEFAULT_OCI_ARTIFACT=true sets), an image config and no subject, for
   * registries and tools that refuse one. Unset: an image config and the subject, so that registries with the
   * referrers API list the attestations either way (tsbuild's default).
   */
  ociArtifact?: boolean;
}

/** One `-o/--output` as buildx understands it. */
export type OutputSpec =
  | ({
    type: 'image'; names: string[]; push: boolean;
    /** `registry.insecure=true`: the registry client may use plain HTTP / unverified TLS for these names. */
    registryInsecure?: boolean;
    /** `push-by-digest=true`: push the manifest without a tag (implemented by the push code). */
    pushByDigest?: boolean;
    /** `name-canonical=true`: also name the image NAME@DIGEST (implemented by the push code). */
    nameCanonical?: boolean;
  } & ImageExportAttrs)
  | ({ type: 'oci'; dest: string; tar: boolean; names: string[] } & ImageExportAttrs)
  | ({ type: 'docker'; dest: string; names: string[] } & ImageExportAttrs)
  | {
    type: 'local'; dest: string;
    /**
     * `platform-split`: one directory per platform (`dest/linux_arm64`). Unset: split when several platforms were
     * built, as BuildKit's local exporter (CreateFSOpts.UsePlatformSplit); false merges them into dest.
     */
    platformSplit?: boolean;
    /**
     * `mode=`: 'copy' (the default) writes the result over what dest holds; 'delete' then removes every entry of
     * dest the result does not have (BuildKit's local exporter mode, client/exporters.go ParseLocalExporterMode).
     * Absent: copy.
     */
    mode?: LocalExportMode;
    /** `attestation-prefix=`: put before the name of each attestation file written beside the files. */
    attestationPrefix?: string;
  }
  | {
    type: 'tar'; dest: string;
    /** `platform-split=false`: the attestation files of each platform's directory carry the platform in their names. */
    platformSplit?: boolean;
    attestationPrefix?: string;
  }
  | { type: 'cacheonly' };

/** How `-o type=local` treats what dest already holds (`mode=`). */
export type LocalExportMode = 'copy' | 'delete';

/**
 * `mode=` of a local output as BuildKit's ParseLocalExporterMode (client/exporters.go) reads it: trimmed, any case;
 * absent or empty is copy.
 */
export function parseLocalExportMode(value: string | undefined): LocalExportMode {
  const mode = (value ?? '').trim().toLowerCase();
  if (mode === '' || mode === 'copy') return 'copy';
  if (mode === 'delete') return 'delete';
  throw new UserError('INVALID_ARGUMENT', `invalid local exporter mode ${JSON.stringify(value)}`, 'use mode=copy (the default) or mode=delete');
}

/** Reads a boolean attribute as Go's strconv.ParseBool does. */
export function parseBool(value: string | undefined, fallback: boolean, flag: string): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(true|1|t)$/i.test(value)) return true;
  if (/^(false|0|f)$/i.test(value)) return false;
  throw new UserError('INVALID_ARGUMENT', `invalid boolean for ${flag}: ${JSON.stringify(value)}`, 'use true or false');
}

/**
 * Attributes buildx documents that tsbuild does not implement, with why: each is refused by name rather than
 * dropped, so a CI script never silently gets something else than it asked for.
 */
const UNSUPPORTED: Record<string, string> = {
  'dangling-name-prefix': 'tsbuild keeps no local image store, so there are no dangling images to name',
  unpack: 'tsbuild keeps no local image store to unpack into; use -o type=local,dest=DIR for the files',
  'buildinfo': 'build info is deprecated in buildx and not written by tsbuild',
  'buildinfo-attrs': 'build info is deprecated in buildx and not written by tsbuild',
  context: 'tsbuild does not talk to a docker daemon; load the archive with `docker load -i FILE` (or use --load)',
};

/** The attributes each output type accepts (besides `type`). */
const IMAGE_ATTRS = ['name', 'compression', 'compression-level', 'force-compression', 'oci-mediatypes', 'oci-artifact', 'rewrite-timestamp', 'source-date-epoch', 'store'];
const ACCEPTED: Record<string, string[]> = {
  image: [...IMAGE_ATTRS, 'push', 'push-by-digest', 'name-canonical', 'registry.insecure', 'insecure'],
  registry: [...IMAGE_ATTRS, 'push', 'push-by-digest', 'name-canonical', 'registry.insecure', 'insecure'],
  oci: [...IMAGE_ATTRS, 'dest', 'tar'],
  docker: [...IMAGE_ATTRS, 'dest', 'tar'],
  local: ['dest', 'platform-split', 'mode', 'attestation-prefix'],
  tar: ['dest', 'platform-split', 'attestation-prefix'],
  cacheonly: [],
};

function checkAttrs(type: string, attrs: Record<string, string>, text: string): void {
  const accepted = ACCEPTED[type] ?? [];
  for (const key of Object.keys(attrs)) {
    if (key === 'type' || accepted.includes(key)) continue;
    if (key.startsWith('annotation') && ['image', 'registry', 'oci', 'docker'].includes(type)) continue;
    const why = UNSUPPORTED[key];
    throw new UserError('INVALID_ARGUMENT', `-o ${text}: attribute ${JSON.stringify(key)} is not supported${why ? `: ${why}` : ` for type=${type}`}`,
      `remove ${key}=… (type=${type} accepts ${accepted.join(', ') || 'no attributes'}${['image', 'registry', 'oci', 'docker'].includes(type) ? ', annotation.*' : ''})`);
  }
}

function compressionOf(attrs: Record<string, string>, text: string, env: NodeJS.ProcessEnv): ImageExportAttrs {
  const out: ImageExportAttrs = {};
  // buildx sets oci-artifact=false on every image and oci output that does not set it when BUILDX_NO_DEFAULT_OCI_ARTIFACT
  // is true (build/opt.go toSolveOpt).
  if (attrs['oci-artifact'] !== undefined) out.ociArtifact = parseBool(attrs['oci-artifact'], false, 'oci-artifact');
  else if (attrs.type !== 'docker' && parseBool(env.BUILDX_NO_DEFAULT_OCI_ARTIFACT, false, 'BUILDX_NO_DEFAULT_OCI_ARTIFACT')) out.ociArtifact = false;
  const c = attrs.compression;
  if (c !== undefined && c !== '') {
    if (c === 'estargz') {
      throw new UserError('INVALID_ARGUMENT', `-o ${text}: compression=estargz is not supported`, 'use compression=gzip, zstd or uncompressed');
    }
    if (c !== 'gzip' && c !== 'zstd' && c !== 'uncompressed') {
      throw new UserError('INVALID_ARGUMENT', `-o ${text}: unknown compression ${JSON.stringify(c)}`, 'use compression=gzip, zstd or uncompressed');
    }
    out.compression = c;
  }
  const level = attrs['compression-level'];
  if (level !== undefined && level !== '') {
    const n = Number(level);
    const max = out.compression === 'zstd' ? 22 : 9;
    if (!Number.isInteger(n) || n < 0 || n > max) {
      throw new UserError('INVALID_ARGUMENT', `-o ${text}: invalid compression-level ${JSON.stringify(level)}`, `use an integer from 0 to ${max} for ${out.compression ?? 'gzip'}`);
    }
    out.compressionLevel = n;
  }
  if (attrs['force-compression'] !== undefined) out.forceCompression = parseBool(attrs['force-compression'], false, 'force-compression');
  if (attrs['oci-mediatypes'] !== undefined) out.ociMediatypes = parseBool(attrs['oci-mediatypes'], true, 'oci-mediatypes');
  if (out.compression === 'zstd' && out.ociMediatypes === false) {
    // Docker's media types have no zstd layer type; buildx switches to OCI types in this case, we say so instead.
    throw new UserError('INVALID_ARGUMENT', `-o ${text}: compression=zstd needs OCI media types`, 'drop oci-mediatypes=false (docker media types have no zstd layer)');
  }
  if (out.ociArtifact === true && out.ociMediatypes === false) {
    // BuildKit exporter/containerimage/opts.go (ImageCommitOpts.Load): an artifact manifest is an OCI type.
    throw new UserError('INVALID_ARGUMENT', `-o ${text}: exporter option "oci-artifact=true" conflicts with "oci-mediatypes=false"`, 'drop one of them');
  }
  if (attrs['rewrite-timestamp'] !== undefined) out.rewriteTimestamp = parseBool(attrs['rewrite-timestamp'], false, 'rewrite-timestamp');
  const epoch = attrs['source-date-epoch'];
  if (epoch !== undefined) {
    // Go's strconv.ParseInt(v, 10, 64), and BuildKit's words when it fails.
    if (epoch !== '' && !/^[+-]?\d+$/.test(epoch)) throw new UserError('INVALID_ARGUMENT', `-o ${text}: invalid source-date-epoch: strconv.ParseInt: parsing ${JSON.stringify(epoch)}: invalid syntax`, 'give seconds since 1970-01-01 UTC, or nothing for no epoch');
    out.sourceDateEpoch = epoch === '' ? null : Number(epoch);
  }
  // `store=false` asks the image exporter not to keep the image in the daemon's store: tsbuild has none; both accepted.
  if (attrs.store !== undefined) parseBool(attrs.store, true, 'store');
  const annotations = parseAnnotations(attrs, text);
  if (annotations) out.annotations = annotations;
  return out;
}

/** `-o TEXT` as buildx's ExportEntry reads it (export-entry.ts), a malformed value being -o's usage error. */
function exportEntryOf(text: string): ExportEntry {
  try {
    return parseExportEntry(text);
  } catch (err) {
    throw csvUsageError('-o', text, err, 'write -o type=TYPE[,key=value…] (a field holding a comma or a quote quoted whole: "name=a,b"), or -o DIR for a directory');
  }
}

/**
 * Parses one `-o` value. Like buildx: `-o DIR` alone means `type=local,dest=DIR`, `-o -` a tar on stdout;
 * `type=registry` is `type=image,push=true`; a tar file output without `dest=` goes to stdout, as buildx's
 * CreateExports (build/opt.go) sends it. `tags` are the `-t` names, used when the output names none.
 * Every attribute buildx documents is either read here or refused by name.
 */
export function parseOutput(text: string, tags: string[], env: NodeJS.ProcessEnv = process.env): OutputSpec {
  const attrs = exportEntryOf(text);
  const type = attrs.type ?? '';
  if (type === '') {
    throw new UserError('INVALID_ARGUMENT', `-o ${JSON.stringify(text)}: type= is missing`,
      'write -o type=local,dest=DIR (or just -o DIR), -o type=registry, -o type=oci,dest=FILE …');
  }
  if (!(type in ACCEPTED)) {
    throw new UserError('INVALID_ARGUMENT', `unknown output type ${JSON.stringify(type)} in -o ${text}`,
      'use one of type=image, registry, oci, docker, local, tar, cacheonly');
  }
  checkAttrs(type, attrs, text);
  const names = attrs.name ? attrs.name.split(/[,\s]+/).filter(Boolean) : tags;
  // CreateExports: an exporter that writes a directory needs a dest= other than stdout; one that writes a tar file
  // writes it to stdout without one.
  const dir = (kind: string): string => {
    const dest = attrs.dest ?? '';
    if (dest === '') throw new UserError('INVALID_ARGUMENT', `-o ${text}: dest is required for ${kind} exporter`, `e.g. -o type=${kind}${kind === 'oci' ? ',tar=false' : ''},dest=out`);
    if (dest === '-') throw new UserError('INVALID_ARGUMENT', `-o ${text}: dest cannot be stdout for ${kind} exporter`, 'name a directory, or write a tar to stdout with -o type=tar,dest=-');
    return dest;
  };
  const file = (): string => attrs.dest || '-';
  // BuildKit's tar exporter reads platform-split (it must be a boolean) but always splits several platforms: there it
  // only names the attestation files.
  const platformSplit = attrs['platform-split'] === undefined ? undefined : parseBool(attrs['platform-split'], false, 'platform-split');
  // Put before a file name in the user's directory: a prefix that would make it a path is refused.
  const prefix = attrs['attestation-prefix'];
  if (prefix !== undefined && (prefix.includes('/') || prefix.includes('\0') || prefix === '.' || prefix === '..')) {
    throw new UserError('INVALID_ARGUMENT', `-o ${text}: attestation-prefix ${JSON.stringify(prefix)} would not give a file name`, 'write a prefix without a slash, e.g. attestation-prefix=app-');
  }
  const attestationPrefix = prefix !== undefined && prefix !== '' ? { attestationPrefix: prefix } : {};
  switch (type) {
    case 'image':
    case 'registry': {
      const insecure = attrs['registry.insecure'] ?? attrs.insecure;
      return {
        type: 'image', names, push: type === 'registry' ? parseBool(attrs.push, true, 'push') : parseBool(attrs.push, false, 'push'),
        ...(insecure !== undefined ? { registryInsecure: parseBool(insecure, false, 'registry.insecure') } : {}),
        ...(attrs['push-by-digest'] !== undefined ? { pushByDigest: parseBool(attrs['push-by-digest'], false, 'push-by-digest') } : {}),
        ...(attrs['name-canonical'] !== undefined ? { nameCanonical: parseBool(attrs['name-canonical'], false, 'name-canonical') } : {}),
        ...compressionOf(attrs, text, env),
      };
    }
    case 'oci': {
      const tar = parseBool(attrs.tar, true, 'tar');
      return { type: 'oci', dest: tar ? file() : dir('oci'), tar, names, ...compressionOf(attrs, text, env) };
    }
    case 'docker':
      if (!parseBool(attrs.tar, true, 'tar')) {
        throw new UserError('INVALID_ARGUMENT', `-o ${text}: tar=false is not supported for type=docker`, 'use -o type=oci,tar=false,dest=DIR for a layout directory');
      }
      return { type: 'docker', dest: file(), names, ...compressionOf(attrs, text, env) };
    case 'local': return { type: 'local', dest: dir('local'), ...(platformSplit !== undefined ? { platformSplit } : {}),
      ...(parseLocalExportMode(attrs.mode) === 'delete' ? { mode: 'delete' as const } : {}), ...attestationPrefix };
    case 'tar': return { type: 'tar', dest: file(), ...(platformSplit !== undefined ? { platformSplit } : {}), ...attestationPrefix };
    default: return { type: 'cacheonly' };
  }
}

/**
 * `-o type=docker` without `dest=`: buildx's `--load` (its docker exporter writes into the daemon), with the names its
 * `name=` gives (none: the `-t` names). Undefined for any other output.
 */
export function loadOutputOf(text: string): { names: string[] } | undefined {
  const attrs = exportEntryOf(text);
  if (attrs.type !== 'docker' || attrs.dest) return undefined;
  checkAttrs('docker', attrs, text);
  return { names: attrs.name ? attrs.name.split(/[,\s]+/).filter(Boolean) : [] };
}

/**
 * The registry hosts that `registry.insecure=true` on an image output or a registry cache names: the registry client
 * treats them as `--insecure-registry` hosts (unverified TLS, or plain HTTP when they speak no TLS), as BuildKit does.
 */
export function registryInsecureHosts(outputs: OutputSpec[], caches: { type: string; ref?: string; registryInsecure?: boolean }[]): string[] {
  const refs = [
    ...outputs.flatMap((o) => (o.type === 'image' && o.registryInsecure ? o.names : [])),
    ...caches.flatMap((c) => (c.registryInsecure && c.ref !== undefined ? [c.ref] : [])),
  ];
  return [...new Set(refs.map((r) => parseReference(r).registry))];
}
