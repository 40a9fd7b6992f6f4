// Go's time parsing where buildx reads times and durations the user wrote: bake's timeadd/formattimestamp
// (bake/hclparser stdlib.go) and `history ls --filter startedAt<1h` (commands/history/utils.go timeBasedFilter).
// Errors are plain Errors with Go's message; each caller turns them into its own.

/** A time as RFC 3339 reads it: nanoseconds since the epoch, and the offset it was written in. */
export interface GoParsedTime { ns: bigint; offsetMinutes: number }

/** Go's time.Parse(time.RFC3339, text), nanoseconds kept. */
export function goParseRfc3339(text: string): GoParsedTime {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/.exec(text);
  if (!m) throw new Error(`not a valid RFC3339 timestamp: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, frac = '', , sign, oh = '0', om = '0'] = m;
  const offsetMinutes = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0;
  const utcMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offsetMinutes * 60_000;
  const fracNs = frac ? BigInt(frac.slice(1, 10).padEnd(9, '0')) : 0n;
  return { ns: BigInt(utcMs) * 1_000_000n + fracNs, offsetMinutes };
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds; the error is Go's (`time: invalid duration "x"`). */
export function goParseDuration(text: string): bigint {
  const bad = (why = 'invalid duration'): Error => new Error(`time: ${why} ${JSON.stringify(text)}`);
  let s = text;
  let sign = 1n;
  if (s.startsWith('-') || s.startsWith('+')) { if (s[0] === '-') sign = -1n; s = s.slice(1); }
  if (s === '0') return 0n;
  if (s === '') throw bad();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) throw bad();
    s = s.slice(m[0].length);
    const unit = /^[^\d.]+/.exec(s)?.[0];
    if (!unit) throw bad('missing unit in duration');
    const scale = UNITS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}`);
    s = s.slice(unit.length);
    total += Number(`${m[1] || '0'}.${m[2] ?? ''}0`) * scale;
    // Go's Duration is an int64 of nanoseconds: ParseDuration refuses more (2562047h47m16.854775807s).
    if (total >= 2 ** 63) throw bad();
  }
  return sign * BigInt(Math.round(total));
}
