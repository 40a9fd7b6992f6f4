import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { StatMemo } from '../../worker/index.js';
import type { BuildHistory, BuildRecord } from '../../solver/index.js';
import { keyManifestOf } from '../explain/key-manifest.js';
import { contextReport, type ContextReport, type ContextSnapshot } from './context-report.js';
import { scanContext } from './scan-context.js';

/** How many recorded builds the churn figures look back over. */
const HISTORY = 30;

/** What contextReportFor() reads. */
export interface ContextReportRequest {
  contextDir: string;
  dockerfilePath: string;
  dockerfileText: string;
  excludes: string[];
  /** The build's listing of its context (worker `statMemoFor`): directories its COPYs walked are not read again. */
  memo?: StatMemo;
  /** Also walk the directories .dockerignore excludes whole, to count them (scanContext): `tsbuild context` does. */
  scanExcluded?: boolean;
  /** The root's build history; absent: no churn figures. */
  index?: BuildHistory;
  /** The build being recorded now (not in the history yet): the newest snapshot (currentSnapshot). */
  current?: ContextSnapshot;
}

/** Scans the context and reads this Dockerfile's recorded builds (their key manifests) into a ContextReport. */
export async function contextReportFor(req: ContextReportRequest): Promise<ContextReport> {
  const scan = scanContext(req.contextDir, req.excludes, req.memo, { scanExcluded: req.scanExcluded === true });
  const history = req.index ? contextHistory(req.index, resolve(req.dockerfilePath)) : [];
  if (req.current) history.push(req.current);
  return contextReport(scan, req.dockerfileText, req.dockerfilePath, history);
}

/**
 * The recorded builds of `dockerfile`, oldest first, as context snapshots. Read from each build's brief (contextBriefOf:
 * the digest of its files and its step durations); a build's whole record (~40 KB of JSON) is read only when the churn
 * needs its files, i.e. next to a build whose files differ, or when it was recorded without a brief.
 */
export function contextHistory(index: BuildHistory, dockerfile: string): ContextSnapshot[] {
  return index.briefsOf(dockerfile, HISTORY).reverse().map(({ id, brief }) => {
    const parsed = brief === undefined ? undefined : parseBrief(brief);
    if (parsed === undefined) {
      const record = index.getBuild(id);
      return record === undefined ? { files: new Map(), durations: {} } : snapshotOf(record);
    }
    let files: ReadonlyMap<string, string> | undefined;
    return {
      get files(): ReadonlyMap<string, string> {
        const record = files === undefined ? index.getBuild(id) : undefined;
        files ??= record === undefined ? new Map() : snapshotOf(record).files;
        return files;
      },
      filesDigest: parsed.files,
      durations: parsed.durations,
    };
  });
}

/** A build's context brief as BuildHistory stores it (recordBuild's `brief`): what contextHistory reads per build. */
interface ContextBrief { v: 1; files: string; durations: Record<number, number> }

/**
 * The brief to store with a build (recordBuild's `brief`): its files' digest and step durations, from the snapshot
 * currentSnapshot made of it for its own report (the record's files are walked and hashed once per build).
 */
export function contextBriefOf(current: ContextSnapshot): string {
  const brief: ContextBrief = { v: 1, files: current.filesDigest ?? filesDigestOf(current.files), durations: current.durations };
  return JSON.stringify(brief);
}

function parseBrief(text: string): ContextBrief | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return undefined;
    const b = v as Partial<ContextBrief>;
    if (b.v !== 1 || typeof b.files !== 'string' || typeof b.durations !== 'object' || b.durations === null) return undefined;
    return { v: 1, files: b.files, durations: b.durations };
  } catch {
    return undefined;
  }
}

/** The sha256 of a snapshot's files, path order: equal for equal maps, whatever order they were filled in. */
function filesDigestOf(files: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256');
  for (const path of [...files.keys()].sort()) hash.update(`${path}\0${files.get(path) ?? ''}\n`);
  return hash.digest('hex');
}

function snapshotOf(record: BuildRecord): ContextSnapshot {
  const files = new Map<string, string>();
  for (const key of keyManifestOf(record) ?? []) {
    const context = key.files?.context;
    if (context !== undefined) for (const path of Object.keys(context)) files.set(path, context[path] ?? '');
  }
  const durations: Record<number, number> = {};
  for (const v of record.vertices) if (!v.cached && v.location) durations[v.location.line] = v.durationMs;
  return { files, durations };
}

/**
 * The snapshot of the build being recorded, with its files' digest (so unchanged neighbours are not read): its report's
 * newest entry and, through contextBriefOf, its stored brief (made from the record before redaction, as its report is:
 * the stored copy differs only where a secret build-arg value was cut out of a path, builder/report/redact.ts).
 */
export function currentSnapshot(record: BuildRecord): ContextSnapshot {
  const snapshot = snapshotOf(record);
  return { ...snapshot, filesDigest: filesDigestOf(snapshot.files) };
}
