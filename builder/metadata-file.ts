import { basename } from 'node:path';
import { goJson, parseGoBool, replaceFile } from '../common/index.js';
import { ruleDescription, ruleUrl, type CheckWarning } from '../frontend/index.js';
import type { Descriptor } from '../registry/index.js';
import type { BuildOutcome } from './build.js';
import type { OutputSpec } from './options/output.js';
import { toSlsa02, type PredicateV1 } from './attest/slsa02.js';

// `--metadata-file` as buildx writes it (docker/buildx commands/build.go decodeExporterResponse, build/provenance.go):
// the exporters' response (BuildKit exporter/containerimage, exporter/oci: `containerimage.*` and `image.name`, only
// for an image, oci or docker export; the local and tar exporters answer nothing), `buildx.build.ref`, the build
// record's provenance (`buildx.build.provenance`, BUILDX_METADATA_PROVENANCE) and, when BUILDX_METADATA_WARNINGS is
// true, the build's warnings (`buildx.build.warnings`). Go writes the map with its keys sorted; so do we. tsbuild adds
// `tsbuild.cache` and `tsbuild.transfer`.

/** `BUILDX_METADATA_PROVENANCE`: the record's provenance without buildConfig and metadata (`min`), whole, or none. */
export type MetadataProvenanceMode = 'min' | 'max' | 'disabled';

/** What the metadata file holds beyond the exporters' keys, from buildx's environment variables. */
export interface MetadataRequest { provenance: MetadataProvenanceMode; warnings: boolean }

/** buildx's util/confutil/metadata.go: provenance `min` unless `max` or disabled (`disabled` or a false boolean); warnings off unless true. */
export function metadataRequestFromEnv(env: NodeJS.ProcessEnv): MetadataRequest {
  const p = env.BUILDX_METADATA_PROVENANCE ?? '';
  const provenance: MetadataProvenanceMode = p === 'max' || p === 'disabled' ? p : parseGoBool(p) === false ? 'disabled' : 'min';
  return { provenance, warnings: parseGoBool(env.BUILDX_METADATA_WARNINGS) === true };
}

/**
 * One warning as buildx writes it: BuildKit's client.VertexWarning marshalled by Go, so the byte fields (`short`,
 * `detail`, `sourceInfo.data`) are base64 and empty fields are left out. A build check warns as BuildKit's
 * Dockerfile frontend does: level 1, `Rule: message (line N)`, the rule's description as the detail, its docs URL,
 * the Dockerfile as the source. No `vertex`: tsbuild has no LLB digest to name.
 */
export interface BuildxWarning {
  level: number;
  short: string;
  detail: string[];
  url?: string;
  sourceInfo: { filename: string; data: string; language: string };
  range: { start: { line: number }; end: { line: number } }[];
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** The build check warnings in buildx's shape; `dockerfile` is the file they were found in (BuildKit names it by its base name). */
export function buildxWarnings(warnings: CheckWarning[], dockerfile: { path: string; text: string }): BuildxWarning[] {
  const sourceInfo = { filename: basename(dockerfile.path), data: b64(dockerfile.text), language: 'Dockerfile' };
  return warnings.map((w) => {
    const url = ruleUrl(w.rule);
    const description = ruleDescription(w.rule);
    return {
      level: 1,
      short: b64(`${w.rule}: ${w.message}${w.line > 0 ? ` (line ${w.line})` : ''}`),
      detail: description ? [b64(description)] : [],
      ...(url ? { url } : {}),
      sourceInfo,
      range: [{ start: { line: w.line }, end: { line: w.endLine } }],
    };
  });
}

/** What the build kept for the metadata file, when one was asked for (BuildOutcome.metadata). */
export interface MetadataExtras {
  /** The build record's provenance predicate (SLSA v1, max, as BuildKit's history record) per platform, `os/arch[/variant]`. */
  provenance: { platform: string; predicate: PredicateV1 }[];
  warnings: BuildxWarning[];
}

/** What the metadata is written from, besides the build's outcome. */
export interface MetadataContext {
  /** The names `-t` gave, reported as `image.name` when the outputs named none. */
  names: string[];
  outputs: OutputSpec[];
  request: MetadataRequest;
  /** `BUILDER/NODE` of `buildx.build.ref` (builders' buildRefPrefix). */
  refPrefix: string;
}

/**
 * The exporters' keys. An image output reports the image as written, its config digest for a single image (not an
 * index) and the names; BuildKit's oci and docker exporters also stamp the descriptor with its creation time. The
 * image tsbuild keeps in its store when no output is asked for is reported as an image export (docker's driver
 * loads it). local, tar and cacheonly outputs give no image keys.
 */
function exporterKeys(outcome: BuildOutcome, ctx: MetadataContext): Record<string, unknown> {
  if (!outcome.written && ctx.outputs.length > 0) return {};
  const desc: Descriptor = outcome.written?.descriptor ?? (outcome.index ? outcome.index.indexDescriptor : outcome.image.manifestDescriptor);
  // A map in the descriptor BuildKit marshals: Go writes its keys sorted. An oci/docker export's descriptor carries the
  // annotations of its index.json entry (its creation time among them: layoutDescriptorAnnotations).
  const annotations = sortedKeys({ ...desc.annotations });
  const configDigest = outcome.written ? outcome.written.configDigest : outcome.index ? undefined : outcome.image.configDescriptor.digest;
  const shown = outcome.imageNames.length ? outcome.imageNames : ctx.names;
  return {
    'containerimage.digest': outcome.digest,
    ...(configDigest ? { 'containerimage.config.digest': configDigest } : {}),
    'containerimage.descriptor': {
      mediaType: desc.mediaType, digest: desc.digest, size: desc.size, ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    ...(shown.length ? { 'image.name': shown.join(',') } : {}),
  };
}

/** The record's provenance as buildx gives it: one key, or one per platform for a multi-platform build. */
function provenanceKeys(extras: MetadataExtras | undefined, mode: MetadataProvenanceMode): Record<string, unknown> {
  if (mode === 'disabled' || !extras) return {};
  const out: Record<string, unknown> = {};
  const several = extras.provenance.length > 1;
  for (const { platform, predicate } of extras.provenance) {
    // buildx's encodeProvenance: a v1 record's predicate is written as v0.2 (ConvertToSLSA02), and `min` resets its
    // buildConfig and metadata.
    const v02 = toSlsa02(predicate);
    const { buildConfig: _config, metadata: _metadata, ...min } = v02;
    out[several ? `buildx.build.provenance/${platform}` : 'buildx.build.provenance'] = mode === 'max' ? v02 : min;
  }
  return out;
}

/** The metadata file's object, keys sorted as Go writes a map. */
export function buildxMetadata(outcome: BuildOutcome, ctx: MetadataContext): Record<string, unknown> {
  const cached = outcome.records.filter((r) => r.cached).length;
  const remote = outcome.records.filter((r) => r.cacheSource === 'remote').length;
  const warnings = ctx.request.warnings ? outcome.metadata?.warnings ?? [] : [];
  const all: Record<string, unknown> = {
    // BUILDER/NODE/ID, as buildx writes it: docker/actions-toolkit splits it in three to export the build record.
    'buildx.build.ref': `${ctx.refPrefix}/${outcome.buildId}`,
    ...provenanceKeys(outcome.metadata, ctx.request.provenance),
    ...(warnings.length ? { 'buildx.build.warnings': warnings } : {}),
    ...exporterKeys(outcome, ctx),
    'tsbuild.cache': { steps: outcome.records.length, cached, missed: outcome.records.length - cached, remote },
    'tsbuild.transfer': outcome.metrics,
  };
  return sortedKeys(all);
}

/** `object` with its keys sorted, as Go writes a map. */
function sortedKeys(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(object).sort().map((k) => [k, object[k]]));
}

/** Writes `--metadata-file` (see the top of this file). */
export async function writeMetadata(file: string, outcome: BuildOutcome, ctx: MetadataContext): Promise<void> {
  await writeMetadataObject(file, buildxMetadata(outcome, ctx));
}

/**
 * Writes a metadata file's object, keys sorted: one build's, a `--call`'s answer, or bake's (one entry per target).
 * The bytes are buildx's writeMetadataFile's (commands/build.go, used by bake too): json.MarshalIndent(dt, "", "  "),
 * so Go's escapes of `<`, `>`, `&`, U+2028 and U+2029 and no final newline, written as moby's atomicwriter writes it
 * (common/replace-file.ts: a reader never sees half a file; a symbolic link there is refused, not followed).
 */
export async function writeMetadataObject(file: string, object: Record<string, unknown>): Promise<void> {
  await replaceFile(file, goJson(sortedKeys(object)), 0o644);
}
