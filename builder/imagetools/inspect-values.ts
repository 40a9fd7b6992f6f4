import { GoMap, GoNil, GoStruct, GoTime, type GoField, type GoValue } from './go-value.js';

/**
 * buildx's Go types (image-spec v1 and its own stubs) built from registry JSON as encoding/json decodes into them:
 * keys matched exactly, else case-insensitively; unknown keys dropped; fields in declaration order, so
 * `{{json .Image}}` prints what buildx prints (a Docker config's Healthcheck, OnBuild or Shell are not in
 * ocispecs.ImageConfig and vanish, as there). Go names are the image-spec's: `.Image.RootFS.DiffIDs` is `diff_ids`,
 * `.Image.OS` `os`, `.Manifest.Manifests` `manifests`, `.Image.Config.ExposedPorts` `ExposedPorts`.
 */
type Json = Record<string, unknown>;

export const asObject = (v: unknown): Json | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Json : undefined);

function get(o: Json, key: string): unknown {
  if (key in o) return o[key];
  const lower = key.toLowerCase();
  const found = Object.keys(o).find((k) => k.toLowerCase() === lower);
  return found === undefined ? undefined : o[found];
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const int = (v: unknown): bigint => (typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : 0n);
const strSlice = (v: unknown): GoValue => (Array.isArray(v) ? v.map(str) : new GoNil('slice'));
function strMap(v: unknown): GoValue {
  const o = asObject(v);
  return o ? new GoMap(new Map(Object.entries(o).map(([k, x]) => [k, str(x)])), '') : new GoNil('map');
}
/** map[string]struct{} (ExposedPorts, Volumes): each value prints `{}`. */
function setMap(v: unknown): GoValue {
  const o = asObject(v);
  const empty = new GoStruct('struct {}', []);
  return o ? new GoMap(new Map(Object.keys(o).map((k) => [k, empty])), empty) : new GoNil('map');
}
function timePtr(v: unknown): GoValue {
  if (typeof v !== 'string') return new GoNil('pointer', '*time.Time');
  try {
    return new GoTime(v);
  } catch {
    return new GoNil('pointer', '*time.Time');   // Go would refuse the whole config; an odd date is not worth failing inspect for
  }
}

const field = (name: string, json: string, value: GoField['value'], omitEmpty = false): GoField => ({ name, json, value, omitEmpty });

function platformFields(o: Json): GoField[] {
  return [
    field('Architecture', 'architecture', str(get(o, 'architecture'))),
    field('OS', 'os', str(get(o, 'os'))),
    field('OSVersion', 'os.version', str(get(o, 'os.version')), true),
    field('OSFeatures', 'os.features', strSlice(get(o, 'os.features')), true),
    field('Variant', 'variant', str(get(o, 'variant')), true),
  ];
}

/** ocispecs.Descriptor. */
export function descriptorValue(o: Json): GoStruct {
  const platform = asObject(get(o, 'platform'));
  return new GoStruct('v1.Descriptor', [
    field('MediaType', 'mediaType', str(get(o, 'mediaType'))),
    field('Digest', 'digest', str(get(o, 'digest'))),
    field('Size', 'size', int(get(o, 'size'))),
    field('URLs', 'urls', strSlice(get(o, 'urls')), true),
    field('Annotations', 'annotations', strMap(get(o, 'annotations')), true),
    field('Data', 'data', str(get(o, 'data')), true),
    field('Platform', 'platform', platform ? new GoStruct('v1.Platform', platformFields(platform)) : new GoNil('pointer', '*v1.Platform'), true),
    field('ArtifactType', 'artifactType', str(get(o, 'artifactType')), true),
  ]);
}

/**
 * ocispecs.Index (image-spec v1.1 field order), the struct buildx's imagetools create marshals the index it pushes
 * with (util/imagetools/create.go Combine: json.MarshalIndent(ocispecs.Index{…}, "", "  ")).
 */
export function ociIndexValue(o: Json): GoStruct {
  const manifests = get(o, 'manifests');
  const subject = asObject(get(o, 'subject'));
  return new GoStruct('v1.Index', [
    field('SchemaVersion', 'schemaVersion', int(get(o, 'schemaVersion'))),
    field('MediaType', 'mediaType', str(get(o, 'mediaType')), true),
    field('ArtifactType', 'artifactType', str(get(o, 'artifactType')), true),
    field('Manifests', 'manifests', Array.isArray(manifests) ? manifests.map((m) => descriptorValue(asObject(m) ?? {})) : new GoNil('slice')),
    field('Subject', 'subject', subject ? descriptorValue(subject) : new GoNil('pointer', '*v1.Descriptor'), true),
    field('Annotations', 'annotations', strMap(get(o, 'annotations')), true),
  ]);
}

/** The anonymous struct buildx's `.Manifest` is for an index: the index with the root descriptor's digest and size. */
export function indexManifestValue(index: Json, digest: string, size: number): GoStruct {
  const manifests = get(index, 'manifests');
  return new GoStruct('struct { SchemaVersion int; MediaType string; Digest digest.Digest; Size int64; Manifests []v1.Descriptor; Annotations map[string]string }', [
    field('SchemaVersion', 'schemaVersion', int(get(index, 'schemaVersion'))),
    field('MediaType', 'mediaType', str(get(index, 'mediaType')), true),
    field('Digest', 'digest', digest),
    field('Size', 'size', BigInt(size)),
    field('Manifests', 'manifests', Array.isArray(manifests) ? manifests.map((m) => descriptorValue(asObject(m) ?? {})) : new GoNil('slice')),
    field('Annotations', 'annotations', strMap(get(index, 'annotations')), true),
  ]);
}

/** ocispecs.Image: the config, with the embedded Platform's fields promoted. */
export function imageValue(o: Json): GoStruct {
  const config = asObject(get(o, 'config')) ?? {};
  const rootfs = asObject(get(o, 'rootfs')) ?? {};
  const history = get(o, 'history');
  const historyEntry = (h: Json): GoStruct => new GoStruct('v1.History', [
    field('Created', 'created', timePtr(get(h, 'created')), true),
    field('CreatedBy', 'created_by', str(get(h, 'created_by')), true),
    field('Author', 'author', str(get(h, 'author')), true),
    field('Comment', 'comment', str(get(h, 'comment')), true),
    field('EmptyLayer', 'empty_layer', get(h, 'empty_layer') === true, true),
  ]);
  return new GoStruct('v1.Image', [
    field('Created', 'created', timePtr(get(o, 'created')), true),
    field('Author', 'author', str(get(o, 'author')), true),
    ...platformFields(o),
    field('Config', 'config', new GoStruct('v1.ImageConfig', [
      field('User', 'User', str(get(config, 'User')), true),
      field('ExposedPorts', 'ExposedPorts', setMap(get(config, 'ExposedPorts')), true),
      field('Env', 'Env', strSlice(get(config, 'Env')), true),
      field('Entrypoint', 'Entrypoint', strSlice(get(config, 'Entrypoint')), true),
      field('Cmd', 'Cmd', strSlice(get(config, 'Cmd')), true),
      field('Volumes', 'Volumes', setMap(get(config, 'Volumes')), true),
      field('WorkingDir', 'WorkingDir', str(get(config, 'WorkingDir')), true),
      field('Labels', 'Labels', strMap(get(config, 'Labels')), true),
      field('StopSignal', 'StopSignal', str(get(config, 'StopSignal')), true),
      field('ArgsEscaped', 'ArgsEscaped', get(config, 'ArgsEscaped') === true, true),
    ])),
    field('RootFS', 'rootfs', new GoStruct('v1.RootFS', [
      field('Type', 'type', str(get(rootfs, 'type'))),
      field('DiffIDs', 'diff_ids', strSlice(get(rootfs, 'diff_ids'))),
    ])),
    field('History', 'history', Array.isArray(history) ? history.map((h) => historyEntry(asObject(h) ?? {})) : new GoNil('slice'), true),
  ]);
}

/** buildx's provenanceStub: `{SLSA}`, empty when the image has no provenance. */
export function provenanceStub(slsa: GoValue): GoStruct {
  return new GoStruct('imagetools.provenanceStub', [field('SLSA', 'SLSA', slsa, true)]);
}

/** buildx's sbomStub: the first SPDX document and any further ones. */
export function sbomStub(spdx: GoValue[]): GoStruct {
  return new GoStruct('imagetools.sbomStub', [
    field('SPDX', 'SPDX', spdx[0] ?? null, true),
    field('AdditionalSPDXs', 'AdditionalSPDXs', spdx.length > 1 ? spdx.slice(1) : new GoNil('slice'), true),
  ]);
}
