import { resolve } from 'node:path';
import type { StatMemo } from '../../worker/index.js';
import type { BuildHistory, BuildRecord } from '../../solver/index.js';
import { keyManifestOf } from '../explain/key-manifest.js';
import { recordedBuilds } from '../report/recorded-builds.js';
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
  /** The root's build history; absent: no churn figures. */
  index?: BuildHistory;
  /** The build being recorded now (not in the history yet): the newest snapshot. */
  current?: BuildRecord;
}

/** Scans the context and reads this Dockerfile's recorded builds (their key manifests) into a ContextReport. */
export async function contextReportFor(req: ContextReportRequest): Promise<ContextReport> {
  const files = scanContext(req.contextDir, req.excludes, req.memo);
  const history = req.index ? contextHistory(req.index, resolve(req.dockerfilePath)) : [];
  if (req.current) history.push(snapshotOf(req.current));
  return contextReport(files, req.dockerfileText, req.dockerfilePath, history);
}

/** The recorded builds of `dockerfile`, oldest first, as context snapshots. */
export function contextHistory(index: BuildHistory, dockerfile: string): ContextSnapshot[] {
  return recordedBuilds(index, dockerfile, HISTORY).map(snapshotOf);
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
