import type { ContainerConfig, Platform } from '../../registry/oci/index.js';
import type { Instruction } from '../ast.js';
import { DockerfileError, withSource } from '../errors.js';
import type { BuildGraph, CopyOp, Stage, Vertex, VertexId } from '../graph.js';
import { parseDockerfile, parseWithSource } from '../parser/parse-dockerfile.js';
import { processWord, ShellSyntaxError } from '../shell/lex.js';
import { dispatchCopy } from './dispatch-copy.js';
import { imageKey, planBuild, type ResolvedImage } from './build-plan.js';
import { dispatchMeta } from './dispatch-meta.js';
import { dispatchRun } from './dispatch-run.js';
import { normalizeWorkdir } from './paths.js';
import type { CompileOptions } from './options.js';
import { setGlobalArg } from './global-args.js';
import { automaticArgs, targetStageName } from './platform-args.js';
import { findStage, targetIndex } from './stage-plan.js';
import type { StageSource } from './stage-plan.js';
import { pushVertex } from './stage-state.js';
import type { DispatchContext, StageState } from './stage-state.js';
import { namedContextKey } from '../../common/index.js';

// Dockerfile → BuildGraph. Decisions worth knowing:
// - FROM <image>/scratch is the stage's step 0 (ImageOp/ScratchOp, id `s<i>.0`). FROM <stage> adds no vertex: the
//   stage's vertices start with the parent stage's result id and its own steps are numbered from 1.
// - An image read by COPY --from / RUN --mount from= gets a source vertex `s<i>.<step>.from<k>` just before the step.
// - ARG makes a MetaOp (history `ARG k=default`, as BuildKit); ONBUILD only edits config.OnBuild, no vertex.
// - Only stages the target reaches are expanded, resolved and dispatched; images are resolved concurrently.

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The most steps one build may need. Each step's cache key and record carry the stage's whole environment and config,
 * so cost grows with the square of the steps: 5,000 ENV lines took 11 s and 1.7 GB, 10,000 exhausted a 4 GB heap.
 * Real Dockerfiles need a few hundred at most.
 */
export const MAX_BUILD_STEPS = 5_000;

/**
 * What the steps of a build may carry, summed over every step: each step keeps its stage's whole environment, args
 * and labels (keyed, recorded, written to the history), so a 600-byte Dockerfile that doubles an ENV value eighteen
 * times made 40 MiB of environment that every later step carried (86 s, 2.5 GB of memory, a 1.7 GB cache.db).
 * BuildKit refuses such a build at its gRPC message limit (16 MiB, the definition carries each RUN's env).
 */
export const MAX_PLAN_BYTES = 32 * 1024 * 1024;

/** The bytes a step of `st` carries: its environment, args and labels. */
function carriedBytes(st: StageState): number {
  let n = 0;
  for (const [k, v] of st.env) n += k.length + v.length;
  for (const a of st.args) n += a.key.length + (a.value?.length ?? 0);
  for (const [k, v] of Object.entries(st.config.Labels ?? {})) n += k.length + v.length;
  return n;
}

/** Compiles Dockerfile text into the build graph of the target stage. Bad input throws DockerfileError only. */
export async function compile(text: string, opts: CompileOptions): Promise<BuildGraph> {
  const file = opts.file ?? 'Dockerfile';
  try {
    return await compileText(text, file, opts);
  } catch (err) {
    throw withSource(err, { file, text });   // a located error carries the text it points into, for the caret
  }
}

async function compileText(text: string, file: string, opts: CompileOptions): Promise<BuildGraph> {
  const { dockerfile: df, src } = parseWithSource(text, file);
  const buildArgs = opts.buildArgs ?? {};
  const globalArgs = automaticArgs(opts.platform, opts.buildPlatform, targetStageName(df, opts.target), buildArgs);
  const expandGlobal = (inst: Instruction, word: string, used?: Record<string, string>): string => {
    try {
      const r = processWord(word, (n) => globalArgs.get(n), { escapeToken: df.escapeToken });
      if (used) for (const n of r.matched) used[n] = globalArgs.get(n) ?? '';
      return r.result;
    } catch (err) {
      if (err instanceof ShellSyntaxError) throw new DockerfileError(src.find(inst.location, word), `failed to process "${word.length > 80 ? `${word.slice(0, 77)}...` : word}": ${err.message}`);
      throw err;
    }
  };

  // Global scope: ARGs before the first FROM; anything else there is an error.
  const stages: StageSource[] = [];
  for (const inst of df.instructions) {
    if (inst.keyword === 'FROM') {
      // A name may be given twice: BuildKit only warns (DuplicateStageName), and a reference means the last stage of
      // that name above it for FROM, the last in the file for --from and --target (dispatchStates.statesByName).
      const name = inst.args.length === 3 ? inst.args[2]?.toLowerCase() : undefined;
      const stage: StageSource = { index: stages.length, from: inst, baseName: '', instructions: [] };
      if (name !== undefined) stage.name = name;
      stages.push(stage);
    } else if (stages.length > 0) {
      stages[stages.length - 1]?.instructions.push(inst);
    } else if (inst.keyword === 'ARG') {
      for (const word of inst.args) setGlobalArg(globalArgs, word, buildArgs, (text) => expandGlobal(inst, text));
    } else {
      throw new DockerfileError(src.find(inst.location, inst.original.trim().split(/\s/)[0] ?? ''), `${inst.keyword} is not allowed before the first FROM`, 'only ARG may come before FROM; start the stage with FROM <image>');
    }
  }
  if (stages.length === 0) {
    // BuildKit's words (dockerfile2llb toDispatchState), which scripts and BuildKit's own tests look for.
    throw new DockerfileError(df.instructions[0]?.location ?? src.at(1, 1), 'dockerfile contains no stages to build', 'start the Dockerfile with FROM <image>');
  }

  // Named contexts (--build-context): one named like a stage replaces it wholly, as in BuildKit (dockerfile2llb
  // toDispatchState: the stage's own instructions are dropped). An image one makes the stage `FROM <its name>`, which
  // the caller resolves to the named image; a local directory becomes the stage's whole filesystem (`localBase`).
  const named = opts.namedContexts ?? {};
  // Looked up by the reference's familiar name (`alpine:latest`, `docker.io/library/alpine` → `alpine`), as BuildKit.
  const kindOf = (ref: string): 'image' | 'local' | 'scratch' | undefined => named[namedContextKey(ref)];
  const isLocal = (ref: string): boolean => findStage(stages, ref) === undefined && kindOf(ref) === 'local';
  const replaced = new Set<number>();
  for (const s of stages) {
    const kind = s.name === undefined ? undefined : kindOf(s.name);
    if (kind === undefined) continue;
    replaced.add(s.index);
    s.instructions = [];
  }
  // Stages, platforms and images: what the target needs, ONBUILD triggers of its base images included (build-plan.ts).
  const { order, platforms, fromUsed, images, baseOf, localBase, bare } = await planBuild({
    stages, src, file, target: targetIndex(stages, opts.target, src), replaced, kindOf, isLocal, expandGlobal, globalArgs, escapeToken: df.escapeToken, opts,
  });

  // Dispatch the stages in order.
  const out: Vertex[] = [];
  const built = new Map<number, Stage>();
  // Each dispatched stage's final state: a stage built FROM it starts from that state (startStage).
  const ended = new Map<number, StageState>();
  const imageSources = new Map<string, number>();
  const ctx: DispatchContext = {
    src,
    escapeToken: df.escapeToken,
    out,
    buildArgs,
    globalArgs,
    fromVertex: (ref: string, st: StageState, inst: Instruction): VertexId => {
      const index = findStage(stages, ref);
      if (index !== undefined) {
        const result = built.get(index)?.result;
        if (result === undefined) throw new Error(`stage ${index} used before it was built`);
        return result;
      }
      const image = images.get(imageKey(ref, st.platform));
      if (!image) throw new Error(`image ${ref} was not resolved`);
      const step = `s${st.index}.${st.step + 1}`;
      const k = imageSources.get(step) ?? 0;
      imageSources.set(step, k + 1);
      const id = `${step}.from${k}`;
      out.push({ id, op: { kind: 'image', ref: image.ref, digest: image.digest, platform: st.platform }, inputs: [], text: `FROM ${image.ref}`, location: inst.location, stage: st.index, args: {}, emptyLayer: true });
      return id;
    },
    fromSource(ref: string, st: StageState, inst: Instruction) {
      return isLocal(ref) ? { kind: 'context' as const, name: namedContextKey(ref) } : { kind: 'vertex' as const, id: ctx.fromVertex(ref, st, inst) };
    },
  };
  let carried = 0;
  for (const i of order) {
    const s = stages[i];
    const platform = platforms.get(i);
    if (!s || !platform) continue;
    const st = startStage(s, platform, baseOf.get(i), ended, images, fromUsed.get(i) ?? {}, out);
    const local = localBase.get(i);
    if (local !== undefined) fromLocalContext(st, ctx, s.from, local);
    if (bare.has(i)) {
      st.config = {};
      st.env = [];
    }
    const isReadable = (ref: string): boolean => {
      const index = findStage(stages, ref);
      return index === undefined ? images.has(imageKey(ref, platform)) : built.has(index);
    };
    const triggers = onbuildTriggers(st, s.from, file, isReadable);
    for (const inst of [...triggers, ...s.instructions]) {
      const firstNew = out.length;
      if (inst.keyword === 'RUN') dispatchRun(inst, st, ctx);
      else if (inst.keyword === 'COPY' || inst.keyword === 'ADD') dispatchCopy(inst, st, ctx);
      else if (!dispatchMeta(inst, st, ctx)) throw new Error(`no dispatcher for ${inst.keyword}`);
      if (triggers.includes(inst)) for (const v of out.slice(firstNew)) v.onbuild = true;
      if (out.length > MAX_BUILD_STEPS) {
        throw new DockerfileError(inst.location, `the build needs more than ${MAX_BUILD_STEPS} steps`, 'split the build: every step keeps its whole environment and configuration, so a build this long takes gigabytes');
      }
      carried += carriedBytes(st);
      if (carried > MAX_PLAN_BYTES) {
        throw new DockerfileError(inst.location, `the build's steps carry more than ${MAX_PLAN_BYTES / 1024 / 1024} MiB of environment, args and labels`,
          'every step keeps its stage\'s whole environment: keep large values out of ENV, ARG and LABEL (read them from a file in the step)');
      }
    }
    ended.set(i, st);
    const stage: Stage = { index: i, platform, vertices: st.vertices, result: st.parent, config: st.config };
    if (s.name !== undefined) stage.name = s.name;
    const baseImage = baseOf.has(i) ? undefined : images.get(imageKey(s.baseName, platform));
    if (baseImage) stage.base = baseImage;
    else if (baseOf.has(i)) {
      const parentBase = built.get(baseOf.get(i) ?? -1)?.base;
      if (parentBase) stage.base = parentBase;
    }
    built.set(i, stage);
  }
  const stageList = order.map((i) => built.get(i)).filter((s): s is Stage => s !== undefined);
  return { vertices: out, stages: stageList, target: stageList.length - 1 };
}

/**
 * The base's ONBUILD triggers, parsed, located at this stage's FROM, and removed from the config (they fire once,
 * as in docker). A trigger's COPY --from may only name a stage already built or an image already resolved.
 */
function onbuildTriggers(st: StageState, from: Instruction, file: string, isReadable: (ref: string) => boolean): Instruction[] {
  const triggers = st.config.OnBuild ?? [];
  if (triggers.length === 0) return [];
  delete st.config.OnBuild;
  const out: Instruction[] = [];
  for (const trigger of triggers) {
    let parsed: Instruction[];
    try {
      parsed = parseDockerfile(trigger, file).instructions;
    } catch (err) {
      if (err instanceof DockerfileError) throw new DockerfileError(from.location, `invalid ONBUILD trigger in the base image: ${err.detail}`, err.hint, { cause: err });
      throw err;
    }
    for (const inst of parsed) {
      if (['FROM', 'ONBUILD', 'MAINTAINER'].includes(inst.keyword)) throw new DockerfileError(from.location, `${inst.keyword} isn't allowed as an ONBUILD trigger`, `the base image's ONBUILD triggers are malformed: rebuild it without ONBUILD ${inst.keyword}`);
      const fromFlag = inst.flags.find((f) => f.name === 'from' || (f.name === 'mount' && /(?:^|,)from=/.test(f.value ?? '')));
      if (fromFlag) {
        const ref = fromFlag.name === 'from' ? (fromFlag.value ?? '') : (/(?:^|,)from=([^,]*)/.exec(fromFlag.value ?? '')?.[1] ?? '');
        if (!isReadable(ref)) {
          throw new DockerfileError(from.location, `the base image's ONBUILD trigger "${trigger}" reads from "${ref}", which is not a stage built before this one`, 'build that stage earlier, or copy from it explicitly');
        }
      }
      out.push({ ...inst, location: from.location });
    }
  }
  return out;
}

/**
 * A stage whose filesystem is a local named context: the directory copied onto scratch (its files owned by root, as
 * COPY gives them; BuildKit's local source keeps the client's owners). History names it as BuildKit's exporter does a
 * layer without history ("local source for NAME").
 */
function fromLocalContext(st: StageState, ctx: DispatchContext, from: Instruction, name: string): void {
  const op: CopyOp = { kind: 'copy', mode: 'copy', from: { kind: 'context', name }, sources: ['.'], dest: '/', link: false, parents: false, exclude: [] };
  pushVertex(st, ctx, { op, inputs: [st.parent], text: `local source for ${name}`, location: from.location, args: {}, emptyLayer: false });
}

function startStage(s: StageSource, platform: Platform, base: number | undefined, ended: Map<number, StageState>, images: Map<string, ResolvedImage>, used: Record<string, string>, out: Vertex[]): StageState {
  let config: ContainerConfig;
  let parent: VertexId;
  const vertices: VertexId[] = [];
  if (base !== undefined) {
    const from = ended.get(base);
    if (!from) throw new Error(`stage ${base} not built before stage ${s.index}`);
    // BuildKit's dispatchState.init: a stage FROM another starts from that stage's state, its build environment with
    // the ARG values in it and its declared ARGs (RUN sees them, and their `|N k=v` history prefix), not only its config.
    return {
      index: s.index, platform, config: structuredClone(from.config), env: structuredClone(from.env), args: structuredClone(from.args),
      workdir: from.config.WorkingDir || '/', user: from.config.User ?? '', cmdSet: false, parent: from.parent, vertices: [from.parent], step: 0,
    };
  } else {
    const isScratch = s.baseName.toLowerCase() === 'scratch';
    const image = images.get(imageKey(s.baseName, platform));
    // scratch starts from BuildKit's emptyImage (dockerfile2llb image.go): its config has WorkingDir "/" (and PATH,
    // added below for every stage), which the image keeps unless a WORKDIR changes it.
    config = isScratch ? { WorkingDir: '/' } : structuredClone(image?.config.config ?? {});
    parent = `s${s.index}.0`;
    const op = isScratch || !image ? { kind: 'scratch' as const, platform } : { kind: 'image' as const, ref: image.ref, digest: image.digest, platform };
    out.push({ id: parent, op, inputs: [], text: `FROM ${isScratch ? 'scratch' : (image?.ref ?? s.baseName)}`, location: s.from.location, stage: s.index, args: used, emptyLayer: true });
    vertices.push(parent);
  }
  const env = config.Env ?? [];
  // PATH is left to the OS on windows (BuildKit #5445: emptyImage and the dispatch loop in convert.go skip it).
  if (!env.some((e) => e.startsWith('PATH=')) && platform.os !== 'windows') config.Env = [...env, `PATH=${DEFAULT_PATH}`];
  // dockerfile2llb replays the base config's WorkingDir as a WORKDIR (convert.go, dispatchWorkdir without commit):
  // system.NormalizeWorkdir roots the current value and joins the same value to it when relative, so a base's
  // "app" becomes /app/app in RUN, COPY, later WORKDIRs and the config written; an absolute one is only cleaned.
  if (config.WorkingDir) config.WorkingDir = normalizeWorkdir(config.WorkingDir, config.WorkingDir);
  // addEnv's rule (a later KEY replaces an earlier one in place) through an index: a base config of 100,000 ENV
  // entries took 16 s of compile with addEnv's linear search.
  const stateEnv: [string, string][] = [];
  const at = new Map<string, number>();
  for (const e of config.Env ?? []) {
    const eq = e.indexOf('=');
    const key = eq >= 0 ? e.slice(0, eq) : e;
    const i = at.get(key);
    if (i === undefined) at.set(key, stateEnv.push([key, eq >= 0 ? e.slice(eq + 1) : '']) - 1);
    else stateEnv[i] = [key, eq >= 0 ? e.slice(eq + 1) : ''];
  }
  return { index: s.index, platform, config, env: stateEnv, args: [], workdir: config.WorkingDir || '/', user: config.User ?? '', cmdSet: false, parent, vertices, step: 0 };
}
