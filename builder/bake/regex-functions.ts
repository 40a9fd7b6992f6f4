import { GoRegexp, RegexpSyntaxError, type MatchIndex } from './go-regexp.js';
import { bytesLeft, listBytes, spendBytes, stringBytes } from './eval-budget.js';
import { ValueError, type Value } from './value.js';

// regex, regexall and regex_replace as buildx's stdlib has them (bake/hclparser/stdlib.go takes all three from
// go-cty's function/stdlib: regexp.go and string_replace.go), on Go's regexp semantics (go-regexp.ts).

const SYNTAX_HINT = 'bake patterns are Go regular expressions (RE2 syntax: https://github.com/google/re2/wiki/Syntax), which have no backreferences, lookahead or lookbehind';

/** What a match becomes, decided by the pattern's groups as go-cty's regexPatternResultType does. */
type Shape = 'string' | 'list' | 'object';

/** The first match: the matched text, a list of the groups, or an object of the named groups; an error if none. */
export function regex(pattern: string, s: string): Value {
  const re = compile('regex', pattern);
  const shape = shapeOf('regex', pattern, re);
  const idx = re.find(s);
  if (!idx) throw new ValueError(`regex(): the pattern ${JSON.stringify(pattern)} did not match any part of the given string`, 'to test for a match, use length(regexall(pattern, string)) > 0');
  return resultOf(shape, re, s, idx);
}

/** Every non-overlapping match, each as regex() gives it; an empty list when there is none. */
export function regexAll(pattern: string, s: string): Value[] {
  const re = compile('regexall', pattern);
  const shape = shapeOf('regexall', pattern, re);
  // A match is a string, or a list or map of one per group: a pattern of many groups matching at every character
  // makes far more than the string it searched. Only as many matches as the budget holds are looked for.
  const perMatch = listBytes(1) + (shape === 'string' ? stringBytes('') : listBytes(re.subexpNames.length) + re.subexpNames.length * stringBytes(''));
  const max = Math.floor(bytesLeft() / perMatch);
  const found = re.findAll(s, max + 1);
  spendBytes(found.length * perMatch, `regexall()'s ${found.length > max ? 'more than ' : ''}${found.length} matches`);
  return found.map((idx) => resultOf(shape, re, s, idx));
}

/** `s` with every match replaced, `$1`/`${name}` expanded as Go's Regexp.ReplaceAllString does. */
export function regexReplace(s: string, pattern: string, replacement: string): string {
  const out = compile('regex_replace', pattern).replaceAll(s, replacement, bytesLeft());
  if (out === undefined) spendBytes(Infinity, 'regex_replace()');
  return out ?? '';
}

function compile(fn: string, pattern: string): GoRegexp {
  try {
    return new GoRegexp(pattern);
  } catch (err) {
    if (err instanceof RegexpSyntaxError) throw new ValueError(`${fn}(): Invalid regular expression ${JSON.stringify(pattern)}: ${err.description}`, SYNTAX_HINT);
    throw err;
  }
}

function shapeOf(fn: string, pattern: string, re: GoRegexp): Shape {
  const names = re.subexpNames.slice(1);
  const named = names.filter((n) => n !== '').length;
  if (named > 0 && named < names.length) {
    throw new ValueError(`${fn}(): invalid regexp pattern ${JSON.stringify(pattern)}: cannot mix both named and unnamed capture groups`, 'name every group or none; (?:…) groups a part without capturing it');
  }
  return names.length === 0 ? 'string' : named > 0 ? 'object' : 'list';
}

/** A group that took no part in the match (inside an alternative or optional group that did not match) is null. */
function resultOf(shape: Shape, re: GoRegexp, s: string, idx: MatchIndex): Value {
  const group = (g: number): string | null => {
    const start = idx[2 * g] ?? -1;
    return start < 0 ? null : s.slice(start, idx[2 * g + 1]);
  };
  switch (shape) {
    case 'string': return group(0);
    case 'list': return re.subexpNames.slice(1).map((_, i) => group(i + 1));
    case 'object': {
      // Keys in order, as a cty object's attributes are; a name used twice is one key holding the last such group,
      // as go-cty fills its object.
      const byName = new Map<string, string | null>();
      re.subexpNames.forEach((name, g) => { if (g > 0) byName.set(name, group(g)); });
      return Object.fromEntries([...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
  }
}
