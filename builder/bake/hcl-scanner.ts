import type { Pos } from './hcl-ast.js';
import { BakeFileError } from './errors.js';

// The character-level half of the HCL parser: position, whitespace and comments, names, errors at file:line:column.

export const IDENT_START = /[A-Za-z_]/;
export const IDENT = /[A-Za-z0-9_-]/;

/** A cursor over HCL source; hcl-parser.ts builds the syntax tree on it. */
export class Scanner {
  i = 0;
  /** Depth of brackets, braces, parentheses and interpolations: inside any of them a newline is only space. */
  nested = 0;
  /** Where each line starts: 4 bytes a line (a plain array took 8, and 512 MB for a file of 64 MiB of newlines). */
  readonly #lineStarts: Uint32Array;

  constructor(readonly src: string, readonly file: string, readonly baseLine = 0) {
    let lines = 1;
    for (let k = src.indexOf('\n'); k >= 0; k = src.indexOf('\n', k + 1)) lines++;
    this.#lineStarts = new Uint32Array(lines);
    let line = 1;
    for (let k = src.indexOf('\n'); k >= 0; k = src.indexOf('\n', k + 1)) this.#lineStarts[line++] = k + 1;
  }

  pos(at = this.i): Pos {
    let lo = 0;
    let hi = this.#lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#lineStarts[mid] ?? 0) <= at) lo = mid; else hi = mid - 1;
    }
    return { file: this.file, line: this.baseLine + lo + 1, column: at - (this.#lineStarts[lo] ?? 0) + 1 };
  }

  error(message: string, at = this.i): BakeFileError {
    return new BakeFileError(this.pos(at), message);
  }

  atEnd(): boolean { return this.i >= this.src.length }
  peek(s: string): boolean { return this.src.startsWith(s, this.i) }
  ch(offset = 0): string { return this.src[this.i + offset] ?? '' }

  /** Skips spaces and comments, and newlines when `withNewlines` (or inside brackets). */
  ws(withNewlines = this.nested > 0): void {
    for (;;) {
      const c = this.ch();
      if (c === ' ' || c === '\t' || c === '\r') this.i++;
      else if (c === '\n' && withNewlines) this.i++;
      else if (c === '#' || this.peek('//')) { while (!this.atEnd() && this.ch() !== '\n') this.i++; }
      else if (this.peek('/*')) {
        const end = this.src.indexOf('*/', this.i + 2);
        if (end < 0) throw this.error('unterminated /* comment');
        this.i = end + 2;
      } else return;
    }
  }

  expect(s: string): void {
    this.ws();
    if (!this.peek(s)) throw this.error(`expected ${JSON.stringify(s)}, found ${this.describeHere()}`);
    this.i += s.length;
  }

  describeHere(): string {
    if (this.atEnd()) return 'end of file';
    const c = this.ch();
    return c === '\n' ? 'a newline' : JSON.stringify(c);
  }

  ident(): string {
    const start = this.i;
    if (!IDENT_START.test(this.ch())) throw this.error(`expected a name, found ${this.describeHere()}`);
    while (IDENT.test(this.ch())) this.i++;
    return this.src.slice(start, this.i);
  }
}
