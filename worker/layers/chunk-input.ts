const EMPTY = Buffer.alloc(0);

/**
 * A stream of chunks read as views and skips of any length, counting the bytes consumed (`offset`). Bytes are copied
 * only when a read spans two chunks.
 */
export class ChunkInput {
  readonly #it: AsyncIterator<Buffer | Uint8Array>;
  #chunk: Buffer = EMPTY;
  #at = 0;
  #isEnded = false;
  /** Bytes consumed so far. */
  offset = 0;

  constructor(input: AsyncIterable<Buffer | Uint8Array>) {
    this.#it = input[Symbol.asyncIterator]();
  }

  /** The next `n` bytes: a view of the chunk when it holds them, else a copy (into `into` when given); short at the end. */
  async read(n: number, into?: Buffer): Promise<Buffer> {
    if (this.#chunk.length - this.#at >= n) return this.#take(n);
    const out = into ?? Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const piece = await this.piece(n - got);
      if (piece.length === 0) break;
      piece.copy(out, got);
      got += piece.length;
    }
    return out.subarray(0, got);
  }

  /** A view of the next bytes, at most `n` (> 0) of them and no more than the current chunk holds; empty only at the end. */
  async piece(n: number): Promise<Buffer> {
    const have = await this.#available();
    return this.#take(Math.min(have, n));
  }

  /** Skips `n` bytes; how many there were (fewer only at the end of the input). */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      const have = await this.#available();
      if (have === 0) break;
      const take = Math.min(have, n - skipped);
      this.#at += take;
      this.offset += take;
      skipped += take;
    }
    return skipped;
  }

  /** Reads the input to its end, discarding it. */
  async drain(): Promise<void> {
    for (let have = await this.#available(); have > 0; have = await this.#available()) await this.skip(have);
  }

  /** Lets go of the input before its end (its iterator's `return`: a Node stream is destroyed). */
  async close(): Promise<void> {
    if (!this.#isEnded) await this.#it.return?.();
  }

  #take(n: number): Buffer {
    const view = this.#chunk.subarray(this.#at, this.#at + n);
    this.#at += n;
    this.offset += n;
    return view;
  }

  /** Bytes left in the current chunk, after reading the next one when it is used up; 0 only at the end of the input. */
  async #available(): Promise<number> {
    while (this.#at === this.#chunk.length) {
      if (this.#isEnded) return 0;
      const r = await this.#it.next();
      if (r.done === true) {
        this.#isEnded = true;
        this.#chunk = EMPTY;
        this.#at = 0;
        return 0;
      }
      this.#chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      this.#at = 0;
    }
    return this.#chunk.length - this.#at;
  }
}
