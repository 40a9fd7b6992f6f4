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

/** ${value#pattern} / ${value##pattern}: removes the shortest (longest when greedy) matching prefix. */
export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegex(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
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
