import { linearMatch, repeatCount, type GlobToken } from '../linear-match.js';
import { ShellSyntaxError } from './shell-syntax-error.js';

// Shell patterns in ${v#pat}, ${v%pat} and ${v/pat/repl}: `?` is one character, `*` any run, `\` escapes; no bracket
// expressions. Converted to a regular expression as BuildKit's convertShellPatternToRegex does.

/** Compiles a shell pattern; `greedy` picks the longest `*` match, `anchored` matches only at the start. */
export function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  const star = greedy ? '.*' : '.*?';
  for (let i = 0; i < chars.length; i++) {
    const tok = chars[i] ?? '';
    if (tok === '*') out += star;
    else if (tok === '?') out += '.';
    else if (tok === '\\') {
      const next = chars[i + 1];
      // `}` and `/` are escaped only to get them past the ${} parser; the escape is not part of the pattern.
      if (next === '}' || next === '/') continue;
      if (next !== '*' && next !== '?' && next !== '\\') throw new ShellSyntaxError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${next ?? ''}'`);
      out += '\\' + next;
      i++;
    } else if ('[]{}.+()|^$/'.includes(tok)) out += '\\' + tok;
    else out += tok;
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

/** What `.` matches in a RegExp without the `s` flag: any character but a line terminator. */
const dot = (c: string): boolean => c !== '\n' && c !== '\r' && c !== '\u2028' && c !== '\u2029';

/** The same pattern as tokens for linearMatch (the RegExp above, as code points). */
function shellPatternTokens(pattern: string): GlobToken[] {
  shellPatternToRegex(pattern, true, false);   // the same syntax errors
  const chars = Array.from(pattern);
  const tokens: GlobToken[] = [];
  for (let i = 0; i < chars.length; i++) {
    const tok = chars[i] ?? '';
    if (tok === '*') tokens.push({ kind: 'many', test: dot });
    else if (tok === '?') tokens.push({ kind: 'one', test: dot });
    else if (tok === '\\' && (chars[i + 1] === '}' || chars[i + 1] === '/')) continue;
    else {
      const lit = tok === '\\' ? (chars[++i] ?? '') : tok;
      tokens.push({ kind: 'one', test: (c) => c === lit });
    }
  }
  return tokens;
}

/**
 * Finds the first match of a shell pattern in `value` at or after a UTF-16 offset (greedy: the longest from there).
 * A pattern with two or more `*` runs through linearMatch: backtracking on `*x*x*x*y` never ends.
 */
function shellMatcher(pattern: string, value: string, greedy: boolean, anchored: boolean): (from: number) => { index: number; length: number } | undefined {
  const tokens = shellPatternTokens(pattern);
  if (repeatCount(tokens) < 2) {
    const re = shellPatternToRegex(pattern, greedy, anchored, true);
    return (from) => {
      re.lastIndex = from;
      const m = re.exec(value);
      return m === null ? undefined : { index: m.index, length: m[0].length };
    };
  }
  const chars = Array.from(value);
  const offsets = [0];
  for (const c of chars) offsets.push((offsets.at(-1) ?? 0) + c.length);
  return (from) => {
    let lo = 0;
    let hi = offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((offsets[mid] ?? 0) < from) lo = mid + 1;
      else hi = mid;
    }
    const at = lo;
    if (offsets[at] !== from) return undefined;
    const m = linearMatch(tokens, chars, at, { anchored, shortest: !greedy });
    if (m === undefined) return undefined;
    const index = offsets[m.start] ?? 0;
    return { index, length: (offsets[m.end] ?? 0) - index };
  };
}

/** ${value/pattern/replacement} and ${value//pattern/replacement}: the leftmost, longest match(es), replaced. */
export function replaceMatches(pattern: string, value: string, all: boolean, replace: () => string): string {
  const find = shellMatcher(pattern, value, true, false);
  let out = '';
  let pos = 0;
  for (;;) {
    const m = pos <= value.length ? find(pos) : undefined;
    if (m === undefined) return out + value.slice(pos);
    out += value.slice(pos, m.index) + replace();
    if (m.length === 0) {
      // An empty match: keep the next character and look again after it (as String.replace with /g).
      const next = value.codePointAt(m.index);
      const step = next === undefined ? 1 : String.fromCodePoint(next).length;
      out += value.slice(m.index, m.index + step);
      pos = m.index + step;
    } else {
      pos = m.index + m.length;
    }
    if (!all) return out + value.slice(pos);
  }
}

/** ${value#pattern} / ${value##pattern}: removes the shortest (longest when greedy) matching prefix. */
export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellMatcher(pattern, value, greedy, true)(0);
  return m ? value.slice(m.length) : value;
}

/** ${value%pattern} / ${value%%pattern}: reverses both so the rightmost shortest match becomes a leftmost one. */
export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverse(trimPrefix(reversePattern(pattern), reverse(value), greedy));
}

function reverse(s: string): string {
  return Array.from(s).reverse().join('');
}

// Reverses a pattern without breaking its escapes: a\*c → c\*a.
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = new Array<string>(chars.length);
  const last = chars.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = chars[i] ?? '';
    const outIdx = last - i;
    if (tok === '\\' && i !== last) {
      out[outIdx - 1] = tok;
      out[outIdx] = chars[i + 1] ?? '';
      i += 2;
    } else {
      out[outIdx] = tok;
      i++;
    }
  }
  return out.join('');
}
