import { goParseDuration, goParseRfc3339 } from '../../common/index.js';
import { formatDate } from './formatdate.js';
import { formatNumber, ValueError, type Value } from './value.js';

// timeadd (go-cty stdlib datetime.go), and buildx's own formattimestamp and unixtimestampparse (bake/hclparser
// stdlib.go): RFC 3339 times kept in their own offset, Go's time.ParseDuration, Go's time.RFC3339 output (whole
// seconds, "Z" for a zero offset).

interface Time { ns: bigint; offsetMinutes: number }

const NS_PER_S = 1_000_000_000n;

function parseRfc3339(text: string): Time {
  try { return goParseRfc3339(text); } catch (err) { throw new ValueError(err instanceof Error ? err.message : String(err)); }
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

function parseDuration(text: string): bigint {
  try { return goParseDuration(text); } catch (err) { throw new ValueError(err instanceof Error ? err.message : String(err)); }
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
