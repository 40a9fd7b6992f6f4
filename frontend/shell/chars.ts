// Character classes of Go's unicode package, with an ASCII fast path: the lexers call these once per character.

/** unicode.IsSpace: Unicode's White_Space property (JavaScript's \s differs: it has U+FEFF, lacks U+0085). */
export function isSpace(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return /^\p{White_Space}$/u.test(ch);
}

/** strings.TrimSpace. */
export function trimSpace(s: string): string {
  return s.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');
}

/** strings.TrimLeftFunc(s, unicode.IsSpace). */
export function trimLeftSpace(s: string): string {
  return s.replace(/^\p{White_Space}+/u, '');
}

/** unicode.IsDigit. */
export function isDigit(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 128) return c >= 48 && c <= 57;
  return /^\p{Nd}$/u.test(ch);
}

/** A character of a variable name: unicode.IsLetter, unicode.IsDigit or `_`. */
export function isNameChar(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  return /^[\p{L}\p{Nd}]$/u.test(ch);
}
