import type { BuildGraph } from '../../frontend/index.js';
import type { PlatformPart } from '../multi-platform.js';
import type { ProgressEvent } from '../../solver/index.js';
import { describeReason } from '../report/describe-reason.js';
import { displayText } from '../report/instruction-text.js';
import { vertexLabels } from './labels.js';
import { SharedSteps } from './shared-steps.js';
import type { ProgressWriter } from './writer.js';
import { visibleText } from '../../common/index.js';

/** The longest unterminated line of step output held back waiting for its newline. */
export const MAX_PARTIAL_LINE = 64 * 1024;

/**
 * Step numbers shared by every plain display of this process once shareStepNumbers() was called: a command that shows
 * several displays (bake: its definitions step, then the targets' builds) writes one log numbered as buildx numbers
 * its one session (`#1 [internal] load local bake definitions`, then `#2 …`). Otherwise each display counts from 1.
 */
let sharedNumbers: { next: number } | undefined;

/** Makes every plain display created from now on in this process continue one numbering (see sharedNumbers). */
export function shareStepNumbers(): void {
  sharedNumbers ??= { next: 1 };
}

/**
 * `--progress plain`: one line per event, numbered per vertex like buildx (`#3 [2/4] RUN make`, `#3 DONE 1.2s`),
 * plus tsbuild's addition: `#3 MISS …` lines saying why the step could not come from the cache.
 */
export class PlainProgress implements ProgressWriter {
  readonly #out: NodeJS.WritableStream;
  readonly #numbers = new Map<string, number>();
  readonly #numbering = sharedNumbers;
  readonly #started = new Map<string, number>();
  readonly #partial = new Map<string, string>();
  readonly #shared = new SharedSteps();
  readonly #t0 = Date.now();

  constructor(out: NodeJS.WritableStream = process.stderr) { this.#out = out; }

  #n(vertex: string): number {
    let n = this.#numbers.get(vertex);
    if (n === undefined) this.#numbers.set(vertex, (n = this.#numbering === undefined ? this.#numbers.size + 1 : this.#numbering.next++));
    return n;
  }

  #line(text: string) { this.#out.write(`${text}\n`); }

  #labels = new Map<string, string>();

  plan(graph: BuildGraph, dockerfileText?: string, parts?: PlatformPart[]): void { this.#labels = vertexLabels(graph, dockerfileText, parts); }

  #label(vertex: string, text: string): string { return this.#labels.get(vertex) ?? visibleText(displayText(text)); }

  /** Another step as its header line showed it (`#17 [deps 4/5] COPY --from=deps …`), once it has one. */
  #header(step: string): string | undefined {
    const vertex = this.#shared.shown(step);
    const n = this.#numbers.get(vertex);
    const label = this.#labels.get(vertex);
    return n !== undefined && label !== undefined ? `#${n} ${label}` : undefined;
  }

  event(e: ProgressEvent): void {
    if (this.#shared.isShared(e)) return;
    const n = this.#n(e.vertex);
    switch (e.type) {
      case 'start':
        this.#started.set(e.vertex, e.time);
        this.#line(`#${n} ${this.#label(e.vertex, e.text)}`);
        for (const r of e.reasons) this.#line(`#${n} MISS ${visibleText(describeReason(r, (v) => this.#header(v)))}`);
        break;
      case 'cached':
        this.#line(`#${n} ${this.#label(e.vertex, e.text)}`);
        this.#line(e.source ? `#${n} CACHED (remote cache ${visibleText(e.source)})` : `#${n} CACHED`);
        break;
      case 'log': {
        const text = (this.#partial.get(e.vertex) ?? '') + Buffer.from(e.data).toString('utf8');
        const lines = text.split('\n');
        const rest = lines.pop() ?? '';
        // A step that never ends its line (300 MB without a newline) is printed in pieces, not held: joining each
        // chunk to an ever longer partial line was quadratic and grew without bound (1.3 GB after 3 minutes).
        if (rest.length > MAX_PARTIAL_LINE) lines.push(rest);
        this.#partial.set(e.vertex, rest.length > MAX_PARTIAL_LINE ? '' : rest);
        const at = ((e.time - (this.#started.get(e.vertex) ?? e.time)) / 1000).toFixed(3);
        for (const l of lines) this.#line(`#${n} ${at} ${l}`);
        break;
      }
      case 'status':
        this.#line(`#${n} ${visibleText(e.text)}${e.total ? ` ${e.current ?? 0}/${e.total}` : ''}`);
        break;
      case 'done': {
        const rest = this.#partial.get(e.vertex);
        if (rest) this.#line(`#${n} ${rest}`);
        this.#partial.delete(e.vertex);
        this.#line(`#${n} DONE ${(e.durationMs / 1000).toFixed(1)}s`);
        break;
      }
      case 'error':
        this.#line(`#${n} ERROR: ${visibleText(e.message)}`);
        break;
    }
  }

  note(text: string): void { this.#line(`#- ${visibleText(text)}`); }

  close(): void {
    this.#line(`#- finished in ${((Date.now() - this.#t0) / 1000).toFixed(1)}s`);
  }
}
