import type { Directive } from '../ast.js';
import { DockerfileError } from '../errors.js';
import type { SourceText } from './source-text.js';

// Parser directives (`# syntax=…`, `# escape=…`, `# check=…`) count only at the very top of the file: the first line
// that is not one (a blank line, another comment, an instruction) ends them, as in BuildKit's DirectiveParser.
// A `#!` first line is skipped: BuildKit finds `# syntax=` and `# check=` after one (DetectSyntax and ParseDirective
// drop a shebang), but its Dockerfile parser reads an `# escape=` there as a plain comment, so we do not apply it.

// After `#` and any Unicode blanks, BuildKit's directiveRegexp, whose \s (RE2) is [\t\n\f\r ] and `.` anything but \n.
const DIRECTIVE_RE = /^#\p{White_Space}*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*([^\n]+?)[\t\n\f\r ]*$/u;
const KNOWN = new Set(['syntax', 'escape', 'check']);

/** Reads directives line by line until the first line that is not one. */
export class DirectiveReader {
  #done = false;
  #afterShebang = false;
  readonly directives: Directive[] = [];
  escapeToken: '\\' | '`' = '\\';

  /** Feeds one physical line (leading blanks stripped); true when it was a directive. */
  feed(text: string, lineNo: number, src: SourceText): boolean {
    if (this.#done) return false;
    if (lineNo === 1 && text.startsWith('#!')) {
      this.#afterShebang = true;
      return false;
    }
    const m = DIRECTIVE_RE.exec(text);
    const name = m?.[1]?.toLowerCase();
    if (!m || name === undefined || !KNOWN.has(name)) {
      this.#done = true;
      return false;
    }
    const value = m[2] ?? '';
    if (name === 'escape' && this.#afterShebang) return false;
    const at = src.at(lineNo, 1, text.length);
    if (this.directives.some((d) => d.name === name)) {
      throw new DockerfileError(at, `only one ${name} parser directive can be used`, 'remove the repeated directive');
    }
    if (name === 'escape') {
      if (value !== '\\' && value !== '`') throw new DockerfileError(at, `invalid escape token '${value}' does not match \` or \\`, 'use # escape=\\ or # escape=`');
      this.escapeToken = value;
    }
    this.directives.push({ name: name as Directive['name'], value, location: at });
    return true;
  }
}
