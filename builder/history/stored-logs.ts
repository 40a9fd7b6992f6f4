import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

// A build's progress as `history logs` replays it, kept in the build's row of cache.db (BuildHistory.recordBuild's
// `logs`), as BuildKit keeps a build's SolveStatus stream in a blob beside its history record (the record's `Logs`
// descriptor, written by history.Queue.ImportStatus from solver/llbsolver/history.go) for buildx's `history logs` to
// print again (commands/history/logs.go runLogs). Gzipped JSON lines: the first names the format, each next one is
// a step's output or a status, in the order the build's progress received them.

/** The first line of stored logs: what the lines after it are. */
const FORMAT = 'tsbuild.logs.v1';

/** A step's output (the whole lines one chunk completed) or status, as the live progress received it. Times: epoch ms. */
export type StoredLogEntry =
  | { vertex: string; time: number; stream: 'stdout' | 'stderr'; text: string }
  | { vertex: string; time: number; status: string; current?: number; total?: number };

/** The first line of stored logs. */
export function storedLogsHeader(): string {
  return `${JSON.stringify({ format: FORMAT })}\n`;
}

/** One entry as a line of stored logs. */
export function storedLogLine(entry: StoredLogEntry): string {
  const line = 'stream' in entry
    ? { v: entry.vertex, t: entry.time, s: entry.stream, d: entry.text }
    : { v: entry.vertex, t: entry.time, st: entry.status, ...(entry.current !== undefined ? { c: entry.current } : {}), ...(entry.total !== undefined ? { n: entry.total } : {}) };
  return `${JSON.stringify(line)}\n`;
}

/** The entries of stored logs (`bytes` as BuildHistory.logsOf returns them), read as they are unzipped. */
export async function* readStoredLogs(bytes: Uint8Array, buildId: string): AsyncGenerator<StoredLogEntry> {
  const lines = createInterface({ input: Readable.from([bytes]).pipe(createGunzip()), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n += 1;
    if (n === 1) {
      if (line !== storedLogsHeader().trimEnd()) throw new Error(`cache.db: the logs of build ${buildId} are not ${FORMAT}`);
      continue;
    }
    if (line !== '') yield parseEntry(line, `cache.db: the logs of build ${buildId}, line ${n}`);
  }
}

function parseEntry(line: string, where: string): StoredLogEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (typeof value !== 'object' || value === null) throw new Error(`${where}: not an object`);
  const o = value as Record<string, unknown>;
  const { v, t, s, d, st, c, n } = o;
  if (typeof v !== 'string' || typeof t !== 'number') throw new Error(`${where}: no vertex and time`);
  if ((s === 'stdout' || s === 'stderr') && typeof d === 'string') return { vertex: v, time: t, stream: s, text: d };
  if (typeof st === 'string' && (c === undefined || typeof c === 'number') && (n === undefined || typeof n === 'number')) {
    return { vertex: v, time: t, status: st, ...(c !== undefined ? { current: c } : {}), ...(n !== undefined ? { total: n } : {}) };
  }
  throw new Error(`${where}: neither output nor a status`);
}
