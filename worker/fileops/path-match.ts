import { CopyError } from './errors.js';

// Go's path/filepath.Match on one path segment: `*` any run of characters, `?` one character, `[...]` a class with
// ranges and `^` negation, `\` escapes. There is no special case for a leading dot (unlike shells), as in Go.
// Reference: https://pkg.go.dev/path/filepath#Match

const cache = new Map<string, RegExp>();

/** True when `segment` has an unescaped wildcard character, i.e. must be matched rather than looked up. */
export function hasWildcard(segment: string): boolean {
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

/** Removes the escaping backslashes of a segment without wildcards, giving the literal file name. */
export function unescapeSegment(segment: string): string {
  return segment.replace(/\\(.)/g, '$1');
}

/** Go filepath.Match for a single segment (no `/` in either argument); throws INVALID_ARGUMENT on a bad pattern. */
export function matchSegment(pattern: string, name: string): boolean {
  let re = cache.get(pattern);
  if (re === undefined) {
    re = compile(pattern);
    cache.set(pattern, re);
  }
  return re.test(name);
}

function compile(pattern: string): RegExp {
  let out = '';
  let i = 0;
  const bad = (): never => {
    throw new CopyError('INVALID_ARGUMENT', `syntax error in pattern ${JSON.stringify(pattern)}`, 'wildcards follow Go filepath.Match: *, ?, [a-z], [^a-z], \\ to escape');
  };
  while (i < pattern.length) {
    const c = pattern[i] ?? '';
    if (c === '*') { out += '[^/]*'; i++; }
    else if (c === '?') { out += '[^/]'; i++; }
    else if (c === '\\') {
      if (i + 1 >= pattern.length) bad();
      out += escapeRe(pattern[i + 1] ?? ''); i += 2;
    } else if (c === '[') {
      i++;
      let cls = '';
      if (pattern[i] === '^') { cls += '^'; i++; }
      let first = true;
      for (;;) {
        if (i >= pattern.length) bad();
        if (pattern[i] === ']' && !first) { i++; break; }
        first = false;
        const [lo, next] = classChar(pattern, i, bad);
        i = next;
        if (pattern[i] === '-') {
          const [hi, after] = classChar(pattern, i + 1, bad);
          if (hi < lo) bad();
          cls += `${escapeClass(lo)}-${escapeClass(hi)}`;
          i = after;
        } else cls += escapeClass(lo);
      }
      out += `[${cls}]`;
    } else { out += escapeRe(c); i++; }
  }
  return new RegExp(`^${out}$`, 'su');
}

function classChar(pattern: string, i: number, bad: () => never): [string, number] {
  const c = pattern[i];
  if (c === undefined || c === '-' || c === ']') return bad();
  if (c === '\\') {
    const e = pattern[i + 1];
    if (e === undefined) return bad();
    return [e, i + 2];
  }
  return [c, i + 1];
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function escapeClass(c: string): string {
  return c.replace(/[\\\]^-]/g, '\\$&');
}
