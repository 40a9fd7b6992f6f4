import type { Dockerfile, Heredoc, Instruction } from '../ast.js';
import { DockerfileError, withSource } from '../errors.js';
import { trimLeftSpace } from '../shell/chars.js';
import { ShellSyntaxError } from '../shell/lex.js';
import { DirectiveReader } from './directives.js';
import { heredocsFromLine, parseHeredocWord } from './heredoc.js';
import { buildInstruction } from './instruction.js';
import { SourceText } from './source-text.js';

// The line-level grammar of a Dockerfile, after BuildKit's parser.Parse: directives at the top, comments, line
// continuations (which may contain comment lines and blank lines), then heredoc bodies after the instruction line.

const HEREDOC_KEYWORDS = new Set(['ADD', 'COPY', 'RUN']);

/** Parses Dockerfile text into instructions; throws DockerfileError (and nothing else) for bad input. */
export function parseDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  return parseWithSource(text, file).dockerfile;
}

/** parseDockerfile, also handing back the source lines (the compiler locates its own errors with them). */
export function parseWithSource(text: string, file = 'Dockerfile'): { dockerfile: Dockerfile; src: SourceText } {
  try {
    return parse(text, file);
  } catch (err) {
    if (err instanceof DockerfileError) throw withSource(err, { file, text });
    if (err instanceof ShellSyntaxError) throw withSource(new DockerfileError({ file, line: 1, column: 1, endLine: 1, endColumn: 1 }, err.message), { file, text });
    throw err;
  }
}

function parse(text: string, file: string): { dockerfile: Dockerfile; src: SourceText } {
  const src = new SourceText(text.startsWith('\uFEFF') ? text.slice(1) : text, file);
  const lines = src.lines;
  // A trailing newline does not make one more (empty) line.
  const count = lines.length > 0 && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
  const directives = new DirectiveReader();
  const instructions: Instruction[] = [];
  let i = 0;
  while (i < count) {
    const startLine = i + 1;
    const first = trimLeftSpace(lines[i] ?? '');
    i++;
    if (directives.feed(first, startLine, src) || isComment(first)) continue;
    const continuation = continuationRegex(directives.escapeToken);
    let [body, isEnd] = trimContinuation(first, continuation);
    if (isEnd && body === '') continue;
    let buf = body;
    let hasEmptyContinuation = false;
    while (!isEnd && i < count) {
      const line = lines[i] ?? '';
      i++;
      if (isComment(line)) continue;
      if (trimLeftSpace(line) === '') {
        hasEmptyContinuation = true;
        continue;
      }
      [body, isEnd] = trimContinuation(line, continuation);
      buf += body;
    }
    // A file that ends inside a continuation keeps the instruction as read so far, as docker and BuildKit do.
    const range = src.span(startLine, i);
    const inst = buildInstruction(buf, { src, escapeToken: directives.escapeToken, range });
    // BuildKit warns (rule NoEmptyContinuation) at the line the continuation ended on: such lines will become errors.
    if (hasEmptyContinuation) inst.emptyContinuation = src.at(i, 1);
    const target = inst.trigger ?? inst;
    if (HEREDOC_KEYWORDS.has(target.keyword) && !target.json && buf.includes('<<')) {
      for (const doc of heredocsFromLine(buf)) {
        const [heredoc, next] = readHeredoc(doc, lines, i, count, src, range);
        i = next;
        inst.heredocs.push(heredoc);
      }
      if (inst.trigger) inst.trigger.heredocs = inst.heredocs;
      inst.location = src.span(startLine, i);
      checkHeredocDest(target, src);
    }
    instructions.push(inst);
  }
  // BuildKit's Parse refuses such a file ("file with no instructions"): an empty or all-comment Dockerfile is almost
  // always the wrong file.
  if (instructions.length === 0) {
    throw new DockerfileError(src.at(Math.max(1, count), 1), 'file with no instructions', count === 0 ? 'the Dockerfile is empty: pass the right one with -f' : 'the Dockerfile holds only comments, directives or blank lines: add FROM <image>');
  }
  return { dockerfile: { file, escapeToken: directives.escapeToken, directives: directives.directives, instructions }, src };
}

function readHeredoc(doc: Omit<Heredoc, 'content'>, lines: string[], start: number, count: number, src: SourceText, range: { line: number; column: number; endLine: number; endColumn: number; file: string }): [Heredoc, number] {
  let content = '';
  for (let i = start; i < count; i++) {
    const line = lines[i] ?? '';
    const candidate = doc.chomp ? line.replace(/^\t+/, '') : line;
    if (candidate === doc.name) return [{ ...doc, content }, i + 1];
    // The body keeps each line as written, a CRLF ending included: BuildKit writes those bytes into COPY <<EOF files.
    content += (src.rawLines[i] ?? '') + '\n';
  }
  throw new DockerfileError(src.find(range, '<<'), `unterminated heredoc: no line "${doc.name}" ends it`, `add a line holding only ${doc.name} after the heredoc's body`);
}

// A heredoc can be a COPY/ADD source but never its destination.
function checkHeredocDest(inst: Instruction, src: SourceText): void {
  if (inst.keyword !== 'COPY' && inst.keyword !== 'ADD') return;
  const dest = inst.args[inst.args.length - 1] ?? '';
  if (parseHeredocWord(dest)) {
    throw new DockerfileError(src.find(inst.location, dest), `${inst.keyword} cannot accept a heredoc as a destination`, `write ${inst.keyword} ${dest} /path/to/file`);
  }
}

function isComment(line: string): boolean {
  return trimLeftSpace(line).startsWith('#');
}

// A line continues when it ends in an unescaped escape token (blanks after it allowed): BuildKit's
// lineContinuationRegex.
const CONTINUATION: Record<'\\' | '`', RegExp> = {
  '\\': /([^\\])\\[ \t]*$|^\\[ \t]*$/,
  '`': /([^`])`[ \t]*$|^`[ \t]*$/,
};

function continuationRegex(escape: '\\' | '`'): RegExp {
  return CONTINUATION[escape];
}

function trimContinuation(line: string, re: RegExp): [string, boolean] {
  if (re.test(line)) return [line.replace(re, '$1'), false];
  return [line, true];
}
