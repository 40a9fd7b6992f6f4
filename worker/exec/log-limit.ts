import { goBytesSize } from '../../common/index.js';
import type { ProgressSink } from '../../solver/index.js';

// A RUN step's output as BuildKit's daemon lets it through (util/progress/logs/logs.go): each stream gets at most
// BUILDKIT_STEP_LOG_MAX_SIZE bytes (default 2 MiB) and, at any moment, at most BUILDKIT_STEP_LOG_MAX_SPEED bytes a
// second since the step started (default 200 KiB/s); -1 turns a limit off. What is cut is announced once per cut with
// BuildKit's own line, `[output clipped, log limit 2MiB reached]`, and the output resumes when a whole write fits again.
// The last 256 KiB written since the first cut are kept and shown when the step fails, so the error's context is
// there. Without it, a step printing 10 million lines sent them all to the CI log (and through every progress writer).

const KEEP_AFTER_CLIP = 256 * 1024;

export interface LogLimits { maxSize: number; maxSpeed: number }

/** The limits from the environment, as buildkitd reads them (an unparsable value keeps the default). */
export function logLimitsFrom(env: NodeJS.ProcessEnv = process.env): LogLimits {
  const read = (name: string, fallback: number): number => {
    const text = env[name]?.trim() ?? '';
    return /^-?\d+$/.test(text) ? Number(text) : fallback;
  };
  return { maxSize: read('BUILDKIT_STEP_LOG_MAX_SIZE', 2 * 1024 * 1024), maxSpeed: read('BUILDKIT_STEP_LOG_MAX_SPEED', 200 * 1024) };
}

/** One stream of one step. */
class StreamLimit {
  readonly #limits: LogLimits;
  readonly #started: number;
  #size = 0;
  #isClipping = false;
  #bySpeed = false;
  #kept: Buffer[] | undefined;
  #keptBytes = 0;

  constructor(limits: LogLimits, started: number) {
    this.#limits = limits;
    this.#started = started;
  }

  /** What of `chunk` goes to the log now (maybe with the clip line), as BuildKit's streamWriter.Write decides. */
  pass(chunk: Buffer, now: number): Buffer {
    const allowed = this.#allowed(chunk.length, now);
    if (this.#kept === undefined && allowed < chunk.length) this.#kept = [];
    if (this.#kept !== undefined) this.#keep(chunk);
    let out = allowed === chunk.length ? chunk : chunk.subarray(0, allowed);
    if (this.#isClipping && allowed === chunk.length) this.#isClipping = false;
    if (!this.#isClipping && allowed < chunk.length) {
      const limit = this.#bySpeed ? `${goBytesSize(this.#limits.maxSpeed)}/s` : goBytesSize(this.#limits.maxSize);
      out = Buffer.concat([out, Buffer.from(`\n[output clipped, log limit ${limit} reached]\n`)]);
      this.#isClipping = true;
    }
    return out;
  }

  /** The last bytes written since the first cut (BuildKit's flushBuffer on a failed step); empty when never cut. */
  takeKept(): Buffer {
    const kept = Buffer.concat(this.#kept ?? []);
    this.#kept = undefined;
    return kept;
  }

  #allowed(n: number, now: number): number {
    const before = this.#size;
    this.#size += n;
    let max = -1;
    this.#bySpeed = false;
    if (this.#limits.maxSpeed !== -1) {
      max = Math.ceil((now - this.#started) / 1000) * this.#limits.maxSpeed;
      this.#bySpeed = true;
    }
    if (max === -1 || max > this.#limits.maxSize) {
      max = this.#limits.maxSize;
      this.#bySpeed = false;
    }
    if (max === -1) return n;
    if (max < before) return 0;
    return this.#size > max ? max - before : n;
  }

  #keep(chunk: Buffer): void {
    this.#kept?.push(Buffer.from(chunk));
    this.#keptBytes += chunk.length;
    while (this.#kept !== undefined && this.#kept.length > 1 && this.#keptBytes - (this.#kept[0]?.length ?? 0) >= KEEP_AFTER_CLIP) {
      this.#keptBytes -= this.#kept.shift()?.length ?? 0;
    }
    const first = this.#kept?.[0];
    if (first !== undefined && this.#keptBytes > KEEP_AFTER_CLIP) {
      const cut = this.#keptBytes - KEEP_AFTER_CLIP;
      this.#kept![0] = first.subarray(cut);
      this.#keptBytes -= cut;
    }
  }
}

/** A step's stdout and stderr, each limited; `sink` is what the helper's output goes to. */
export class StepLogs {
  readonly #progress: ProgressSink;
  readonly #streams: Record<'stdout' | 'stderr', StreamLimit>;
  readonly #now: () => number;

  constructor(progress: ProgressSink, limits: LogLimits = logLimitsFrom(), now: () => number = Date.now) {
    this.#progress = progress;
    this.#now = now;
    const started = now();
    this.#streams = { stdout: new StreamLimit(limits, started), stderr: new StreamLimit(limits, started) };
  }

  /** Progress with the step's output limited; statuses pass as they are. */
  get sink(): ProgressSink {
    return {
      log: (stream, data) => {
        const out = this.#streams[stream].pass(Buffer.from(data.buffer, data.byteOffset, data.byteLength), this.#now());
        if (out.length > 0) this.#progress.log(stream, out);
      },
      status: (text, current, total) => this.#progress.status(text, current, total),
    };
  }

  /** On a failed step: what was kept since each stream's first cut goes to the log (BuildKit shows it too). */
  flushKept(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const kept = this.#streams[stream].takeKept();
      if (kept.length > 0) this.#progress.log(stream, kept);
    }
  }
}
