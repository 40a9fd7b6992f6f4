import { processWords, ShellSyntaxError } from '../shell/lex.js';
import type { Heredoc } from '../ast.js';

// Heredoc delimiters as BuildKit finds them (parser/parser.go heredocsFromLine / ParseHeredoc).

// Go's \s (RE2) is [\t\n\f\r ], narrower than JavaScript's.
const HEREDOC_RE = /^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)$/;
const unset = (): undefined => undefined;

/** Parses one word such as `<<EOF`, `<<-"EOF"` or `3<<EOF`; undefined when it is not a heredoc. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = HEREDOC_RE.exec(word);
  if (!m) return undefined;
  const rest = m[3] ?? '';
  if (rest === '') return undefined;
  // Like BuildKit's MustParseHeredoc, a delimiter that does not lex (`<<'EOF`) is simply not a heredoc.
  let words: string[];
  let raw: string[];
  try {
    words = processWords(rest, unset, { skipUnsetEnv: true });
    raw = processWords(rest, unset, { skipUnsetEnv: true, rawQuotes: true });
  } catch (err) {
    if (err instanceof ShellSyntaxError) return undefined;
    throw err;
  }
  if (words.length !== 1 || raw.length !== 1) return undefined;
  const name = words[0] ?? '';
  const quotes = (s: string): number => s.split('').filter((c) => c === '"' || c === "'").length;
  return { name, expand: quotes(name) === quotes(raw[0] ?? ''), chomp: m[2] === '-', fd: Number(m[1] || '0') };
}

/** Every heredoc delimiter on an instruction line, in order. */
export function heredocsFromLine(line: string): Omit<Heredoc, 'content'>[] {
  let words: string[];
  try {
    words = processWords(line, unset, { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  } catch {
    // BuildKit ignores lexing errors here: the line is then checked by the instruction's own parser.
    return [];
  }
  const docs: Omit<Heredoc, 'content'>[] = [];
  for (const word of words) {
    const doc = parseHeredocWord(word);
    if (doc) docs.push(doc);
  }
  return docs;
}

/** `<<-` bodies lose their leading tabs. */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}
