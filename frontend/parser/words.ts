import { isSpace, isSpaceCode, trimLeftSpace, trimSpace } from '../shell/chars.js';

// The low-level splitters of BuildKit's Dockerfile parser (parser/split_command.go, parser/line_parsers.go), ported
// rule for rule: they decide what counts as a flag, a word and a JSON array before any expansion happens.

const WHITESPACE = /[\t\v\f\r ]+/;

/** Splits on runs of blanks, as BuildKit's reWhitespace. */
export function splitWhitespace(text: string): string[] {
  return text.split(WHITESPACE);
}

/** `keyword rest…` → [keyword, rest] (rest '' when absent). */
export function splitKeyword(line: string): [string, string] {
  const trimmed = trimSpace(line);
  const m = WHITESPACE.exec(trimmed);
  if (!m) return [trimmed, ''];
  return [trimmed.slice(0, m.index), trimmed.slice(m.index + m[0].length)];
}


/**
 * Takes the leading `--flag[=value]` words off `line`. Quotes group, the escape token escapes; a bare `--` ends the
 * flags. Returns the flags (quotes removed) and the rest of the line.
 */
export function extractBuilderFlags(line: string, escapeToken: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let buf = '';
  let quote = '';
  let blankOk = false;
  for (let pos = 0; pos <= line.length; pos++) {
    const atEnd = pos === line.length;
    let ch = atEnd ? '' : (line[pos] ?? '');
    if (phase === 'spaces') {
      if (atEnd) break;
      if (isSpace(ch)) continue;
      if (ch !== '-' || pos + 1 === line.length || line[pos + 1] !== '-') return { flags, rest: line.slice(pos) };
      phase = 'word';
    }
    if (atEnd) {
      if (buf !== '--' && (blankOk || buf.length > 0)) flags.push(buf);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (buf === '--') return { flags, rest: line.slice(pos) };
        if (blankOk || buf.length > 0) flags.push(buf);
        buf = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
        continue;
      }
      if (ch === escapeToken) {
        if (pos + 1 === line.length) continue;
        pos++;
        ch = line[pos] ?? '';
      }
      buf += ch;
      continue;
    }
    // phase === 'quote'
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === escapeToken) {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      pos++;
      ch = line[pos] ?? '';
    }
    buf += ch;
  }
  return { flags, rest: '' };
}

/**
 * Splits into words on unquoted blanks, keeping quotes and escapes in the words (expansion removes them later), as
 * BuildKit's parseWords does for ENV, LABEL and ARG.
 */
export function parseWords(rest: string, escapeToken: string): string[] {
  // BuildKit's loop appends every character of a word but one (an escape that is the line's last character) to its
  // buffer, so a word is a slice of `rest`: taken whole, never built a character at a time. A 5 MB ENV value built
  // by `+=` was a rope of 5 million strings, all alive until the end, and its garbage collection took ~10 s. Code
  // units, not code points: every character that matters here (blanks, quotes, the escape token) is in the BMP.
  const words: string[] = [];
  const n = rest.length;
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOk = false;
  let start = 0;
  const push = (word: string): void => {
    if (blankOk || word.length > 0) words.push(word);
  };
  for (let pos = 0; pos < n; pos++) {
    const ch = rest[pos] ?? '';
    if (phase === 'spaces') {
      if (isSpaceCode(rest.charCodeAt(pos))) continue;
      phase = 'word';
      start = pos;
    }
    if (phase === 'word') {
      if (isSpaceCode(rest.charCodeAt(pos))) {
        push(rest.slice(start, pos));
        phase = 'spaces';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
      }
      // The escape and the character after it stay in the word; a last escape is dropped.
      if (ch === escapeToken) {
        if (pos + 1 === n) {
          push(rest.slice(start, pos));
          return words;
        }
        pos++;
      }
      continue;
    }
    if (ch === quote) phase = 'word';
    if (ch === escapeToken && quote !== "'") {
      if (pos + 1 === n) {
        push(rest.slice(start, pos));
        return words;
      }
      pos++;
    }
  }
  if (phase !== 'spaces') push(rest.slice(start, n));
  return words;
}

/** Result of trying the exec (JSON) form. */
export type JsonArgs = { kind: 'json'; values: string[] } | { kind: 'not-json' } | { kind: 'not-strings' };

/**
 * Docker's fallback rule: text that is a JSON array of strings is the exec form; anything that is not valid JSON
 * (or not an array) is the shell form; a valid array holding a non-string is an error.
 */
export function parseJsonArray(rest: string): JsonArgs {
  const text = trimLeftSpace(rest);
  if (!text.startsWith('[')) return { kind: 'not-json' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'not-json' };
  }
  if (!Array.isArray(parsed)) return { kind: 'not-json' };
  const values: string[] = [];
  for (const v of parsed as unknown[]) {
    if (typeof v !== 'string') return { kind: 'not-strings' };
    values.push(v);
  }
  return { kind: 'json', values };
}
