import { gzipSync } from 'node:zlib';
import { goJson, goJsonCompact } from '../../common/index.js';
import { MediaType, sha256, type Descriptor } from '../../registry/oci/index.js';
import type { BuildRecord } from '../../solver/index.js';
import { encodeTarHeader, TAR_END, tarPadding } from '../../worker/index.js';
import { LAYOUT_FILE, layoutBlobPath } from '../content/index.js';
import type { LocalState } from '../local-state.js';
import { frontendAttrsOf, inspectOutput } from './inspect.js';
import { protoTimestamp, STATUS_MEDIA_TYPE } from './status-stream.js';

// `tsbuild history export` as buildx writes a Docker Desktop build bundle (util/desktop/bundle/export.go): an OCI
// image layout, tarred as containerd's archive exporter tars one (entries sorted by name, no docker manifest.json)
// and gzipped. Each build is an image manifest whose config is the build's history record as JSON (BuildKit's
// control.BuildHistoryRecord with buildx's DefaultPlatform and local state beside its fields) and whose layers are the
// blobs the record names: here the status stream of its progress (status-stream.ts). One build: index.json names its
// manifest; several: an image index of them, each annotated with its ref. What tsbuild does not keep is left out as
// omitempty leaves it out: the OpenTelemetry trace, the exporters and the result descriptors.

/** What one build contributes to a bundle. */
export interface BundleRecord {
  /** The record as stored (redacted). */
  record: BuildRecord;
  /** Its progress as a status stream (statusStreamOf). */
  status: Buffer;
  /** buildx's DefaultPlatform: the builder node's first platform, `os/arch[/variant]`. */
  defaultPlatform: string;
  /** The build's local state as buildx saved it (local-state.ts), when there is one. */
  localState?: LocalState;
  /** The build's report as JSON (renderJson), the bundle's REPORT_MEDIA_TYPE layer. */
  report?: Buffer;
}

export const HISTORY_RECORD_MEDIA_TYPE = 'application/vnd.buildkit.historyrecord.v0';

/**
 * The layer tsbuild adds to each build's manifest beside buildx's: the build's report, `--report FILE.json`'s
 * document, which `explain --against` and `report` read back from the bundle (read-bundle.ts). Docker Desktop reads a
 * record's blobs by the descriptors its config names, so a layer it does not know is left alone.
 */
export const REPORT_MEDIA_TYPE = 'application/vnd.tsbuild.report.v1+json';

/** A blob of the bundle and its descriptor. */
interface Blob { desc: Descriptor; bytes: Buffer }

/** json.MarshalIndent(…, "", "  ") of `value` as a blob of `mediaType` (bundle.writeJSON). */
function jsonBlob(mediaType: string, value: unknown): Blob {
  const bytes = Buffer.from(goJson(value));
  return { desc: { mediaType, digest: sha256(bytes), size: bytes.length }, bytes };
}

/** A map[string]string as encoding/json writes it: keys sorted. */
function sortedMap(entries: Iterable<[string, string]>): Record<string, string> {
  return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The history record of `r` in the order Go writes bundle.Record: the embedded BuildHistoryRecord's fields (their
 * json names from control.pb.go, omitempty), then DefaultPlatform and localState.
 */
export function historyRecordJson(r: BundleRecord, status: Descriptor): Record<string, unknown> {
  const { record } = r;
  const out = inspectOutput(record, '/');   // the counts and the error as `history inspect` reports them
  const attrs = frontendAttrsOf(record);
  const response: [string, string][] = [];
  if (record.resultDigest !== undefined) response.push(['containerimage.digest', record.resultDigest]);
  if (record.tags.length > 0) response.push(['image.name', record.tags.join(',')]);
  return {
    Ref: record.id,
    Frontend: 'dockerfile.v0',
    ...(attrs.size > 0 ? { FrontendAttrs: sortedMap(attrs) } : {}),
    ...(out.Error !== undefined ? { error: { code: out.Error.Code, ...(out.Error.Message !== '' ? { message: out.Error.Message } : {}) } } : {}),
    CreatedAt: protoTimestamp(record.started),
    CompletedAt: protoTimestamp(record.finished),
    logs: { media_type: status.mediaType, digest: status.digest, size: status.size },
    ...(response.length > 0 ? { ExporterResponse: sortedMap(response) } : {}),
    ...(out.NumCachedSteps !== 0 ? { numCachedSteps: out.NumCachedSteps } : {}),
    ...(out.NumTotalSteps !== 0 ? { numTotalSteps: out.NumTotalSteps } : {}),
    ...(out.NumCompletedSteps !== 0 ? { numCompletedSteps: out.NumCompletedSteps } : {}),
    DefaultPlatform: r.defaultPlatform,
    ...(r.localState !== undefined ? { localState: r.localState } : {}),
  };
}

/** The blobs of one build (status stream, record, manifest) and the manifest's descriptor (bundle.exportRecord). */
function recordBlobs(r: BundleRecord): { blobs: Blob[]; manifest: Descriptor } {
  const status: Blob = { desc: { mediaType: STATUS_MEDIA_TYPE, digest: sha256(r.status), size: r.status.length }, bytes: r.status };
  const config = jsonBlob(HISTORY_RECORD_MEDIA_TYPE, historyRecordJson(r, status.desc));
  const report: Blob | undefined = r.report === undefined ? undefined : { desc: { mediaType: REPORT_MEDIA_TYPE, digest: sha256(r.report), size: r.report.length }, bytes: r.report };
  const layers = report === undefined ? [status.desc] : [status.desc, report.desc];
  const manifest = jsonBlob(MediaType.ociManifest, { schemaVersion: 2, mediaType: MediaType.ociManifest, config: config.desc, layers });
  return { blobs: [status, ...(report ? [report] : []), config, manifest], manifest: manifest.desc };
}

/** The bundle of `records` (at least one), gzipped, as `history export` writes it. */
export function buildBundle(records: BundleRecord[]): Buffer {
  if (records.length === 0) throw new Error('a bundle needs at least one build record');
  const blobs: Blob[] = [];
  const manifests: Descriptor[] = [];
  for (const r of records) {
    const one = recordBlobs(r);
    blobs.push(...one.blobs);
    manifests.push(records.length === 1 ? one.manifest : { ...one.manifest, annotations: { 'vnd.buildkit.history.reference': r.record.id } });
  }
  let top = manifests[0] as Descriptor;
  if (records.length > 1) {
    const index = jsonBlob(MediaType.ociIndex, { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests });
    blobs.push(index);
    top = index.desc;
  }
  const layoutIndex = Buffer.from(goJsonCompact({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [top] }));
  return gzipSync(tarOf([
    ...blobs.map((b) => ({ name: layoutBlobPath(b.desc.digest), mode: 0o444, bytes: b.bytes })),
    { name: 'oci-layout', mode: 0o444, bytes: Buffer.from(LAYOUT_FILE) },
    { name: 'index.json', mode: 0o644, bytes: layoutIndex },
  ]));
}

/** A tar of `files` with their directories, sorted by name as containerd's writeTar sorts its records; each blob once. */
function tarOf(files: { name: string; mode: number; bytes: Buffer }[]): Buffer {
  const entries = new Map<string, { mode: number; bytes?: Buffer }>();
  for (const f of files) {
    const parts = f.name.split('/');
    for (let i = 1; i < parts.length; i++) entries.set(`${parts.slice(0, i).join('/')}/`, { mode: 0o755 });
    entries.set(f.name, { mode: f.mode, bytes: f.bytes });
  }
  const out: Buffer[] = [];
  for (const name of [...entries.keys()].sort()) {
    const e = entries.get(name) as { mode: number; bytes?: Buffer };
    const size = e.bytes?.length ?? 0;
    out.push(encodeTarHeader({ name, type: e.bytes === undefined ? 'directory' : 'file', mode: e.mode, uid: 0, gid: 0, mtime: 0, size }));
    if (e.bytes !== undefined) out.push(e.bytes, Buffer.alloc(tarPadding(size)));
  }
  out.push(Buffer.alloc(TAR_END));
  return Buffer.concat(out);
}
