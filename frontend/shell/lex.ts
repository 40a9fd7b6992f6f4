import { replaceMatches, trimPrefix, trimSuffix } from './pattern.js';
import { isDigit, isNameChar } from './chars.js';
import { ShellSyntaxError } from './shell-syntax-error.js';
import { Words } from './words.js';

// A port of BuildKit's Dockerfile shell lexer (moby/buildkit frontend/dockerfile/shell/lex.go): the word expansion
// Docker applies to ENV, COPY, WORKDIR … arguments. It is deliberately not a POSIX shell: no command substitution,
// no field splitting of unquoted expansions inside a single word, and only the ${} modifiers BuildKit supports.

/** Variable lookup used during expansion; `undefined` means unset (as opposed to set to ''). */
export type EnvLookup = (name: string) => string | undefined;

/** Lexer switches, named as in BuildKit's shell.Lex. */
export interface LexOptions {
  escapeToken?: '\\' | '`';
  /** Keep quote characters in the output (used to detect quoted heredoc delimiters). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters (heredoc bodies). */
  skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written instead of expanding them to ''. */
  skipUnsetEnv?: boolean;
}

/** What one expansion produced and which variable names it looked up. */
export interface ExpandResult {
  result: string;
  words: string[];
  matched: Set<string>;
  unmatched: Set<string>;
}

export { ShellSyntaxError };

const EOF = -1;

/** How deeply `${a:-${b:-…}}` and quotes may nest: far beyond any real Dockerfile, well within the call stack. */
export const MAX_EXPANSION_DEPTH = 100;
/** How much longer than its own text one word may grow by expansion: `ENV a=${a}${a}` forty times is 10 TB. */
export const MAX_EXPANSION_GROWTH = 4 * 1024 * 1024;

/** Expands `word` as one word (quotes removed, variables substituted). */
export function processWord(word: string, env: EnvLookup, opts: LexOptions = {}): ExpandResult {
  // Fast path: without $, quotes, escapes or `<` the lexer would return the word unchanged (most words).
  if (!SPECIAL.test(word)) return { result: word, words: word.split(/\p{White_Space}+/u).filter((w) => w !== ''), matched: new Set(), unmatched: new Set() };
  return new ShellWord(word, env, opts).process();
}

const SPECIAL = /[$'"<\\`]/;

/** Expands `word` and splits the result into whitespace-separated words, as BuildKit's ProcessWords. */
export function processWords(word: string, env: EnvLookup, opts: LexOptions = {}): string[] {
  return new ShellWord(word, env, opts).process().words;
}


class ShellWord {
  readonly #chars: string[];
  #pos = 0;
  readonly #env: EnvLookup;
  readonly #escape: string;
  readonly #opts: LexOptions;
  #rawEscapes: boolean;
  #depth = 0;
  readonly #maxLength: number;
  readonly #matched = new Set<string>();
  readonly #unmatched = new Set<string>();

  constructor(word: string, env: EnvLookup, opts: LexOptions) {
    this.#chars = Array.from(word);
    this.#env = env;
    this.#opts = opts;
    this.#escape = opts.escapeToken ?? '\\';
    this.#rawEscapes = opts.rawEscapes ?? false;
    this.#maxLength = word.length + MAX_EXPANSION_GROWTH;
  }

  process(): ExpandResult {
    const [result, words] = this.#processStopOn(EOF, this.#rawEscapes);
    return { result, words, matched: this.#matched, unmatched: this.#unmatched };
  }

  #peek(): string | typeof EOF {
    return this.#chars[this.#pos] ?? EOF;
  }

  #next(): string | typeof EOF {
    const ch = this.#chars[this.#pos];
    if (ch === undefined) return EOF;
    this.#pos++;
    return ch;
  }

  #processStopOn(stopChar: string | typeof EOF, rawEscapes: boolean): [string, string[]] {
    let result = '';
    const words = new Words();
    const saved = this.#rawEscapes;
    this.#rawEscapes = rawEscapes;
    if (++this.#depth > MAX_EXPANSION_DEPTH) throw new ShellSyntaxError(`variable substitutions nested more than ${MAX_EXPANSION_DEPTH} levels deep`);
    try {
      for (let ch = this.#peek(); ch !== EOF; ch = this.#peek()) {
        if (stopChar !== EOF && ch === stopChar) {
          this.#next();
          return [result, words.getWords()];
        }
        const special = this.#special(ch);
        if (special !== undefined) {
          const tmp = special();
          result += tmp;
          if (result.length > this.#maxLength) throw new ShellSyntaxError(`the expanded word grew past ${MAX_EXPANSION_GROWTH} bytes more than its text`);
          if (ch === '$') words.addString(tmp);
          else words.addRawString(tmp);
          continue;
        }
        let c = this.#next();
        if (c === this.#escape) {
          if (this.#rawEscapes) {
            words.addRawChar(c);
            result += c;
          }
          c = this.#next();
          if (c === EOF) break;
          words.addRawChar(c);
        } else if (c !== EOF) {
          words.addChar(c);
        }
        if (c !== EOF) result += c;
      }
      if (stopChar !== EOF) throw new ShellSyntaxError(`unexpected end of statement while looking for matching ${stopChar}`);
      return [result, words.getWords()];
    } finally {
      this.#rawEscapes = saved;
      this.#depth--;
    }
  }

  #special(ch: string): (() => string) | undefined {
    if (ch === '$') return () => this.#processDollar();
    if (ch === '<') return () => this.#processPossibleHeredoc();
    if (this.#opts.skipProcessQuotes) return undefined;
    if (ch === "'") return () => this.#processSingleQuote();
    if (ch === '"') return () => this.#processDoubleQuote();
    return undefined;
  }

  #processSingleQuote(): string {
    let result = '';
    const open = this.#next();
    if (this.#opts.rawQuotes && open !== EOF) result += open;
    for (;;) {
      const ch = this.#next();
      if (ch === EOF) throw new ShellSyntaxError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.#opts.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  #processDoubleQuote(): string {
    let result = '';
    const open = this.#next();
    if (this.#opts.rawQuotes && open !== EOF) result += open;
    for (;;) {
      const p = this.#peek();
      if (p === EOF) throw new ShellSyntaxError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.#next();
        if (this.#opts.rawQuotes) result += p;
        return result;
      }
      if (p === '$') {
        result += this.#processDollar();
        continue;
      }
      let ch = this.#next();
      if (ch === this.#escape) {
        if (this.#rawEscapes) result += ch;
        const n = this.#peek();
        if (n === EOF) continue;
        if (n === '"' || n === '$' || n === this.#escape) ch = this.#next();
      }
      if (ch !== EOF) result += ch;
    }
  }

  #getEnv(name: string): string | undefined {
    const v = this.#env(name);
    if (v === undefined) this.#unmatched.add(name);
    else this.#matched.add(name);
    return v;
  }

  #processDollar(): string {
    this.#next();
    if (this.#peek() !== '{') {
      const name = this.#processName();
      if (name === '') return '$';
      const value = this.#getEnv(name);
      if (value === undefined && this.#opts.skipUnsetEnv) return '$' + name;
      return value ?? '';
    }
    this.#next();
    const first = this.#peek();
    if (first === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new ShellSyntaxError('syntax error: bad substitution');
    const name = this.#processName();
    let ch = this.#next();
    let chs = ch === EOF ? '' : ch;
    if (ch === '}') {
      const value = this.#getEnv(name);
      if (value === undefined && this.#opts.skipUnsetEnv) return `\${${name}}`;
      return value ?? '';
    }
    if (ch === '/') return this.#processReplace(name);
    // After `:` any character goes on to read the word up to `}` (BuildKit's switch falls through), so that with
    // skipUnsetEnv `${a:x}` of an unset `a` comes back as written; only a set one fails on the modifier below.
    let nullIsUnset = false;
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.#next();
      chs += ch === EOF ? '' : ch;
    } else if (ch !== '+' && ch !== '-' && ch !== '?' && ch !== '#' && ch !== '%') {
      throw new ShellSyntaxError(`unsupported modifier (${chs}) in substitution`);
    }
    const rawEscapes = ch === '#' || ch === '%';
    if (nullIsUnset && rawEscapes) throw new ShellSyntaxError(`unsupported modifier (${chs}) in substitution`);
    let word: string;
    try {
      [word] = this.#processStopOn('}', rawEscapes);
    } catch (err) {
      if (this.#peek() === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
      throw err;
    }
    const value = this.#getEnv(name);
    if (this.#opts.skipUnsetEnv && value === undefined) return `\${${name}${chs}${word}}`;
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (ch) {
      case '-':
        return unset ? word : (value ?? '');
      case '+':
        return unset ? '' : word;
      case '?':
        if (value === undefined) throw new ShellSyntaxError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') throw new ShellSyntaxError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      case '#':
      case '%': {
        // %/# trim the shortest match, %%/## the longest.
        const greedy = word.startsWith(ch);
        const pattern = greedy ? word.slice(1) : word;
        return ch === '%' ? trimSuffix(pattern, value ?? '', greedy) : trimPrefix(pattern, value ?? '', greedy);
      }
      default:
        throw new ShellSyntaxError(`unsupported modifier (${chs}) in substitution`);
    }
  }

  #processReplace(name: string): string {
    const replaceAll = this.#peek() === '/';
    if (replaceAll) this.#next();
    let pattern: string;
    let replacement: string;
    try {
      [pattern] = this.#processStopOn('/', true);
    } catch (err) {
      if (this.#peek() === EOF) throw new ShellSyntaxError("syntax error: missing '/' in ${}");
      throw err;
    }
    try {
      [replacement] = this.#processStopOn('}', true);
    } catch (err) {
      if (this.#peek() === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
      throw err;
    }
    const value = this.#getEnv(name);
    if (this.#opts.skipUnsetEnv && value === undefined) return `\${${name}/${pattern}/${replacement}}`;
    const v = value ?? '';
    // The replacement is inserted literally (BuildKit's Go ReplaceAllString would also expand `$1`-style group refs,
    // which a shell pattern can never define, so they expand to nothing there; here they stay as written).
    let added = 0;
    return replaceMatches(pattern, v, replaceAll, () => {
      added += replacement.length;
      if (added > MAX_EXPANSION_GROWTH) throw new ShellSyntaxError(`the expanded word grew past ${MAX_EXPANSION_GROWTH} bytes more than its text`);
      return replacement;
    });
  }

  #processName(): string {
    let name = '';
    for (let ch = this.#peek(); ch !== EOF; ch = this.#peek()) {
      if (name === '' && isDigit(ch)) {
        while (this.#peek() !== EOF && isDigit(String(this.#peek()))) name += String(this.#next());
        return name;
      }
      if (name === '' && '@*#?-$!0'.includes(ch)) {
        this.#next();
        return ch;
      }
      if (!isNameChar(ch)) break;
      this.#next();
      name += ch;
    }
    return name;
  }

  #processPossibleHeredoc(): string {
    this.#next();
    if (this.#peek() !== '<') return '<';
    this.#next();
    let space = '';
    for (let ch = this.#peek(); ch === '\t' || ch === '\r' || ch === ' '; ch = this.#peek()) {
      space += ch;
      this.#next();
    }
    return '<<' + space;
  }
}
