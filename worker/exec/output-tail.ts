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
    this.#partial = parts.pop() ?? '';
    for (const line of parts) this.#lines.push(line.replace(/\r$/, ''));
    if (this.#lines.length > this.#max) this.#lines.splice(0, this.#lines.length - this.#max);
  }

  /** The last lines, oldest first, including an unterminated last line. */
  lines(): string[] {
    const all = this.#partial === '' ? [...this.#lines] : [...this.#lines, this.#partial];
    return all.slice(-this.#max);
  }
}
