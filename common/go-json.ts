// JSON as Go's encoding/json writes it, for the files and outputs buildx users compare byte for byte (the metadata
// file, `--call=…,format=json`, `imagetools inspect --format '{{json …}}'`): Go escapes `<`, `>`, `&`, U+2028 and
// U+2029 inside strings, which JSON.stringify leaves as they are. Key order is the caller's (Go sorts map keys and
// keeps struct order).

/** Go's escapes applied to JSON text: only strings can hold these characters, so replacing them everywhere is exact. */
function escapeAsGo(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `value` as json.MarshalIndent(value, "", "  ") writes it (no trailing newline). */
export function goJson(value: unknown): string {
  return escapeAsGo(JSON.stringify(value, null, 2));
}

/** `value` as json.Marshal(value) writes it: compact, Go's escapes (no trailing newline). */
export function goJsonCompact(value: unknown): string {
  return escapeAsGo(JSON.stringify(value));
}

/** One string as encoding/json quotes it. */
export function goQuote(text: string): string {
  return escapeAsGo(JSON.stringify(text));
}

/**
 * A time (ms since the epoch, UTC) as encoding/json writes a time.Time: RFC 3339 with the fraction's trailing zeros
 * dropped (`2023-11-14T22:13:20Z`, `…:20.12Z`), where toISOString always writes three digits (`…:20.000Z`).
 */
export function goTimeJson(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d*?)0*Z$/, (_all, fraction: string) => (fraction === '' ? 'Z' : `.${fraction}Z`));
}

/**
 * A time (ms since the epoch) in this machine's zone as time.RFC3339Nano formats a `t.Local()`: what buildx's
 * `history inspect` writes its times in (`2023-11-14T23:13:20.12+01:00`, or `…Z` where the zone is UTC).
 */
export function goLocalTimeJson(ms: number): string {
  const offset = -new Date(ms).getTimezoneOffset();
  const shifted = goTimeJson(ms + offset * 60_000).slice(0, -1);
  if (offset === 0) return `${shifted}Z`;
  const abs = Math.abs(offset);
  return `${shifted}${offset < 0 ? '-' : '+'}${String(Math.trunc(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** A time (ms since the epoch, UTC) as Go's time.RFC3339 layout formats it: whole seconds, `Z`. */
export function goRfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Go's strconv.ParseBool, which buildx and pflag read booleans with; undefined for anything else. */
export function parseGoBool(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}
