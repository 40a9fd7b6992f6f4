import type { ReportReason, ReportStep } from './model.js';
import { formatSize } from '../options/units.js';

/** A duration for people: `850 ms`, `1.2 s`, `2 min 5 s`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A byte count for people: `0 B`, `1.0 MB`, `230 MB`. */
export function formatBytes(bytes: number): string {
  return formatSize(bytes).replace(/^(\d[\d.]*)/, '$1 ');
}

/** `sha256:0123456789ab…` → `0123456789ab`. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** The step number the progress output showed (`#3`), by position in the build. */
export function stepNumbers(steps: readonly ReportStep[]): Map<string, number> {
  return new Map(steps.map((s, i) => [s.id, i + 1]));
}

/** A reason in a few words, for tables: parent misses name the step by number. */
export function shortReason({ reason, text }: ReportReason, numbers: Map<string, number>): string {
  if (reason.kind === 'parent') {
    const n = numbers.get(reason.vertex);
    return n === undefined ? text : `parent step #${n} missed`;
  }
  return text;
}
