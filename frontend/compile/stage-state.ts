import type { ContainerConfig, Platform } from '../../registry/oci/index.js';
import type { Instruction } from '../ast.js';
import { DockerfileError } from '../errors.js';
import type { Vertex, VertexId } from '../graph.js';
import type { SourceText } from '../parser/source-text.js';
import { processWord, ShellSyntaxError } from '../shell/lex.js';
import type { LexOptions } from '../shell/lex.js';

/** A declared ARG in a stage's scope, with its value (undefined when declared without one). */
export interface ArgBinding { key: string; value: string | undefined }

/** The evolving state of one stage while its instructions are dispatched (mirrors BuildKit's dispatchState). */
export interface StageState {
  index: number;
  platform: Platform;
  /** The image config so far (base merged with every change). */
  config: ContainerConfig;
  /** The build environment in order: image Env, ENV, and ARG values (ARGs never reach `config`). */
  env: [string, string][];
  args: ArgBinding[];
  workdir: string;
  user: string;
  cmdSet: boolean;
  parent: VertexId;
  vertices: VertexId[];
  step: number;
}

/** Shared by every dispatch: the source text, escape token and the vertex list being built. */
export interface DispatchContext {
  src: SourceText;
  escapeToken: '\\' | '`';
  out: Vertex[];
  buildArgs: Record<string, string>;
  globalArgs: Map<string, string>;
  /** The vertex a `--from`/`from=` value reads: a stage's result or an image source vertex. */
  fromVertex(ref: string, st: StageState, inst: Instruction): VertexId;
  /** The source a `--from`/`from=` value reads: a named local context, else the vertex fromVertex gives. */
  fromSource(ref: string, st: StageState, inst: Instruction): { kind: 'context'; name: string } | { kind: 'vertex'; id: VertexId };
}

/** The variables BuildKit's platformFromEnv reads (Vertex.targetEnv). */
const TARGET_ENV = ['TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT'];

/** Sets `key` in an ordered env list, replacing an existing entry in place. */
export function addEnv(env: [string, string][], key: string, value: string): void {
  const i = env.findIndex(([k]) => k === key);
  if (i >= 0) env[i] = [key, value];
  else env.push([key, value]);
}

/** Sets `key=value` in a config Env list. */
export function addConfigEnv(env: string[], key: string, value: string): string[] {
  const out = env.slice();
  const i = out.findIndex((e) => (e.split('=')[0] ?? '') === key);
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

/** Looks a name up in an ordered env list (the last entry wins). */
export function lookup(env: [string, string][]): (name: string) => string | undefined {
  return (name) => {
    for (let i = env.length - 1; i >= 0; i--) {
      const e = env[i];
      if (e && e[0] === name) return e[1];
    }
    return undefined;
  };
}

/** Expands words for one instruction, remembering which build args it used (for the vertex's `args`). */
export class Expander {
  readonly used = new Map<string, string>();
  readonly #st: StageState;
  readonly #ctx: DispatchContext;
  readonly #inst: Instruction;
  constructor(st: StageState, ctx: DispatchContext, inst: Instruction) {
    this.#st = st;
    this.#ctx = ctx;
    this.#inst = inst;
  }

  word(text: string, opts: LexOptions = {}): string {
    return this.#run(() => processWord(text, lookup(this.#st.env), { escapeToken: this.#ctx.escapeToken, ...opts }), text).result;
  }

  words(text: string): string[] {
    return this.#run(() => processWord(text, lookup(this.#st.env), { escapeToken: this.#ctx.escapeToken }), text).words;
  }

  #run<T extends { matched: Set<string> }>(fn: () => T, text: string): T {
    let r: T;
    try {
      r = fn();
    } catch (err) {
      if (err instanceof ShellSyntaxError) throw new DockerfileError(this.#ctx.src.find(this.#inst.location, text), `failed to process "${text.length > 80 ? `${text.slice(0, 77)}...` : text}": ${err.message}`, 'check the ${…} syntax; quote a literal $ as \\$');
      throw err;
    }
    for (const name of r.matched) {
      const arg = this.#st.args.find((a) => a.key === name);
      if (arg && arg.value !== undefined) this.used.set(name, arg.value);
    }
    return r;
  }
}

/** Appends a vertex for the stage's next step and makes it the stage's current result. */
export function pushVertex(st: StageState, ctx: DispatchContext, v: Omit<Vertex, 'id' | 'stage'>): Vertex {
  st.step++;
  // BuildKit reads them for the steps it names from the environment (RUN, COPY/ADD, WORKDIR's mkdir); a config-only
  // step is no vertex there, and without them here one shared by every platform's graph is named alike in each.
  const targetEnv = v.op.kind === 'meta' ? {} : Object.fromEntries(st.env.filter(([k]) => TARGET_ENV.includes(k)));
  const vertex: Vertex = { id: `s${st.index}.${st.step}`, stage: st.index, ...v, ...(Object.keys(targetEnv).length > 0 ? { targetEnv } : {}) };
  ctx.out.push(vertex);
  st.vertices.push(vertex.id);
  st.parent = vertex.id;
  return vertex;
}
