import type { SourceRange } from '../graph.js';

/** The Dockerfile's physical lines, for turning line numbers and substrings into SourceRanges. */
export class SourceText {
  readonly file: string;
  /** The lines without their line endings (every trailing `\r` too, as BuildKit's trimNewline). */
  readonly lines: string[];
  /** The lines as written, a `\r` before the `\n` kept: heredoc bodies keep them, as BuildKit's do. */
  readonly rawLines: string[];
  constructor(text: string, file: string) {
    this.file = file;
    this.rawLines = text.split('\n');
    this.lines = this.rawLines.map((l) => l.replace(/\r+$/, ''));
  }

  /** The range of `length` characters at 1-based `line`/`column`. */
  at(line: number, column = 1, length = 0): SourceRange {
    return { file: this.file, line, column, endLine: line, endColumn: column + length };
  }

  /** The whole of lines first..last, starting at the first non-blank character. */
  span(first: number, last: number): SourceRange {
    const start = this.lines[first - 1] ?? '';
    const column = start.length - start.trimStart().length + 1;
    return { file: this.file, line: first, column, endLine: last, endColumn: (this.lines[last - 1] ?? '').length + 1 };
  }

  /** The last occurrence of `needle` on `range`'s first line (e.g. a stage name after `AS`). */
  findLast(range: SourceRange, needle: string): SourceRange {
    const idx = (this.lines[range.line - 1] ?? '').lastIndexOf(needle);
    return idx >= 0 ? this.at(range.line, idx + 1, needle.length) : this.at(range.line, range.column, 1);
  }

  /** Where the first of `needles` that occurs within `range`'s lines is; the range's start when none does. */
  find(range: SourceRange, ...needles: string[]): SourceRange {
    for (const needle of needles) {
      if (needle === '') continue;
      for (let line = range.line; line <= range.endLine; line++) {
        const text = this.lines[line - 1] ?? '';
        const from = line === range.line ? range.column - 1 : 0;
        const idx = text.indexOf(needle, from);
        if (idx >= 0) return this.at(line, idx + 1, needle.length);
      }
    }
    return this.at(range.line, range.column, 1);
  }
}
