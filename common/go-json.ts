// JSON as Go's encoding/json writes it, for the files and outputs buildx users compare byte for byte (the metadata
// file, `--call=… ,format=json`): json.MarshalIndent(v, "", "  ") escapes `<`, `>`, `&`, U+2028 and U+2029 inside
// strings, which JSON.stringify leaves as they are. Key order is the caller's (Go sorts map keys and keeps struct order).

/** `value` as json.MarshalIndent(value, "", "  ") writes it (no trailing newline). */
export function goJson(value: unknown): string {
  // Only strings can hold these characters in JSON text, so replacing them everywhere escapes exactly those.
  return JSON.stringify(value, null, 2).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
