import type { VertexId } from '../../frontend/index.js';
import { isDigest, type Digest } from '../../registry/oci/index.js';
import { redactParts, type BuildRecord, type CacheKeyParts, type ContentFiles } from '../../solver/index.js';
import type { ContextReport } from '../context-report/context-report.js';

/**
 * One step's cache key as a report carries it: the key's ingredients (CacheKeyParts) and the per-file digests behind
 * its content, so another machine can explain a difference without this machine's cache. Secret-looking values are
 * replaced by their digest (see redactParts): equal values still compare equal, the value itself never leaves.
 */
export interface StepKey {
  vertex: VertexId;
  /** Dockerfile base name, stage and position: names the same step on every machine. */
  locator: string;
  key: Digest;
  parts: CacheKeyParts;
  /** Per content source, per path: the file digests (at most MAX_FILES_PER_SOURCE per source). */
  files?: ContentFiles;
  /** Sources whose file list was cut at MAX_FILES_PER_SOURCE. */
  truncated?: string[];
}

/** How many file digests a step keeps per content source: a `COPY . .` of a huge tree stays a bounded record. */
export const MAX_FILES_PER_SOURCE = 5000;

// The redaction of key parts lives with the keys (solver/secret-parts.ts): keys are computed over redacted parts.
export { isRedacted, redactParts, redactedValue } from '../../solver/index.js';

/** `files` cut to MAX_FILES_PER_SOURCE paths per source (sorted), and the sources that were cut. */
export function boundFiles(files: ContentFiles): { files: ContentFiles; truncated: string[] } {
  const out: ContentFiles = {};
  const truncated: string[] = [];
  for (const [source, byPath] of Object.entries(files)) {
    const paths = Object.keys(byPath).sort();
    if (paths.length > MAX_FILES_PER_SOURCE) truncated.push(source);
    const kept: Record<string, Digest> = {};
    for (const p of paths.slice(0, MAX_FILES_PER_SOURCE)) kept[p] = byPath[p] as Digest;
    out[source] = kept;
  }
  return { files: out, truncated };
}

/**
 * A build record as builder/ stores it: the solver's record plus the key manifest of the steps that finished and
 * the context report of the build.
 */
export interface KeyedBuildRecord extends BuildRecord { keyManifest?: StepKey[]; context?: ContextReport }

/** The key manifest stored with `record` (records written before it existed have none). Checks the JSON shape. */
export function keyManifestOf(record: BuildRecord): StepKey[] | undefined {
  return parseKeyManifest((record as KeyedBuildRecord).keyManifest);
}

/** Validates a key manifest that arrived as JSON (a report file, an attached report, a build record). */
export function parseKeyManifest(value: unknown): StepKey[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: StepKey[] = [];
  for (const item of value) {
    const k = parseStepKey(item);
    if (k !== undefined) out.push(k);
  }
  return out;
}

/** One StepKey from JSON, or undefined when it is not one. */
export function parseStepKey(item: unknown): StepKey | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const s = item as Partial<StepKey>;
  const p = s.parts as Partial<CacheKeyParts> | undefined;
  if (typeof s.vertex !== 'string' || typeof s.locator !== 'string' || !isDigest(s.key) || typeof p !== 'object' || p === null) return undefined;
  if (typeof p.op !== 'string' || typeof p.opText !== 'string' || !Array.isArray(p.inputs) || typeof p.content !== 'object' || typeof p.args !== 'object' || typeof p.platform !== 'string') return undefined;
  return item as StepKey;
}

/** The StepKey of a finished step: parts redacted, file lists bounded. */
export function stepKeyOf(vertex: VertexId, locator: string, key: { digest: Digest; parts: CacheKeyParts }, files: ContentFiles): StepKey {
  const bounded = boundFiles(files);
  return {
    vertex, locator, key: key.digest, parts: redactParts(key.parts), files: bounded.files,
    ...(bounded.truncated.length > 0 ? { truncated: bounded.truncated } : {}),
  };
}
