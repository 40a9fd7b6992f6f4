/** The most characters kept of one line of a tail. */
const MAX_LINE = 4096;

function clip(line: string): string {
  return line.length > MAX_LINE ? `…${line.slice(-(MAX_LINE - 1))}` : line;
}

/** Keeps the last `max` lines of a byte stream (the tail of a step's output for its error). */
export class OutputTail {
  readonly #max: number;
  readonly #lines: string[] = [];
  #partial = '';
  readonly #decoder = new TextDecoder('utf-8', { fatal: false });

  constructor(max = 20) {
    this.#max = max;
  }

  /** Adds a chunk of output. */
  push(chunk: Uint8Array): void {
    const text = this.#partial + this.#decoder.decode(chunk, { stream: true });
    const parts = text.split('\n');
    // Only the end of an overlong line is kept (`…` marks the cut): a step printing 300 MB without a newline made
    // this partial line, and each chunk's copy of it, grow without bound.
    this.#partial = clip(parts.pop() ?? '');
    for (const line of parts) this.#lines.push(clip(line.replace(/\r$/, '')));
    if (this.#lines.length > this.#max) this.#lines.splice(0, this.#lines.length - this.#max);
  }

  /** The last lines, oldest first, including an unterminated last line. */
  lines(): string[] {
    const all = this.#partial === '' ? [...this.#lines] : [...this.#lines, this.#partial];
    return all.slice(-this.#max);
  }
}
