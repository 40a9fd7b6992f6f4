// Character classes of Go's unicode package, with an ASCII fast path: the lexers call these once per character.

/**
 * unicode.IsSpace of one UTF-16 code unit: Unicode's White_Space property (JavaScript's \s differs: it has U+FEFF,
 * lacks U+0085). Every White_Space character is in the BMP, so a code unit decides it, and no regex runs: V8
 * interprets a regex until it is hot, and the \p{White_Space} trims of every Dockerfile line were ~2 % of a no-op
 * build's CPU (--cpu-prof).
 */
export function isSpaceCode(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029
    || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** unicode.IsSpace of the character `ch`. */
export function isSpace(ch: string): boolean {
  return isSpaceCode(ch.charCodeAt(0));
}

/** strings.TrimSpace. */
export function trimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isSpaceCode(s.charCodeAt(start))) start++;
  while (end > start && isSpaceCode(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** strings.TrimLeftFunc(s, unicode.IsSpace). */
export function trimLeftSpace(s: string): string {
  let start = 0;
  while (start < s.length && isSpaceCode(s.charCodeAt(start))) start++;
  return start === 0 ? s : s.slice(start);
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
