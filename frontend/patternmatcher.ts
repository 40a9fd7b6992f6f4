import { cleanPath } from './clean-path.js';
import { UserError } from '../common/index.js';
import { linearMatch, type GlobToken } from './linear-match.js';

// A port of github.com/moby/patternmatcher (patternmatcher.go, v0.6): the matcher docker, BuildKit and buildx use for
// .dockerignore and COPY --exclude. Written here rather than taken from npm because the package we used
// (@balena/dockerignore) matches case-insensitively unless told otherwise, has had no release since 2020, and differs
// from moby on `**` and parent-directory rules; this file follows moby line by line (Linux: `/` is the separator) and
// is proven on moby's own test table (patternmatcher.test.ts). One matcher serves the cache key and the copy.

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

/** Characters that are special in a regexp but plain in filepath.Match (moby's shouldEscape). */
const ESCAPE = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/** One cleaned pattern, compiled as moby compiles it. */
class Pattern {
  readonly cleaned: string;
  readonly exclusion: boolean;
  readonly #type: MatchType;
  readonly #regexp: RegExp | undefined;
  /** The RegExp as linearMatch tokens when its backtracking could run away (a chain of `**` or `*a*a*b`). */
  readonly #tokens: GlobToken[] | undefined;
  /** How many single-character tokens come before the first repeating one and after the last. */
  readonly #ends = { head: 0, tail: 0 };
  /** The longest run of plain characters the pattern holds: a path without it cannot match. */
  readonly #needle: string = '';
  /** The plain characters the pattern starts and ends with: a path that lacks either cannot match. */
  readonly #plain = { head: '', tail: '' };

  constructor(cleaned: string, exclusion: boolean) {
    this.cleaned = cleaned;
    this.exclusion = exclusion;
    const { type, source } = compile(cleaned);
    this.#type = type;
    if (type === 'regexp') {
      try {
        this.#regexp = new RegExp(source);
      } catch {
        throw new UserError('INVALID_ARGUMENT', `invalid pattern ${JSON.stringify(cleaned)}: syntax error in pattern`, 'check the brackets and escapes (filepath.Match syntax)');
      }
      // Most paths fail a `node_modules/*` or `*.log` on their first or last characters, before the RegExp runs.
      // Each character outside `*?[]\^` stands for itself in compile()'s RegExp, with two exceptions: the one after a
      // `\` (moby hands `\d` to the regexp as a class), so a pattern with an escape has no prefilter; and the `/` of a
      // `**/`, which belongs to its optional group (`id**/rsa` matches `idrsa`).
      const meta = /[*?[\]\\^]/;
      const first = cleaned.search(meta);
      let last = cleaned.length;
      while (last > 0 && !meta.test(cleaned[last - 1] ?? '')) last--;
      if (cleaned.slice(last - 2, last + 1) === '**/') last++;
      if (first !== -1 && !cleaned.includes('\\')) this.#plain = { head: cleaned.slice(0, first), tail: cleaned.slice(last) };
      const tokens = globTokens(cleaned);
      // The RegExp stays for the everyday shapes (`**/*.ts`, `dir/**`, `*a*`): with at most one `**/` and two
      // repeats it backtracks over one name or one split of the path at a time. Three repeats, or two `**/`
      // (`**/a/**/b` over 2,000 directories), take the simulation.
      if (tokens !== undefined && runaway(tokens, cleaned.endsWith('**'))) {
        this.#tokens = tokens;
        const fixed = requiredChars(tokens);
        const head = fixed.indexOf(false);
        this.#ends = { head, tail: tokens.length - 1 - fixed.lastIndexOf(false) };
        this.#needle = longestLiteral(tokens, fixed);
      }
    }
  }

  match(path: string): boolean {
    switch (this.#type) {
      case 'exact': return path === this.cleaned;
      case 'prefix': return path.startsWith(this.cleaned.slice(0, -2));          // strip the trailing **
      case 'suffix': {
        const suffix = this.cleaned.slice(2);                                      // strip the leading **
        if (path.endsWith(suffix)) return true;
        return suffix.startsWith('/') && path === suffix.slice(1);                 // **/foo matches "foo"
      }
      case 'regexp': {
        const tokens = this.#tokens;
        if (!path.startsWith(this.#plain.head) || !path.endsWith(this.#plain.tail)) return false;
        if (tokens === undefined) return this.#regexp?.test(path) ?? false;
        // The single characters before the first repeat and after the last must match the path's ends (`**/*.log`
        // needs `.log` at its end): most paths are told apart here, before any simulation.
        const { head, tail } = this.#ends;
        if (path.length < head + tail || !path.includes(this.#needle)) return false;
        for (let i = 0; i < head; i++) if (!oneTest(tokens[i], path[i] ?? '')) return false;
        for (let i = 1; i <= tail; i++) if (!oneTest(tokens[tokens.length - i], path[path.length - i] ?? '')) return false;
        // A string reads by UTF-16 code units, as the RegExp without the u flag does.
        return linearMatch(tokens, path, 0, { anchored: true })?.end === path.length;
      }
    }
  }
}

/** moby's Pattern.compile: the pattern as an exact, prefix or suffix match when it can be, else a regexp. */
export function compile(pattern: string): { type: MatchType; source: string } {
  let re = '^';
  let type: MatchType = 'exact';
  const chars = [...pattern];
  for (let i = 0, n = 0; i < chars.length; i++, n++) {
    const ch = chars[i] ?? '';
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;                                              // treat **/ as **
        if (i + 1 >= chars.length) {
          // "**" at the end: accept everything below, as .gitignore does.
          if (type === 'exact') type = 'prefix';
          else { re += '.*'; type = 'regexp'; }
        } else {
          re += '(.*/)?';                                                           // any number of directories, even 0
          type = 'regexp';
        }
        if (n === 0) type = 'suffix';
      } else {
        re += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      type = 'regexp';
    } else if (ESCAPE.has(ch)) {
      re += `\\${ch}`;
    } else if (ch === '\\') {
      // Escapes the next character; a trailing \ stays a literal backslash.
      if (i + 1 < chars.length) { i++; re += `\\${chars[i] ?? ''}`; type = 'regexp'; } else re += '\\\\';
    } else if (ch === '[' || ch === ']') {
      re += ch;
      type = 'regexp';
    } else {
      re += ch;
    }
  }
  if (type === 'regexp') re += '$';
  return { type, source: re };
}

// True when a backtracking RegExp of these tokens could run away: three or more repeating parts (a `**/` group
// counts once; a `**` at the very end takes the rest of the path and never backtracks, so it does not count), or two
// `**/` groups.
function runaway(tokens: GlobToken[], endsWithAll: boolean): boolean {
  let repeats = 0;
  let groups = 0;
  const last = endsWithAll && tokens.at(-1)?.kind === 'many' ? tokens.length - 1 : tokens.length;
  for (let i = 0; i < last; i++) {
    const t = tokens[i];
    if (t?.kind === 'optional') {
      repeats++;
      groups++;
      i = t.to - 1;
    } else if (t?.kind === 'many') {
      repeats++;
    }
  }
  return repeats >= 3 || groups >= 2;
}

// For each token, true when it is one character every match has at that place: a `one` outside every optional
// `**/` group. The `/` inside a group is not one (`**/**/a` matches `a`).
function requiredChars(tokens: GlobToken[]): boolean[] {
  const out = tokens.map((t) => t.kind === 'one');
  tokens.forEach((t, i) => { if (t.kind === 'optional') for (let j = i; j < t.to && j < out.length; j++) out[j] = false; });
  return out;
}

function longestLiteral(tokens: GlobToken[], required: boolean[]): string {
  let best = '';
  let run = '';
  tokens.forEach((t, i) => {
    run = required[i] === true && t.kind === 'one' && t.lit !== undefined ? run + t.lit : '';
    if (run.length > best.length) best = run;
  });
  return best;
}

function oneTest(t: GlobToken | undefined, c: string): boolean {
  return t?.kind === 'one' && t.test(c);
}

/** What `.` matches in a RegExp without the `s` flag. */
const dot = (c: string): boolean => c !== '\n' && c !== '\r' && c !== '\u2028' && c !== '\u2029';
const notSlash = (c: string): boolean => c !== '/';

/**
 * compile()'s RegExp as linearMatch tokens (the same loop), or undefined for the rare shapes kept as a RegExp: a
 * `^` outside brackets, an escaped letter or digit (`\d`, `\b`), a bracket expression that is not one plain class.
 */
function globTokens(pattern: string): GlobToken[] | undefined {
  const tokens: GlobToken[] = [];
  const chars = pattern.split('');   // UTF-16 code units, as the RegExp without the u flag reads them
  const lit = (ch: string): GlobToken => ({ kind: 'one', test: (c) => c === ch, lit: ch });
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] ?? '';
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        if (i + 1 >= chars.length) tokens.push({ kind: 'many', test: dot });
        else tokens.push({ kind: 'optional', to: tokens.length + 3 }, { kind: 'many', test: dot }, lit('/'));
      } else {
        tokens.push({ kind: 'many', test: notSlash });
      }
    } else if (ch === '?') {
      tokens.push({ kind: 'one', test: notSlash });
    } else if (ch === '\\') {
      if (i + 1 >= chars.length) { tokens.push(lit('\\')); continue; }
      const next = chars[++i] ?? '';
      if (/[\p{L}\p{N}_]/u.test(next)) return undefined;
      tokens.push(lit(next));
    } else if (ch === '[') {
      const close = chars.indexOf(']', i + 1);
      const body = chars.slice(i + 1, close).join('');
      if (close === -1 || body === '' || body === '^' || body.includes('\\') || body.includes('[')) return undefined;
      const re = new RegExp(`^[${body}]$`);
      tokens.push({ kind: 'one', test: (c) => re.test(c) });
      i = close;
    } else if (ch === '^' || ch === ']') {
      return undefined;
    } else {
      tokens.push(lit(ch));
    }
  }
  return tokens;
}

/** What #dirHits may keep, in bytes (one per pattern and directory). */
const DIR_HITS_BYTES = 16 * 1024 * 1024;

/** Go's filepath.Dir on a slash path. */
function goDir(path: string): string {
  const i = path.lastIndexOf('/');
  return cleanPath(path.slice(0, i + 1));
}

/**
 * .dockerignore / COPY --exclude patterns with moby's semantics: case-sensitive, later patterns win, `!` re-includes,
 * `**` spans directories, and a pattern that matches a directory excludes everything below it.
 */
export class PatternMatcher {
  readonly #patterns: Pattern[] = [];
  /** The `!` patterns as plain paths, or undefined when one holds a wildcard (see mayReincludeBelow). */
  readonly #reincluded: string[] | undefined;
  /** #dirHits' answers by directory. */
  readonly #dirs = new Map<string, Uint8Array>();
  /** True when some pattern is an exclusion (`!…`): an excluded directory may then still hold included files. */
  readonly hasExclusions: boolean;

  constructor(patterns: readonly string[]) {
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === '') continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw new UserError('INVALID_ARGUMENT', 'illegal exclusion pattern: "!"', 'write !PATH to re-include PATH');
        exclusion = true;
        p = p.slice(1);
      }
      this.#patterns.push(new Pattern(p, exclusion));
    }
    this.hasExclusions = this.#patterns.some((p) => p.exclusion);
    const reincluded = this.#patterns.filter((p) => p.exclusion).map((p) => p.cleaned.replace(/\/\*\*$/, '').replace(/\/\*$/, ''));
    this.#reincluded = reincluded.some((p) => /[*?[\]^\\]/.test(p)) ? undefined : reincluded;
  }

  /**
   * False when no `!` pattern can re-include anything below the excluded directory `dir`, so a walk need not enter
   * it: every `!` pattern is a plain path (a trailing `/*` or `/**` aside) outside `dir`. fsutil's walker skips such a
   * directory the same way (onlyPrefixExcludeExceptions): `node_modules` with `*.md` and `!README.md` is not entered.
   */
  mayReincludeBelow(dir: string): boolean {
    if (!this.hasExclusions) return false;
    if (this.#reincluded === undefined) return true;
    const below = `${dir}/`;
    return this.#reincluded.some((p) => `${p}/`.startsWith(below));
  }

  /** True when there are no patterns. */
  get isEmpty(): boolean { return this.#patterns.length === 0; }

  /** The cleaned patterns, `!` kept. */
  get patterns(): string[] { return this.#patterns.map((p) => (p.exclusion ? `!${p.cleaned}` : p.cleaned)); }

  /**
   * moby's MatchesOrParentMatches: true when `file` (a slash path, used as given) or one of its parent directories
   * matches a pattern and no later exclusion re-includes it.
   */
  matchesOrParentMatches(file: string): boolean {
    let matched = false;
    const parent = goDir(file);
    const parentHits = parent === '.' ? undefined : this.#dirHits(parent);
    const patterns = this.#patterns;
    for (let i = 0; i < patterns.length; i++) {
      const pattern = patterns[i] as Pattern;
      // An inclusion cannot change a match, nor an exclusion a non-match: skip them.
      if (pattern.exclusion !== matched) continue;
      if (parentHits?.[i] === 1 || pattern.match(file)) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * For each pattern, 1 when it matches `dir` or one of its parents (the prefixes moby's MatchesOrParentMatches tries:
   * `a`, `a/b`, `a/b/c`). Kept per directory, as BuildKit's walker keeps MatchesUsingParentResults' answers on its
   * stack: every file of a directory shares them, and a directory's answers extend its parent's by one match. Without
   * this, each file re-matched every prefix of its path against every pattern: a 1,000-line .dockerignore over 4,000
   * files twelve directories deep took 45 s of CPU per no-op build.
   */
  #dirHits(dir: string): Uint8Array {
    const known = this.#dirs.get(dir);
    if (known !== undefined) return known;
    const slash = dir.lastIndexOf('/');
    const hits = slash === -1 ? new Uint8Array(this.#patterns.length) : this.#dirHits(dir.slice(0, slash)).slice();
    this.#patterns.forEach((pattern, i) => { if (hits[i] === 0 && pattern.match(dir)) hits[i] = 1; });
    // Bounded at ~16 MB whatever the context: walks go depth first, so a cleared cache refills with the current chain.
    if (this.#dirs.size * this.#patterns.length >= DIR_HITS_BYTES) this.#dirs.clear();
    this.#dirs.set(dir, hits);
    return hits;
  }

  /** True when a context-relative path is excluded; the path is cleaned first and the context root never is. */
  excludes(path: string): boolean {
    const p = cleanPath(path);
    if (p === '.') return false;
    return this.matchesOrParentMatches(p);
  }

  /**
   * True when the directory `dir` is excluded with everything below it: no `!` pattern can keep anything inside, so
   * nothing under it is in the build context and a walk need not enter it.
   */
  excludesWhole(dir: string): boolean {
    return this.excludes(dir) && !this.mayReincludeBelow(dir);
  }

  /** The last inclusion pattern that on its own excludes `path`, for an error hint. */
  culprit(path: string): { pattern: string; index: number } | undefined {
    let found: { pattern: string; index: number } | undefined;
    this.#patterns.forEach((pattern, index) => {
      if (!pattern.exclusion && new PatternMatcher([pattern.cleaned]).excludes(path)) found = { pattern: pattern.cleaned, index };
    });
    return found;
  }
}
