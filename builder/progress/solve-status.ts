import { createHash } from 'node:crypto';
import type { BuildGraph } from '../../frontend/index.js';
import type { PlatformPart } from '../multi-platform.js';
import type { ProgressEvent } from '../../solver/index.js';
import { displayText } from '../report/instruction-text.js';
import { vertexLabels } from './labels.js';
import { SharedSteps } from './shared-steps.js';
import type { ProgressWriter } from './writer.js';

/** One vertex as BuildKit's client.Vertex marshals it (omitempty fields left out). */
interface SolveVertex { digest: string; inputs?: string[]; name: string; started?: string; completed?: string; cached?: boolean; error?: string }
interface SolveVertexStatus { id: string; vertex: string; name?: string; total?: number; current: number; timestamp: string; started?: string; completed?: string }
interface SolveVertexLog { vertex: string; stream: number; data: string; timestamp: string }
interface SolveVertexWarning { vertex: string; level: number; short: string; detail?: string[] }

/** One line of `--progress rawjson`: BuildKit's client.SolveStatus, as `docker buildx build --progress rawjson` prints. */
export interface SolveStatus { vertexes?: SolveVertex[]; statuses?: SolveVertexStatus[]; logs?: SolveVertexLog[]; warnings?: SolveVertexWarning[] }

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * `--progress rawjson`: BuildKit's SolveStatus JSON, one object per line, so tools written for buildx's raw JSON
 * (vertexes with digest/name/started/completed/cached/error, statuses, logs with base64 data, warnings) read it.
 * Vertex digests are sha256 of tsbuild's vertex ids (stable within a build; BuildKit's are LLB op digests).
 */
export class SolveStatusProgress implements ProgressWriter {
  readonly #emit: (status: SolveStatus) => void;
  readonly #vertexes = new Map<string, SolveVertex>();
  readonly #shared = new SharedSteps();
  #labels = new Map<string, string>();
  #inputs = new Map<string, string[]>();
  /** `out`: where the JSON lines go; or a function that takes each SolveStatus (`history export` encodes them). */
  constructor(out: NodeJS.WritableStream | ((status: SolveStatus) => void) = process.stderr) {
    this.#emit = typeof out === 'function' ? out : (status) => { out.write(`${JSON.stringify(status)}\n`); };
  }

  plan(graph: BuildGraph, dockerfileText?: string, parts?: PlatformPart[]): void {
    this.#labels = vertexLabels(graph, dockerfileText, parts);
    this.#inputs = new Map(graph.vertices.map((v) => [v.id, v.inputs]));
  }

  #digest(id: string): string { return `sha256:${createHash('sha256').update(`tsbuild-vertex:${id}`).digest('hex')}`; }

  #vertex(id: string, text?: string): SolveVertex {
    let v = this.#vertexes.get(id);
    if (!v) {
      // An input shown as another vertex (SharedSteps) is that vertex: it is settled before this one starts.
      const inputs = this.#inputs.get(id)?.map((i) => this.#digest(this.#shared.shown(i)));
      v = { digest: this.#digest(id), ...(inputs?.length ? { inputs } : {}), name: this.#labels.get(id) ?? displayText(text ?? id) };
      this.#vertexes.set(id, v);
    }
    return v;
  }

  #write(status: SolveStatus): void { this.#emit(status); }

  event(e: ProgressEvent): void {
    if (this.#shared.isShared(e)) return;
    switch (e.type) {
      case 'start': { const v = this.#vertex(e.vertex, e.text); v.started = iso(e.time); this.#write({ vertexes: [{ ...v }] }); break; }
      case 'cached': {
        const v = this.#vertex(e.vertex, e.text);
        v.started ??= iso(e.time); v.completed = iso(e.time); v.cached = true;
        this.#write({ vertexes: [{ ...v }] });
        break;
      }
      case 'done': { const v = this.#vertex(e.vertex); v.started ??= iso(e.time - e.durationMs); v.completed = iso(e.time); this.#write({ vertexes: [{ ...v }] }); break; }
      case 'error': { const v = this.#vertex(e.vertex); v.completed = iso(e.time); v.error = e.message; this.#write({ vertexes: [{ ...v }] }); break; }
      case 'log':
        this.#write({ logs: [{ vertex: this.#vertex(e.vertex).digest, stream: e.stream === 'stdout' ? 1 : 2, data: Buffer.from(e.data).toString('base64'), timestamp: iso(e.time) }] });
        break;
      case 'status':
        this.#write({ statuses: [{ id: e.text, vertex: this.#vertex(e.vertex, e.text).digest, name: e.text, current: e.current ?? 0, ...(e.total !== undefined ? { total: e.total } : {}), timestamp: iso(e.time) }] });
        break;
    }
  }

  /** Builder notes (export, push) are warnings-free log lines of a vertex of their own, as buildx's exporter steps. */
  note(text: string): void {
    const now = Date.now();
    const v: SolveVertex = { digest: this.#digest(`note:${text}`), name: text, started: iso(now), completed: iso(now) };
    this.#write({ vertexes: [v] });
  }

  /** A build-check warning (`--check` rules) as BuildKit reports them: level 1, short text base64. */
  warning(short: string, detail: string[] = []): void {
    this.#write({ warnings: [{ vertex: '', level: 1, short: Buffer.from(short).toString('base64'), ...(detail.length ? { detail: detail.map((d) => Buffer.from(d).toString('base64')) } : {}) }] });
  }

  close(): void {}
}
