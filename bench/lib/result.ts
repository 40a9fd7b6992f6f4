import type { TrafficCount } from './counting-proxy.js';
import type { Summary } from './stats.js';

/** Who ran a measured command: the tool under test, its peer, or a reference floor/ceiling. */
export type Role = 'tsbuild' | 'peer' | 'reference';

/** One measured command, repeated: wall times in ms, and the bytes it moved when throughput is meaningful. */
export interface Row {
  label: string;
  role: Role;
  /** The command line, as a reader would type it (paths shortened). */
  command: string;
  ms: Summary;
  /** Bytes processed per run: the table then shows MiB/s next to the time. */
  bytes?: number;
  /** How many steps one run has, for a per-step figure. */
  steps?: number;
}

/** `ours / peer` of two rows' medians, with the goal the issue set for it. */
export interface Ratio {
  ours: string;
  peer: string;
  value: number;
  /** The largest ratio that meets the goal; absent when the issue set none. */
  goal?: number;
  isMet?: boolean;
}

/** Registry traffic of one push, counted by the proxy, against what the goal allows. */
export interface TrafficRow {
  label: string;
  role: Role;
  count: TrafficCount;
  /** Blobs the manifest references (layers + config). */
  blobs: number;
  /** The goal: 0 blob bytes and at most one request per blob plus the manifest. */
  isMet: boolean;
}

/** Everything one scenario measured. A scenario that failed keeps its error and whatever rows it had. */
export interface ScenarioResult {
  id: string;
  title: string;
  goal?: string;
  rows: Row[];
  ratios: Ratio[];
  traffic: TrafficRow[];
  notes: string[];
  error?: string;
  durationMs: number;
}

/** A fresh, empty result for scenario `id`. */
export function emptyResult(id: string, title: string, goal?: string): ScenarioResult {
  return { id, title, ...(goal !== undefined ? { goal } : {}), rows: [], ratios: [], traffic: [], notes: [], durationMs: 0 };
}

/** The ratio of two rows' medians, by label; undefined when either is missing or the peer took no time. */
export function ratioOfRows(result: ScenarioResult, ours: string, peer: string, goal?: number): Ratio | undefined {
  const a = result.rows.find((r) => r.label === ours);
  const b = result.rows.find((r) => r.label === peer);
  if (a === undefined || b === undefined || b.ms.median <= 0) return undefined;
  const value = a.ms.median / b.ms.median;
  return { ours, peer, value, ...(goal !== undefined ? { goal, isMet: value <= goal } : {}) };
}
