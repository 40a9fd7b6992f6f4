import { once } from 'node:events';
import { createGzip, type Gzip } from 'node:zlib';
import type { ProgressEvent } from '../../solver/index.js';
import { MAX_PARTIAL_LINE } from '../progress/index.js';
import { storedLogLine, storedLogsHeader, type StoredLogEntry } from './stored-logs.js';

/** Output of a step not yet ended by a newline. */
interface HeldOutput { data: Buffer; stream: 'stdout' | 'stderr'; time: number }

/**
 * Keeps a build's progress (its steps' output and statuses) for its history record, as BuildKit keeps the status
 * stream with its record (see stored-logs.ts). The output is already bounded where it is made, per step and stream as
 * buildkitd bounds it (worker/exec/log-limit.ts: BuildKit's limits and `[output clipped, …]` line), so the record
 * keeps what the live progress showed. It is compressed as it arrives: what is held is the gzip of it. The gzip starts
 * with the first entry: a build whose steps printed nothing (a no-op rebuild) stores no logs and pays for no deflate
 * stream (zlib's 256 KiB of state).
 *
 * The stored text is `redact`ed as the record is, a whole line at a time (a value split over two chunks is still
 * cut), so each entry holds the whole lines one chunk completed, per step as `--progress plain` joins them, at that
 * chunk's time: replayed through plain, the same `#N 0.123 line` lines come out.
 */
export class BuildLogRecorder {
  #gzip: Gzip | undefined;
  readonly #compressed: Buffer[] = [];
  readonly #held = new Map<string, HeldOutput>();
  readonly #redact: (text: string) => string;
  #error: unknown;

  constructor(redact: (text: string) => string) {
    this.#redact = redact;
  }

  /** Takes one event of the build's progress (every one: only output, statuses and a step's end matter here). */
  observe(e: ProgressEvent): void {
    switch (e.type) {
      case 'log': this.#output(e.vertex, e.stream, Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength), e.time); break;
      case 'status':
        this.#write({ vertex: e.vertex, time: e.time, status: this.#redact(e.text), ...(e.current !== undefined ? { current: e.current } : {}), ...(e.total !== undefined ? { total: e.total } : {}) });
        break;
      // Plain prints a step's unended last line when it is done: kept at that time, it replays before the DONE line.
      case 'done': case 'error': this.#release(e.vertex, e.time); break;
      case 'start': case 'cached': break;
    }
  }

  /** The stored logs (gzipped), once the build is over; undefined when its steps printed nothing. Called once. */
  async finish(): Promise<Uint8Array | undefined> {
    for (const [vertex, held] of [...this.#held]) this.#release(vertex, held.time);
    const gzip = this.#gzip;
    if (gzip === undefined) return undefined;
    gzip.end();
    if (this.#error === undefined) await once(gzip, 'end').catch((err: unknown) => { this.#error ??= err; });
    if (this.#error !== undefined) throw this.#error instanceof Error ? this.#error : new Error(String(this.#error));
    return Buffer.concat(this.#compressed);
  }

  #output(vertex: string, stream: 'stdout' | 'stderr', chunk: Buffer, time: number): void {
    const held = this.#held.get(vertex);
    const data = held === undefined ? chunk : Buffer.concat([held.data, chunk]);
    const ended = data.lastIndexOf(0x0a) + 1;
    // An unended line longer than plain holds back goes now, whole (plain prints it in pieces too).
    const cut = data.length - ended > MAX_PARTIAL_LINE ? data.length : ended;
    if (cut > 0) this.#write({ vertex, time, stream, text: this.#redact(data.subarray(0, cut).toString('utf8')) });
    if (cut < data.length) this.#held.set(vertex, { data: Buffer.from(data.subarray(cut)), stream, time });
    else this.#held.delete(vertex);
  }

  #release(vertex: string, time: number): void {
    const held = this.#held.get(vertex);
    if (held === undefined) return;
    this.#held.delete(vertex);
    this.#write({ vertex, time, stream: held.stream, text: this.#redact(held.data.toString('utf8')) });
  }

  #write(entry: StoredLogEntry): void {
    if (this.#error === undefined) this.#stream().write(storedLogLine(entry));
  }

  #stream(): Gzip {
    if (this.#gzip !== undefined) return this.#gzip;
    const gzip = createGzip();
    gzip.on('data', (chunk: Buffer) => this.#compressed.push(chunk));
    gzip.on('error', (err) => { this.#error ??= err; });
    gzip.write(storedLogsHeader());
    this.#gzip = gzip;
    return gzip;
  }
}
