import { UserError } from '../common/index.js';
import type { HistoryRetention } from '../solver/index.js';
import { parseDuration } from './options/units.js';

/**
 * The build records a root keeps unless told otherwise: BuildKit's default count (buildkitd.toml [history]
 * maxEntries = 50) and, unlike BuildKit's 48 hours, no age limit: tsbuild's history is also where `tsbuild push` and
 * `tsbuild history IMAGE` find a build's image, and an image built on Friday is still pushed on Monday.
 */
export const DEFAULT_HISTORY_RETENTION: HistoryRetention = { maxEntries: 50 };

/**
 * The history's retention from the environment: TSBUILD_HISTORY_MAX_ENTRIES (a count) and TSBUILD_HISTORY_MAX_AGE
 * (`48h`, `7d`, or seconds as buildkitd.toml's maxAge), each `0` or `off` for no limit of that kind.
 */
export function historyRetentionFromEnv(env: NodeJS.ProcessEnv = process.env): HistoryRetention {
  const keep: HistoryRetention = { ...DEFAULT_HISTORY_RETENTION };
  const entries = setting(env, 'TSBUILD_HISTORY_MAX_ENTRIES');
  if (entries === 'off') delete keep.maxEntries;
  else if (entries !== undefined) {
    if (!/^\d+$/.test(entries) || !Number.isSafeInteger(Number(entries))) {
      throw new UserError('INVALID_ARGUMENT', `TSBUILD_HISTORY_MAX_ENTRIES=${JSON.stringify(entries)} is not a count of builds`, 'give a whole number, e.g. 50, or 0 for no limit');
    }
    keep.maxEntries = Number(entries);
  }
  const age = setting(env, 'TSBUILD_HISTORY_MAX_AGE');
  if (age !== undefined && age !== 'off') {
    try {
      keep.maxAgeMs = /^\d+$/.test(age) ? Number(age) * 1000 : parseDuration(age);
    } catch (err) {
      throw new UserError('INVALID_ARGUMENT', `TSBUILD_HISTORY_MAX_AGE=${JSON.stringify(age)} is not a duration`, 'e.g. 48h, 7d, 172800 (seconds), or 0 for no limit', { cause: err });
    }
  }
  return keep;
}

/** A variable's value trimmed; undefined when unset or empty, 'off' for `off` or `0`. */
function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return undefined;
  return text.toLowerCase() === 'off' || text === '0' ? 'off' : text;
}
