import type { BuildGraph } from '../../frontend/index.js';
import type { PlatformPart } from '../multi-platform.js';
import type { ProgressEvent } from '../../solver/index.js';
import { describeReason } from '../report/describe-reason.js';
import { displayText } from '../report/instruction-text.js';
import { vertexLabels } from './labels.js';
import { SharedSteps } from './shared-steps.js';
import type { ProgressWriter } from './writer.js';
import { visibleLogLine, visibleText } from '../../common/index.js';

interface Row { text: string; state: 'running' | 'cached' | 'done' | 'error'; start: number; end?: number; logs: string[]; why?: string }

const LOG_LINES = 4;

/**
 * `--progress tty`: a live display redrawn in place, like buildx: one line per step with its timer, CACHED or the
 * reason it missed; a running step shows its last output lines, which collapse away when it finishes.
 */
export class TtyProgress implements ProgressWriter {
  readonly #out: NodeJS.WriteStream;
  readonly #rows = new Map<string, Row>();
  readonly #notes: string[] = [];
  readonly #shared = new SharedSteps();
  readonly #t0 = Date.now();
  #drawn = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#timer = setInterval(() => this.#draw(), 100);
    this.#timer.unref();
  }

  #labels = new Map<string, string>();

  plan(graph: BuildGraph, dockerfileText?: string, parts?: PlatformPart[]): void { this.#labels = vertexLabels(graph, dockerfileText, parts); }

  #label(vertex: string, text: string): string { return this.#labels.get(vertex) ?? visibleText(displayText(text)); }

  event(e: ProgressEvent): void {
    if (this.#shared.isShared(e)) return;
    const row = this.#rows.get(e.vertex);
    switch (e.type) {
      case 'start':
        this.#rows.set(e.vertex, { text: this.#label(e.vertex, e.text), state: 'running', start: e.time, logs: [], why: visibleText(e.reasons.map((r) => describeReason(r, (v) => this.#labels.get(this.#shared.shown(v)))).join('; ')) });
        break;
      case 'cached':
        this.#rows.set(e.vertex, { text: this.#label(e.vertex, e.text), state: 'cached', start: e.time, end: e.time, logs: [] });
        break;
      case 'log':
        // Each line is one row of the region this display redraws: nothing in it may move the cursor (visible-text.ts).
        if (row) row.logs = [...row.logs, ...Buffer.from(e.data).toString('utf8').split('\n').map(visibleLogLine).filter(Boolean)].slice(-LOG_LINES);
        break;
      case 'status':
        if (row) row.logs = [...row.logs, `${visibleText(e.text)}${e.total ? ` ${e.current ?? 0}/${e.total}` : ''}`].slice(-LOG_LINES);
        break;
      case 'done':
        if (row) { row.state = 'done'; row.end = e.time; }
        break;
      case 'error':
        if (row) { row.state = 'error'; row.end = e.time; row.logs.push(...`ERROR: ${e.message}`.split('\n').map(visibleText)); }
        break;
    }
  }

  note(text: string): void { this.#notes.push(...text.split('\n').map(visibleText)); }

  #lines(): string[] {
    const width = Math.max(40, (this.#out.columns ?? 100) - 1);
    const clip = (s: string) => (s.length > width ? `${s.slice(0, width - 1)}…` : s);
    const now = Date.now();
    const lines = [`[+] Building ${((now - this.#t0) / 1000).toFixed(1)}s (${[...this.#rows.values()].filter((r) => r.state !== 'running').length}/${this.#rows.size})`];
    for (const r of this.#rows.values()) {
      const secs = `${(((r.end ?? now) - r.start) / 1000).toFixed(1)}s`;
      const tag = r.state === 'cached' ? 'CACHED' : r.state === 'error' ? 'ERROR' : secs;
      lines.push(clip(` => ${r.text}  ${tag}`));
      if (r.why && r.state === 'running') lines.push(clip(`    ↳ miss: ${r.why}`));
      if (r.state === 'running' || r.state === 'error') for (const l of r.logs) lines.push(clip(`    ${l}`));
    }
    for (const n of this.#notes) lines.push(clip(` => ${n}`));
    return lines;
  }

  #draw(): void {
    const lines = this.#lines();
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
    this.#out.write(`${up}\x1b[0J${lines.join('\n')}\n`);
    this.#drawn = lines.length;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#draw();
  }
}
