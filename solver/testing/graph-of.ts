// A tiny Dockerfile-like description → BuildGraph, so solver tests read like the Dockerfiles they stand for.
import type { BuildGraph, Op, RunMount, Stage, Vertex } from '../../frontend/index.js';
import { sha256 } from '../../registry/oci/index.js';
import type { Digest } from '../../registry/oci/index.js';

/** One instruction after FROM. */
export type StepSpec =
  | { run: string; args?: Record<string, string>; mounts?: RunMount[] }
  | { copy: string[]; dest: string; from?: number }
  | { env: string }
  | { label: string }
  | { workdir: string };

/** One stage: FROM an image (by name and digest), scratch, or an earlier stage's result. */
export interface StageSpec {
  name?: string;
  from: { image: string; digest?: Digest } | 'scratch' | { stage: number };
  steps: StepSpec[];
}

const PLATFORM = { os: 'linux', architecture: 'amd64' };

/** Compiles stage specs to a graph whose target is the last stage. Vertex ids are `s<stage>.<step>`. */
export function graphOf(specs: StageSpec[], file = 'Dockerfile'): BuildGraph {
  const vertices: Vertex[] = [];
  const stages: Stage[] = [];
  let line = 1;
  specs.forEach((spec, index) => {
    const ids: string[] = [];
    let env: string[] = [];
    const add = (op: Op, text: string, inputs: string[], args: Record<string, string> = {}): void => {
      const id = `s${index}.${ids.length}`;
      vertices.push({ id, op, inputs, text, location: { file, line, column: 1, endLine: line, endColumn: 1 }, stage: index, args, emptyLayer: op.kind === 'meta' });
      line++;
      ids.push(id);
    };
    if (spec.from === 'scratch') add({ kind: 'scratch', platform: PLATFORM }, 'FROM scratch', []);
    else if ('stage' in spec.from) {
      const base = stages[spec.from.stage];
      if (base === undefined) throw new Error(`stage ${spec.from.stage} is not defined before ${index}`);
      ids.push(base.result);
      line++;
    } else {
      const digest = spec.from.digest ?? sha256(spec.from.image);
      add({ kind: 'image', ref: spec.from.image, digest, platform: PLATFORM }, `FROM ${spec.from.image}`, []);
    }
    for (const step of spec.steps) {
      const parent = ids[ids.length - 1];
      if (parent === undefined) throw new Error('a stage without FROM');
      if ('run' in step) {
        const argv = ['/bin/sh', '-c', step.run];
        const mountInputs = (step.mounts ?? []).flatMap((m) => ('from' in m && m.from?.kind === 'vertex' ? [m.from.id] : []));
        add({ kind: 'exec', argv, env, cwd: '/', user: '', mounts: step.mounts ?? [], network: 'default', security: 'sandbox' }, `RUN ${step.run}`, [parent, ...mountInputs], step.args);
      } else if ('copy' in step) {
        const fromStage = step.from === undefined ? undefined : stages[step.from];
        const from = fromStage === undefined ? { kind: 'context' as const } : { kind: 'vertex' as const, id: fromStage.result };
        const inputs = fromStage === undefined ? [parent] : [parent, fromStage.result];
        add({ kind: 'copy', mode: 'copy', from, sources: step.copy, dest: step.dest, link: false, parents: false, exclude: [] }, `COPY ${step.copy.join(' ')} ${step.dest}`, inputs);
      } else if ('env' in step) {
        env = [...env, step.env];
        const [k = '', v = ''] = step.env.split('=');
        add({ kind: 'meta', change: { Env: [`${k}=${v}`] } }, `ENV ${step.env}`, [parent]);
      } else if ('label' in step) {
        const [k = '', v = ''] = step.label.split('=');
        add({ kind: 'meta', change: { Labels: { [k]: v } } }, `LABEL ${step.label}`, [parent]);
      } else {
        add({ kind: 'mkdir', path: step.workdir, user: '' }, `WORKDIR ${step.workdir}`, [parent]);
      }
    }
    const result = ids[ids.length - 1];
    if (result === undefined) throw new Error('empty stage');
    stages.push({ index, ...(spec.name === undefined ? {} : { name: spec.name }), platform: PLATFORM, vertices: ids, result, config: {} });
  });
  return { vertices, stages, target: stages.length - 1 };
}
