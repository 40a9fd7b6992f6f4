import type { ProgressEvent } from '../../solver/index.js';
import type { ProgressWriter } from './writer.js';

/** `--progress tsbuild-json`: tsbuild's own events (miss reasons included), one JSON object per line; log data base64. */
export class RawJsonProgress implements ProgressWriter {
  readonly #out: NodeJS.WritableStream;
  constructor(out: NodeJS.WritableStream = process.stderr) { this.#out = out; }
  event(e: ProgressEvent): void {
    const data = e.type === 'log' ? { ...e, data: Buffer.from(e.data).toString('base64') } : e;
    this.#out.write(`${JSON.stringify(data)}\n`);
  }
  plan(): void {}
  note(text: string): void { this.#out.write(`${JSON.stringify({ type: 'note', text, time: Date.now() })}\n`); }
  close(): void {}
}
