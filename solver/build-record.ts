import type { Digest } from '../registry/oci/index.js';
import type { VertexRecord } from './progress-event.js';

/** One build as `tsbuild history` lists and `history inspect` shows it. Times are epoch milliseconds. */
export interface BuildRecord {
  id: string;
  started: number;
  finished: number;
  status: 'succeeded' | 'failed' | 'cancelled';
  dockerfile?: string;
  /** The Dockerfile's text when it is no file that stays (a remote context's, stdin's): the report quotes it. */
  dockerfileText?: string;
  target?: string;
  args: Record<string, string>;
  tags: string[];
  /** The digest of the image (manifest) the build produced, when it produced one. */
  resultDigest?: Digest;
  error?: { code?: string; message: string };
  /** A local build context's directory (absolute): `history inspect` shows it as buildx shows its local state. */
  contextDir?: string;
  /** A remote build context (git, URL, stdin): its URL with credentials redacted and, for git, the resolved commit. */
  contextSource?: { url: string; commit?: string };
  /**
   * The frontend attributes buildx sends besides the build args, `target` and a remote context's URL (fields above):
   * `platform`, `label:*`, `context:*`, `force-network-mode`, `add-hosts`, `no-cache`, `shm-size`, `ulimit` and the
   * checkout's `vcs:*`, which BuildKit keeps with its record and `history inspect` reads. Older records have none.
   */
  frontendAttrs?: Record<string, string>;
  vertices: VertexRecord[];
}

/** A build without its per-step records, with counts: one line of `tsbuild history`. */
export interface BuildSummary extends Omit<BuildRecord, 'vertices' | 'dockerfileText'> { steps: number; cached: number }

/** Parses a build record read back from the index (it arrives as unknown JSON). */
export function parseBuildRecord(json: string): BuildRecord {
  const value: unknown = JSON.parse(json);
  if (typeof value !== 'object' || value === null) throw new Error('cache.db: build record is not an object');
  const r = value as Partial<BuildRecord>;
  if (typeof r.id !== 'string' || typeof r.started !== 'number' || !Array.isArray(r.vertices)) {
    throw new Error('cache.db: malformed build record');
  }
  const attrs: unknown = r.frontendAttrs;
  if (attrs !== undefined && (typeof attrs !== 'object' || attrs === null || Object.values(attrs).some((v) => typeof v !== 'string'))) {
    throw new Error('cache.db: malformed build record (frontendAttrs)');
  }
  return value as BuildRecord;
}

/** The summary line of a build. */
export function summarizeBuild(record: BuildRecord): BuildSummary {
  const { vertices, dockerfileText: _text, ...rest } = record;
  return { ...rest, steps: vertices.length, cached: vertices.filter((v) => v.cached).length };
}
