import type { BuildRecord, ProgressEvent } from '../../solver/index.js';
import type { ProgressWriter } from '../progress/index.js';
import type { StoredLogEntry } from './stored-logs.js';

// `tsbuild history logs` as buildx's runLogs (commands/history/logs.go) prints a finished build's progress again
// through a progress printer (plain by default, rawjson). BuildKit replays the status stream it stored with the
// record; tsbuild replays the record's steps (start, end, cache hit, miss reasons, error) with the output and statuses
// stored beside it (stored-logs.ts), merged by time. A record from a tsbuild that stored no logs replays its steps alone.

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

/** Writes the replay of `record` and its stored `logs` (in the order they were stored; none for an older record) to `writer`. */
export async function replayBuild(record: BuildRecord, writer: ProgressWriter, logs: AsyncIterable<StoredLogEntry> | Iterable<StoredLogEntry> = []): Promise<void> {
  const events = replayEvents(record);
  // A step cut short by another's failure is not in the record: its output would print without its step's line.
  const recorded = new Set(record.vertices.map((v) => v.id));
  let next = 0;
  for await (const entry of logs) {
    if (!recorded.has(entry.vertex)) continue;
    // Output stored at a step's start comes after its first line; output stored at its end (its unended last line,
    // flushed then) before its DONE or ERROR line.
    for (let e = events[next]; e !== undefined && (e.time < entry.time || (e.time === entry.time && (e.type === 'start' || e.type === 'cached'))); e = events[++next]) writer.event(e);
    writer.event(logEvent(entry));
  }
  for (const e of events.slice(next)) writer.event(e);
}

function logEvent(entry: StoredLogEntry): ProgressEvent {
  if ('stream' in entry) return { type: 'log', vertex: entry.vertex, stream: entry.stream, data: Buffer.from(entry.text), time: entry.time };
  return { type: 'status', vertex: entry.vertex, text: entry.status, time: entry.time, ...(entry.current !== undefined ? { current: entry.current } : {}), ...(entry.total !== undefined ? { total: entry.total } : {}) };
}
