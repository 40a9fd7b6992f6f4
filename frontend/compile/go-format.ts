// Go's fmt verbs as BuildKit uses them in history `created_by` strings, so our history reads exactly like theirs.

/** Go's %q of one string (strconv.Quote, for the printable subset JSON escapes the same way). */
export function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u00([0-7][0-9a-f])/g, '\\x$1').replace(/\\u007f/g, '\\x7f');
}

/** Go's %q of a []string: `["a" "b"]`. */
export function goQuoteSlice(values: string[]): string {
  return `[${values.map(goQuote).join(' ')}]`;
}

/** Go's %v of a []string: `[a b]`. */
export function goSlice(values: string[]): string {
  return `[${values.join(' ')}]`;
}

const UNITS: [string, number][] = [['h', 3600e9], ['m', 60e9], ['s', 1e9], ['ms', 1e6], ['us', 1e3], ['µs', 1e3], ['ns', 1]];

/** Parses a Go duration (`30s`, `1m30s`, `1.5h`, `500ms`) into nanoseconds; undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(h|ms|us|µs|ns|m|s)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const unit = UNITS.find(([u]) => u === m?.[2]);
    if (!unit) return undefined;
    total += Number(m[1]) * unit[1];
    pos = re.lastIndex;
  }
  return pos === text.length && pos > 0 ? Math.round(total) : undefined;
}

/** Go's time.Duration.String(): `1m30s`, `500ms`, `0s`. */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e9) {
    if (ns < 1e3) return `${ns}ns`;
    if (ns < 1e6) return `${trim(ns / 1e3)}µs`;
    return `${trim(ns / 1e6)}ms`;
  }
  const h = Math.floor(ns / 3600e9);
  const m = Math.floor((ns % 3600e9) / 60e9);
  const s = (ns % 60e9) / 1e9;
  let out = '';
  if (h > 0) out += `${h}h`;
  if (h > 0 || m > 0) out += `${m}m`;
  return out + `${trim(s)}s`;
}

function trim(n: number): string {
  return String(Number(n.toFixed(9)));
}
