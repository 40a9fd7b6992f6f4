import { ValueError } from './value.js';

// HCL's formatdate(spec, timestamp), as go-cty's stdlib FormatDate reads it (buildx's bake has it through cty's
// stdlib): runs of one letter are fields (YYYY, MM, DD, hh, mm, ss, EEE, ZZZZZ …), text in single quotes is literal
// ('' is a quote), anything else that is not a letter is written as it is. The time is shown in its own offset.

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** formatdate(): `spec` applied to the RFC 3339 `timestamp`. */
export function formatDate(spec: string, timestamp: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(timestamp);
  if (!m) throw new ValueError(`formatdate: not a valid RFC3339 timestamp: ${JSON.stringify(timestamp)}`);
  const [, y, mo, d, h, mi, s, zone = 'Z'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const offset = /^[Zz]$/.test(zone) ? undefined : zone;
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const fields: Record<string, () => string> = {
    YYYY: () => pad(year, 4), YY: () => pad(year % 100), MMMM: () => MONTHS[month - 1] ?? '', MMM: () => (MONTHS[month - 1] ?? '').slice(0, 3),
    MM: () => pad(month), M: () => String(month), DD: () => pad(day), D: () => String(day), EEEE: () => DAYS[weekday] ?? '', EEE: () => (DAYS[weekday] ?? '').slice(0, 3),
    hh: () => pad(hour), h: () => String(hour), HH: () => pad(hour % 12 === 0 ? 12 : hour % 12), H: () => String(hour % 12 === 0 ? 12 : hour % 12),
    AA: () => (hour < 12 ? 'AM' : 'PM'), aa: () => (hour < 12 ? 'am' : 'pm'), mm: () => pad(Number(mi)), m: () => String(Number(mi)),
    ss: () => pad(Number(s)), s: () => String(Number(s)),
    ZZZZZ: () => offset ?? '+00:00', ZZZZ: () => (offset ?? '+00:00').replace(':', ''), ZZZ: () => (offset === undefined ? 'UTC' : offset.replace(':', '')), Z: () => offset ?? 'Z',
  };
  let out = '';
  for (let i = 0; i < spec.length;) {
    const c = spec[i] ?? '';
    if (c === "'") {
      const end = spec.indexOf("'", i + 1);
      if (end < 0) throw new ValueError('formatdate: unterminated literal in the format');
      out += end === i + 1 ? "'" : spec.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(c)) { out += c; i++; continue; }
    let j = i;
    while (spec[j] === c) j++;
    const field = fields[spec.slice(i, j)];
    if (field === undefined) throw new ValueError(`formatdate: invalid date format verb ${JSON.stringify(spec.slice(i, j))}`);
    out += field();
    i = j;
  }
  return out;
}
