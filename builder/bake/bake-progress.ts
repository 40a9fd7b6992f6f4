import type { BuildGraph } from '../../frontend/index.js';
import type { ProgressEvent } from '../../solver/index.js';
import { createProgress, type ProgressMode, type ProgressWriter } from '../progress/index.js';
import { vertexLabels } from '../progress/labels.js';

// One progress display for every target of a bake, as buildx shows one for its one solve of all targets: each
// target's steps are named with the target first (buildx's progress.WithPrefix, forced when a bake has several
// targets: `[app build 2/3] RUN make`, `[app] …` for a name without brackets). The targets' vertex ids are made
// distinct (two targets' graphs number their vertices alike) so plain mode gives each step its own `#N`.

/** `name` with the target's prefix, as buildx's addPrefix writes it. */
export function prefixedName(target: string, name: string): string {
  return name.startsWith('[') ? `[${target} ${name.slice(1)}` : `[${target}] ${name}`;
}

/** The bake's display; `writer(target)` is the ProgressWriter a target's build is given. */
export class BakeProgress {
  readonly #out: ProgressWriter;
  readonly #graph: BuildGraph = { vertices: [], stages: [], target: 0 };
  readonly #after: string[] = [];

  constructor(mode: ProgressMode) { this.#out = createProgress(mode); }

  /** The writer for `target`'s build: its close() leaves the shared display open (the bake closes it). */
  writer(target: string): ProgressWriter {
    let labels = new Map<string, string>();
    const id = (vertex: string): string => `${target}\u0000${vertex}`;
    const name = (vertex: string, text: string): string => labels.get(vertex) ?? prefixedName(target, text);
    return {
      plan: (graph, dockerfileText, parts) => {
        labels = new Map([...vertexLabels(graph, dockerfileText, parts)].map(([v, l]) => [v, prefixedName(target, l)]));
        // The display knows each vertex's inputs (rawjson gives them); its labels are the event texts set below.
        for (const v of graph.vertices) this.#graph.vertices.push({ ...v, id: id(v.id), inputs: v.inputs.map(id), text: name(v.id, v.text) });
        this.#out.plan(this.#graph);
      },
      event: (e: ProgressEvent) => {
        if (e.type === 'cached') this.#out.event({ ...e, vertex: id(e.vertex), text: name(e.vertex, e.text), ...(e.of === undefined ? {} : { of: id(e.of) }) });
        else if (e.type === 'start') this.#out.event({ ...e, vertex: id(e.vertex), text: name(e.vertex, e.text) });
        else this.#out.event({ ...e, vertex: id(e.vertex) });
      },
      note: (text) => this.#out.note(prefixedName(target, text)),
      close: () => undefined,
    };
  }

  /** Text a target prints after its build (its cache summary): held until the display is closed, so a live tty display does not draw over it. */
  after(text: string): void { this.#after.push(text); }

  /** Closes the display, then prints what the targets held back, in the order they finished. */
  close(): void {
    this.#out.close();
    for (const text of this.#after.splice(0)) process.stderr.write(text);
  }
}
