import { UserError, goParseDuration, goParseRfc3339 } from '../../common/index.js';
import type { BuildSummary } from '../../solver/index.js';

// `history ls --filter` as buildx reads it (commands/history/utils.go dockerFiltersToBuildkit, valueFiler,
// timeBasedFilter): KEY=VALUE / KEY!=VALUE for ref, repository and status; KEY<VALUE / KEY>VALUE for startedAt and
// completedAt (a Go duration back from now, or an RFC 3339 time; compared in whole seconds) and duration (a Go
// duration). Every filter must match. buildx cuts a filter at the first of `!=`, `=`, `<=`, `<`, `>=`, `>` it
// contains, so `startedAt>=1h` is cut at `=` and refused as an unsupported key, here as there. `ref=` and
// `repository=` match a part of the value (BuildKit's `~=`), `!=` the whole; `status=` the whole.

type Filtered = Pick<BuildSummary, 'id' | 'started' | 'finished' | 'status' | 'contextSource' | 'frontendAttrs'>;

/** One parsed filter. */
export type HistoryFilter = (b: Filtered) => boolean;

const SEPARATORS = ['!=', '=', '<=', '<', '>=', '>'] as const;

/** buildx's status of a finished record, as its filters name it. */
function statusOf(b: Filtered): string {
  return b.status === 'succeeded' ? 'completed' : b.status === 'cancelled' ? 'canceled' : 'error';
}

/** The repository a build came from, as BuildKit's history filter reads it: `vcs:source`, else a git context's remote. */
function repositoryOf(b: Filtered): string {
  return b.frontendAttrs?.['vcs:source'] ?? (b.contextSource?.commit !== undefined ? b.contextSource.url : '');
}

/** The filters `--filter` gave, parsed; `now` is when durations back from now are measured from. */
export function parseHistoryFilters(given: string[], now = Date.now()): HistoryFilter[] {
  return given.map((f) => parseFilter(f, now));
}

function parseFilter(f: string, now: number): HistoryFilter {
  const fail = (message: string): never => { throw new UserError('INVALID_ARGUMENT', message, 'filters: ref, repository, status (= or !=); startedAt, completedAt, duration (< or >), e.g. --filter status=error --filter startedAt<24h'); };
  let cut: { key: string; sep: string; value: string } | undefined;
  for (const sep of SEPARATORS) {
    const at = f.indexOf(sep);
    if (at >= 0) { cut = { key: f.slice(0, at), sep, value: f.slice(at + sep.length) }; break; }
  }
  if (cut === undefined) return fail(`invalid filter ${JSON.stringify(f)}`);
  const { key, sep, value } = cut;
  switch (key) {
    case 'ref': case 'repository': case 'status': {
      if (sep !== '=' && sep !== '!=') return fail(`invalid separator for ${JSON.stringify(f)}, expected = or !=`);
      const of = (b: Filtered): string => (key === 'ref' ? b.id : key === 'status' ? statusOf(b) : repositoryOf(b));
      if (sep === '!=') return (b) => of(b) !== value;
      return key === 'status' ? (b) => of(b) === value : (b) => of(b).includes(value);
    }
    case 'startedAt': case 'completedAt': case 'duration': {
      if (sep === '=' || sep === '!=') return fail(`invalid separator for ${JSON.stringify(f)}, expected <=, <, >= or >`);
      return timeFilter(key, sep, value, now, fail);
    }
    default: return fail(`unsupported filter ${JSON.stringify(f)}`);
  }
}

function timeFilter(key: 'startedAt' | 'completedAt' | 'duration', sep: string, value: string, now: number, fail: (m: string) => never): HistoryFilter {
  let limit: bigint;
  if (key === 'duration') {
    try { limit = goParseDuration(value); } catch { return fail(`invalid duration ${value}`); }
  } else {
    // A duration is "that long ago"; otherwise an RFC 3339 time. Both in unix seconds (time.Unix truncates).
    try { limit = unixSeconds(BigInt(now) * 1_000_000n - goParseDuration(value)); } catch {
      try { limit = unixSeconds(goParseRfc3339(value).ns); } catch { return fail(`invalid time ${value}`); }
    }
  }
  const of = (b: Filtered): bigint => key === 'duration' ? BigInt(b.finished - b.started) * 1_000_000n
    : unixSeconds(BigInt(key === 'startedAt' ? b.started : b.finished) * 1_000_000n);
  // Only `<` and `>` reach here: `<=` and `>=` were cut at their `=`.
  return sep === '>' ? (b) => of(b) > limit : (b) => of(b) < limit;
}

/** time.Time.Unix of nanoseconds since the epoch: rounded down. */
function unixSeconds(ns: bigint): bigint {
  const s = ns / 1_000_000_000n;
  return ns < 0n && ns % 1_000_000_000n !== 0n ? s - 1n : s;
}
