import { RE2JS, RE2JSException, type Matcher } from 're2js';

// Go's regexp package as the bake functions need it (buildx evaluates `regex`, `regexall` and `regex_replace` with
// go-cty, which calls regexp.Compile, FindStringSubmatchIndex, FindAllStringSubmatchIndex and ReplaceAllString).
// The engine is re2js, a port of RE2/J: the RE2 syntax Go accepts ((?P<name>…), (?U), \A, \z, [[:alpha:]], \Q…\E,
// \pL, flags mid-pattern) and the errors it gives for what Go refuses (backreferences, lookaround), in time linear in
// the input. JavaScript's RegExp backtracks: `(a+)+$` against 30 "a"s and a "!" ran for minutes, and a bake file
// comes from the repository being built. What re2js leaves to its caller is done here as Go does it: where the next
// search starts after an empty match, and how a replacement's `$1`/`${name}` expand.

/**
 * One match as Go's …SubmatchIndex gives it: [start, end] of the whole match, then of each group (-1, -1 for a group
 * that took no part). Offsets are UTF-16 code units into the searched string.
 */
export type MatchIndex = number[];

/** A pattern Go's regexp.Compile refuses; `description` is Go's own text, e.g. "invalid escape sequence: `\1`". */
export class RegexpSyntaxError extends Error {
  constructor(readonly pattern: string, readonly description: string) {
    super(`invalid regexp ${JSON.stringify(pattern)}: ${description}`);
  }
}

/** A compiled Go (RE2) regular expression. */
export class GoRegexp {
  readonly #re: RE2JS;
  /** Go's SubexpNames: index 0 is the whole match, then each group's name ('' when unnamed). */
  readonly subexpNames: readonly string[];

  constructor(pattern: string) {
    let renamed = new Map<string, string>();
    try {
      this.#re = compile(pattern);
    } catch (err) {
      // Go accepts a group name used twice ((?P<a>.)(?P<a>.)), re2js does not: each repeat gets a fresh name for
      // re2js, and subexpNames keeps the real one.
      if (!(err instanceof RegexpSyntaxError && err.description.startsWith('duplicate capture group name'))) throw err;
      const unique = uniqueGroupNames(pattern);
      renamed = unique.renamed;
      this.#re = compile(unique.pattern);
    }
    const names: string[] = Array.from({ length: this.#re.groupCount() + 1 }, () => '');
    for (const [name, i] of Object.entries(this.#re.namedGroups())) names[i] = renamed.get(name) ?? name;
    this.subexpNames = names;
  }

  /** The leftmost-first match, as Go's FindStringSubmatchIndex; undefined when there is none. */
  find(s: string): MatchIndex | undefined {
    const m = this.#re.matcher(s);
    return m.find(0) ? this.#indexOf(m) : undefined;
  }

  /**
   * Every successive match, as Go's FindAllStringSubmatchIndex(s, -1): after an empty match the search moves on one
   * character, and an empty match right where the previous match ended is skipped (Go's allMatches), so `a*` in
   * "baaac" gives "", "aaa", "" where JavaScript's matchAll gives a fourth. No more than `max` are looked for.
   */
  findAll(s: string, max = Infinity): MatchIndex[] {
    const m = this.#re.matcher(s);
    const out: MatchIndex[] = [];
    let prevEnd = -1;
    for (let pos = 0; pos <= s.length && out.length < max && m.find(pos);) {
      const idx = this.#indexOf(m);
      const [start = 0, end = 0] = idx;
      let accept = true;
      if (end === pos) {
        accept = start !== prevEnd;
        pos += charWidth(s, pos) || 1;
      } else {
        pos = end;
      }
      prevEnd = end;
      if (accept) out.push(idx);
    }
    return out;
  }

  /**
   * Go's ReplaceAllString: every match replaced by `template` with `$1`, `${1}`, `$name`, `${name}` and `$$`
   * expanded (expand below), except an empty match right after the previous match (Go replaces it only at 0).
   * Undefined when the result would be longer than `maxLength`: it stops there.
   */
  replaceAll(s: string, template: string, maxLength = Infinity): string | undefined {
    const m = this.#re.matcher(s);
    let out = '';
    let lastEnd = 0;
    for (let pos = 0; pos <= s.length && m.find(pos);) {
      if (out.length > maxLength) return undefined;
      const idx = this.#indexOf(m);
      const [start = 0, end = 0] = idx;
      out += s.slice(lastEnd, start);
      if (end > lastEnd || start === 0) out += this.#expand(template, s, idx);
      lastEnd = end;
      // Always advance at least one character (Go's replaceAll).
      const width = charWidth(s, pos);
      pos = pos + width > end ? pos + width : pos + 1 > end ? pos + 1 : end;
    }
    return out + s.slice(lastEnd);
  }

  #indexOf(m: Matcher): MatchIndex {
    const idx: MatchIndex = [];
    for (let g = 0; g < this.subexpNames.length; g++) idx.push(m.start(g), m.end(g));
    return idx;
  }

  /**
   * Go's Regexp.Expand: `$` then a name (the longest run of letters, digits and `_`, or one in braces) is the group
   * of that number or name, empty when there is none or it did not match, so `$1x` is the group named "1x" and
   * empty: write `${1}x`. `$$` is a `$`; a `$` followed by no name stays as it is.
   */
  #expand(template: string, s: string, idx: MatchIndex): string {
    let out = '';
    let rest = template;
    for (let at = rest.indexOf('$'); at >= 0; at = rest.indexOf('$')) {
      out += rest.slice(0, at);
      rest = rest.slice(at + 1);
      if (rest.startsWith('$')) {
        out += '$';
        rest = rest.slice(1);
        continue;
      }
      const ref = /^(?:\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+))/u.exec(rest);
      const name = ref?.[1] ?? ref?.[2];
      if (!ref || name === undefined) {
        out += '$';
        continue;
      }
      rest = rest.slice(ref[0].length);
      const num = groupNumber(name);
      const g = num >= 0 ? num : this.subexpNames.findIndex((n, i) => i > 0 && n === name && (idx[2 * i] ?? -1) >= 0);
      const start = idx[2 * g] ?? -1;
      if (g >= 0 && start >= 0) out += s.slice(start, idx[2 * g + 1]);
    }
    return out + rest;
  }
}

function compile(pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (err) {
    // re2js's messages are Go's: "error parsing regexp: <code>: `<expr>`".
    if (err instanceof RE2JSException) throw new RegexpSyntaxError(pattern, err.message.replace(/^error parsing regexp: /, ''));
    throw err;
  }
}

/**
 * The pattern with every repeat of a group name replaced by a name used nowhere in it, and what each new name stands
 * for. Group names sit in `(?P<name>` or `(?<name>` outside escapes, `\Q…\E` and character classes.
 */
function uniqueGroupNames(pattern: string): { pattern: string; renamed: Map<string, string> } {
  const groups: { at: number; name: string }[] = [];
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i];
    if (pattern.startsWith('\\Q', i)) {
      const end = pattern.indexOf('\\E', i + 2);
      i = end < 0 ? pattern.length : end + 2;
    } else if (c === '\\') {
      i += 2;
    } else if (c === '[') {
      i = classEnd(pattern, i);
    } else {
      const m = c === '(' ? /^\(\?P?<([A-Za-z0-9_]+)>/.exec(pattern.slice(i)) : null;
      if (m?.[1] !== undefined) groups.push({ at: i + m[0].length - 1 - m[1].length, name: m[1] });
      i += m ? m[0].length : 1;
    }
  }
  const used = new Set(groups.map((g) => g.name));
  const seen = new Set<string>();
  const renamed = new Map<string, string>();
  let out = '';
  let last = 0;
  for (const { at, name } of groups) {
    if (!seen.has(name)) {
      seen.add(name);
      continue;
    }
    let fresh = name;
    for (let k = 2; used.has(fresh); k++) fresh = `${name}_${k}`;
    used.add(fresh);
    renamed.set(fresh, name);
    out += pattern.slice(last, at) + fresh;
    last = at + name.length;
  }
  return { pattern: out + pattern.slice(last), renamed };
}

/** Where the character class opening at `start` ends (after its `]`), as Go's parseClass reads one. */
function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;  // a `]` first in the class is a literal
  while (i < pattern.length && pattern[i] !== ']') {
    if (pattern[i] === '\\') i += 2;
    else if (pattern.startsWith('[:', i) && pattern.indexOf(':]', i + 2) >= 0) i = pattern.indexOf(':]', i + 2) + 2;
    else i++;
  }
  return i + 1;
}

/** A template name as a group number the way Go's extract reads it: ASCII digits, no leading zero; else -1. */
function groupNumber(name: string): number {
  if (!/^[0-9]+$/.test(name) || (name.length > 1 && name.startsWith('0'))) return -1;
  let num = 0;
  for (const c of name) {
    if (num >= 1e8) return -1;
    num = num * 10 + Number(c);
  }
  return num;
}

/** How far one character (a code point, as Go steps one rune) reaches from `pos`; 0 at the end. */
function charWidth(s: string, pos: number): number {
  if (pos >= s.length) return 0;
  const c = s.codePointAt(pos) ?? 0;
  return c > 0xffff ? 2 : 1;
}
