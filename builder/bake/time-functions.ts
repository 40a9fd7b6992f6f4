import { formatDate } from './formatdate.js';
import { formatNumber, ValueError, type Value } from './value.js';

// timeadd (go-cty stdlib datetime.go), and buildx's own formattimestamp and unixtimestampparse (bake/hclparser
// stdlib.go): RFC 3339 times kept in their own offset, Go's time.ParseDuration, Go's time.RFC3339 output (whole
// seconds, "Z" for a zero offset).

interface Time { ns: bigint; offsetMinutes: number }

const NS_PER_S = 1_000_000_000n;

function parseRfc3339(text: string): Time {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/.exec(text);
  if (!m) throw new ValueError(`not a valid RFC3339 timestamp: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, frac = '', , sign, oh = '0', om = '0'] = m;
  const offsetMinutes = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0;
  const utcMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offsetMinutes * 60_000;
  const fracNs = frac ? BigInt(frac.slice(1, 10).padEnd(9, '0')) : 0n;
  return { ns: BigInt(utcMs) * 1_000_000n + fracNs, offsetMinutes };
}

/** Go's time.Format(time.RFC3339): the time in its offset, whole seconds. */
function formatRfc3339(t: Time): string {
  let seconds = t.ns / NS_PER_S;
  if (t.ns < 0n && t.ns % NS_PER_S !== 0n) seconds -= 1n;
  const local = new Date(Number(seconds) * 1000 + t.offsetMinutes * 60_000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const date = `${p(local.getUTCFullYear(), 4)}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())}T${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}`;
  if (t.offsetMinutes === 0) return `${date}Z`;
  const abs = Math.abs(t.offsetMinutes);
  return `${date}${t.offsetMinutes < 0 ? '-' : '+'}${p(Math.floor(abs / 60))}:${p(abs % 60)}`;
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds. */
function parseDuration(text: string): bigint {
  const bad = (why = 'invalid duration'): ValueError => new ValueError(`time: ${why} ${JSON.stringify(text)}`);
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
    if (scale === undefined) throw new ValueError(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}`);
    s = s.slice(unit.length);
    total += Number(`${m[1] || '0'}.${m[2] ?? ''}0`) * scale;
    // Go's Duration is an int64 of nanoseconds: ParseDuration refuses more (2562047h47m16.854775807s).
    if (total >= 2 ** 63) throw bad();
  }
  return sign * BigInt(Math.round(total));
}

/** timeadd: an RFC 3339 time plus a Go duration ("1h30m", "-15m"), in the time's own offset. */
export function timeAdd(timestamp: string, duration: string): string {
  const t = parseRfc3339(timestamp);
  return formatRfc3339({ ns: t.ns + parseDuration(duration), offsetMinutes: t.offsetMinutes });
}

/** JavaScript's Date reaches 8.64e15 ms either side of 1970 (year 275760); Go's time far further. */
const MAX_UNIX_SECONDS = 8.64e12;

function unixTime(v: number): Time {
  // buildx's unixTimestampValue: a whole number that fits an int64 (big.Float.Int64 exact), else this error.
  if (!Number.isInteger(v) || Math.abs(v) >= 2 ** 63) throw new ValueError('unix timestamp must be an integer');
  if (Math.abs(v) > MAX_UNIX_SECONDS) throw new ValueError(`unix timestamp ${formatNumber(v)} is past the year 275760, beyond what tsbuild's dates reach`);
  return { ns: BigInt(v) * NS_PER_S, offsetMinutes: 0 };
}

/** formattimestamp: formatdate's format of an RFC 3339 string or a unix time; "X" gives unix seconds. */
export function formatTimestamp(format: string, time: Value): string {
  if (typeof time === 'string') {
    if (format !== 'X') return formatDate(format, time);
    let t: Time;
    try {
      t = parseRfc3339(time);
    } catch {
      throw new ValueError('timestamp string must be RFC3339');
    }
    return String(t.ns / NS_PER_S - (t.ns < 0n && t.ns % NS_PER_S !== 0n ? 1n : 0n));
  }
  if (typeof time === 'number') {
    const t = unixTime(time);
    return format === 'X' ? String(time) : formatDate(format, formatRfc3339(t));
  }
  throw new ValueError('must be a string timestamp or a unix timestamp number');
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** unixtimestampparse: the UTC date and time of a unix time, field by field, as Go's time.Time gives them. */
export function unixTimestampParse(v: number): Value {
  const t = unixTime(v);
  const d = new Date(Number(t.ns / 1_000_000n));
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const dayMs = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const yearDay = (dayMs - yearStart) / 86_400_000 + 1;
  // ISO 8601 week: the week (Monday first) holding the year's first Thursday is week 1.
  const isoWeekday = (d.getUTCDay() + 6) % 7;
  const thursday = new Date(dayMs + (3 - isoWeekday) * 86_400_000);
  const isoYear = thursday.getUTCFullYear();
  const isoWeek = Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * 86_400_000)) + 1;
  return {
    day: d.getUTCDate(), hour: d.getUTCHours(), iso_week: isoWeek, iso_year: isoYear, minute: d.getUTCMinutes(), month: d.getUTCMonth() + 1,
    month_name: MONTHS[d.getUTCMonth()] ?? '', rfc3339: formatRfc3339(t), second: d.getUTCSeconds(), weekday: d.getUTCDay(),
    weekday_name: DAYS[d.getUTCDay()] ?? '', year: d.getUTCFullYear(), year_day: yearDay,
  };
}
