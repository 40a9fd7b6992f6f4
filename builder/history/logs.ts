import type { BuildRecord, ProgressEvent } from '../../solver/index.js';
import type { ProgressWriter } from '../progress/index.js';

// `tsbuild history logs` as buildx's runLogs (commands/history/logs.go) prints a finished build's progress again
// through a progress printer (plain by default, rawjson). BuildKit replays the status stream it stored; tsbuild's
// record keeps each step's start, end, cache hit, miss reasons and error, not the output its commands wrote, so the
// replay has every step's lines and none of their output.

/** The progress events of a recorded build, in the order they happened (a step's start before its end). */
export function replayEvents(record: BuildRecord): ProgressEvent[] {
  const events: ProgressEvent[] = [];
  for (const v of record.vertices) {
    if (v.cached) {
      events.push({ type: 'cached', vertex: v.id, text: v.text, time: v.started, ...(v.cacheSource === 'remote' && v.cacheRef !== undefined ? { source: v.cacheRef } : {}) });
      continue;
    }
    events.push({ type: 'start', vertex: v.id, text: v.text, reasons: v.reasons, time: v.started });
    events.push(v.error !== undefined
      ? { type: 'error', vertex: v.id, time: v.finished, message: v.error }
      : { type: 'done', vertex: v.id, time: v.finished, durationMs: v.durationMs, size: v.size });
  }
  // Stable: a step's own events keep their order when times are equal.
  return events.map((e, i) => ({ e, i })).sort((a, b) => a.e.time - b.e.time || a.i - b.i).map(({ e }) => e);
}

/** Writes the replay to `writer`. */
export function replayBuild(record: BuildRecord, writer: ProgressWriter): void {
  for (const e of replayEvents(record)) writer.event(e);
}
