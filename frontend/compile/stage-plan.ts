import { expandInScope, globalArgScope, type GlobalArgOptions } from './global-args.js';
import type { Instruction } from '../ast.js';
import { parseWithSource } from '../parser/parse-dockerfile.js';
import { DockerfileError } from '../errors.js';
import { expandFromPlatform, FromPlatformError } from './from-platform.js';
import { nearest } from '../parser/suggest.js';
import type { SourceText } from '../parser/source-text.js';
import type { SourceRange } from '../graph.js';

// Which stages the target needs and in which order to build them. A stage depends on another through
// `FROM <earlier stage>`, `COPY --from=<stage name or index>` and `RUN --mount=…,from=<stage>`; a `--from` that names
// no stage is an image. Stage references are never variable-expanded (as in BuildKit).

/** One FROM and the instructions under it. */
export interface StageSource {
  index: number;
  name?: string;
  from: Instruction;
  /** The FROM image reference after expansion with the global args. */
  baseName: string;
  instructions: Instruction[];
}

/** A reference from an instruction to another stage or an image. */
export interface StageLink { inst: Instruction; ref: string; stage?: number }

/**
 * Resolves a --from / from= value to a stage index (name, case-insensitive, or number), or undefined for an image. A
 * name given to two stages means the last one, as in BuildKit (its stages by name are looked up once all are added).
 */
export function findStage(stages: StageSource[], ref: string): number | undefined {
  if (/^\d+$/.test(ref)) return Number(ref);
  const lower = ref.toLowerCase();
  return stages.findLast((s) => s.name === lower)?.index;
}

/** Every stage/image reference a stage makes, in instruction order. */
export function stageLinks(stage: StageSource, stages: StageSource[], src: SourceText): StageLink[] {
  const links: StageLink[] = [];
  const add = (inst: Instruction, ref: string, needle: string): void => {
    if (/\$/.test(ref)) {
      const at = src.find(inst.location, needle);
      // BuildKit's own words, which its tests (testDockerfileCopyFromArgs) and the users' scripts match whole: a mount's
      // from= (instructions/commands_runmount.go parseMount), --from (dockerfile2llb convert.go, toCommand) with its
      // workaround as part of the message.
      if (inst.keyword === 'RUN') throw new DockerfileError(at, "'from' doesn't support variable expansion, define alias stage instead");
      if (needle.startsWith('--from')) throw new DockerfileError(at, 'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround');
      throw new DockerfileError(at, `variable expansion is not supported for ${needle.split('=')[0] ?? ''}`, 'define a stage with FROM using a global ARG, and refer to it by name');
    }
    const index = findStage(stages, ref);
    if (index !== undefined && (index < 0 || index >= stages.length)) {
      throw new DockerfileError(src.find(inst.location, needle), `invalid stage index ${ref}`, `stage indexes run from 0 to ${stages.length - 1}`);
    }
    // Stages dispatch in file order in BuildKit, so one named further down is not built yet when this one reads it
    // (dockerfile2llb dispatch, COPY: `!src.dispatched`; convert_runmount.go dispatchRunMounts, the same for a mount).
    if (index !== undefined && index > stage.index) {
      const current = stage.name ?? `stage-${stage.index}`;
      const mountTarget = /(?:^|,)(?:target|dst|destination)=([^,]*)/.exec(inst.flags.find((f) => f.name === 'mount' && f.raw.includes(needle))?.value ?? '')?.[1] ?? '';
      const message = inst.keyword === 'RUN'
        ? `cannot mount from stage "${ref}" to "${mountTarget}", stage needs to be defined before current command`
        : `cannot copy from stage "${ref}", it needs to be defined before current stage "${current}"`;
      throw new DockerfileError(src.find(inst.location, needle), message, `move stage "${ref}" above stage "${current}" in the Dockerfile`);
    }
    links.push(index === undefined ? { inst, ref } : { inst, ref, stage: index });
  };
  for (const inst of stage.instructions) {
    for (const flag of inst.flags) {
      if (inst.keyword === 'COPY' && flag.name === 'from' && flag.value !== undefined) add(inst, flag.value, flag.raw);
      if (inst.keyword === 'RUN' && flag.name === 'mount' && flag.value !== undefined) {
        const m = /(?:^|,)from=([^,]*)/.exec(flag.value);
        if (m?.[1] !== undefined) add(inst, m[1], `from=${m[1]}`);
      }
    }
  }
  return links;
}

/** The target stage's index: by name (`--target`) or the last stage. */
export function targetIndex(stages: StageSource[], target: string | undefined, src: SourceText): number {
  if (target === undefined || target === '') return stages.length - 1;
  const index = stages.findLast((s) => s.name === target.toLowerCase())?.index;
  if (index === undefined) {
    const names = stages.flatMap((s) => (s.name ? [s.name] : []));
    const guess = nearest(target, names, { caseSensitive: true });
    throw new DockerfileError(src.at(1, 1), `target stage "${target}" could not be found`, guess ? `did you mean ${guess}?` : names.length ? `stages are: ${names.join(', ')}` : 'name a stage with FROM <image> AS <name>');
  }
  return index;
}

/**
 * The stages the target needs, dependencies first (each stage after everything it reads from). Throws on a cycle,
 * pointing at the instruction that closes it.
 */
export function orderStages(stages: StageSource[], target: number, deps: Map<number, StageLink[]>, baseOf: Map<number, number>, src: SourceText): number[] {
  const order: number[] = [];
  const state = new Map<number, 'visiting' | 'done'>();
  // Depth-first with an explicit stack (a chain of 10,000 stages must not overflow the call stack): each frame holds
  // a stage and the links it still has to visit, its base first.
  const linksOf = (i: number): Array<{ stage: number; via: Instruction | undefined }> => {
    const out: Array<{ stage: number; via: Instruction | undefined }> = [];
    const base = baseOf.get(i);
    if (base !== undefined) out.push({ stage: base, via: stages[i]?.from });
    for (const link of deps.get(i) ?? []) if (link.stage !== undefined) out.push({ stage: link.stage, via: link.inst });
    return out;
  };
  const enter = (i: number, via: Instruction | undefined): boolean => {
    const s = state.get(i);
    if (s === 'done') return false;
    if (s === 'visiting') {
      const at = via ? via.location : src.at(1, 1);
      throw new DockerfileError(at, `circular dependency detected on stage: ${stages[i]?.name ?? String(i)}`, 'a stage cannot copy from itself or from a stage that depends on it');
    }
    state.set(i, 'visiting');
    return true;
  };
  enter(target, undefined);
  const stack = [{ stage: target, links: linksOf(target), next: 0 }];
  for (let top = stack.at(-1); top !== undefined; top = stack.at(-1)) {
    const link = top.links[top.next++];
    if (link === undefined) {
      stack.pop();
      state.set(top.stage, 'done');
      order.push(top.stage);
    } else if (enter(link.stage, link.via)) {
      stack.push({ stage: link.stage, links: linksOf(link.stage), next: 0 });
    }
  }
  return order;
}

/**
 * The FROM references of the stages `target` (default: the last) needs that stand on an image rather than on an
 * earlier stage, in stage order: the same plan compile follows (stageLinks, orderStages), for a caller that asks for
 * those images before compiling (builder/base-prefetch.ts, builder/build-checks.ts). With `args`, each FROM is expanded
 * in the global ARG scope as compile expands it (`FROM $BASE` → `debian`); without, it is as written. A stage named in
 * `replaced` (a `--build-context` of that name) needs no base and reads no other stage: its instructions are dropped.
 * Throws, as compile does, for a Dockerfile that does not parse or a target or stage reference that is not there.
 */
export function neededStageBases(text: string, target?: string, opts: { args?: GlobalArgOptions; replaced?: string[] } = {}): string[] {
  return neededStageFroms(text, target, opts).map((f) => f.baseName);
}

/**
 * A stage's FROM image: its reference (expanded as neededStageBases does), where the line writes it, and its
 * `--platform` flag when it has one (expanded the same way), with, when that names no platform and the global ARGs
 * were given, the error compile refuses it with.
 */
export interface StageFrom { baseName: string; at: SourceRange; platform?: string; platformError?: FromPlatformError }

/**
 * neededStageBases with where each FROM writes its image, for an error about that reference. `allStages`: every
 * stage's, as BuildKit's check converts every stage when no target is given.
 */
export function neededStageFroms(text: string, target?: string, opts: { args?: GlobalArgOptions; replaced?: string[]; allStages?: boolean; file?: string } = {}): StageFrom[] {
  const { stages, order, baseOf, replaced, src, expand, scope, escapeToken } = stagePlan(text, target, opts);
  return order.filter((i) => !baseOf.has(i) && !replaced.has(stages[i]?.name ?? '')).sort((a, b) => a - b).flatMap((i) => {
    const s = stages[i];
    if (s === undefined) return [];
    const from: StageFrom = { baseName: s.baseName, at: src.find(s.from.location, s.from.args[0] ?? '') };
    const platform = s.from.flags.find((f) => f.name === 'platform')?.value;
    if (platform === undefined) return [from];
    from.platform = expand(platform);
    if (scope !== undefined) {
      try {
        expandFromPlatform(platform, scope, escapeToken, src.find(s.from.location, platform));
      } catch (err) {
        if (!(err instanceof FromPlatformError)) throw err;
        from.platformError = err;
      }
    }
    return [from];
  });
}

/**
 * The indexes of the stages a build of `target` (default: the last) dispatches, in Dockerfile order: what BuildKit's
 * dispatchStages walks without AllStages, so the checks it runs while dispatching (UndefinedVar, CopyIgnoredFile …)
 * see only these. Throws as neededStageFroms.
 */
export function neededStageIndexes(text: string, target?: string, opts: { args?: GlobalArgOptions; replaced?: string[]; file?: string } = {}): number[] {
  const { stages, order, replaced } = stagePlan(text, target, opts);
  // A stage a named context replaces is never dispatched: the context stands in for it.
  return order.filter((i) => !replaced.has(stages[i]?.name ?? '')).sort((a, b) => a - b);
}

function stagePlan(text: string, target: string | undefined, opts: { args?: GlobalArgOptions; replaced?: string[]; allStages?: boolean; file?: string }) {
  const { dockerfile, src } = parseWithSource(text, opts.file);
  const scope = opts.args ? globalArgScope(dockerfile, { ...opts.args, ...(target ? { target } : {}) }) : undefined;
  const expand = (written: string): string => (scope ? expandInScope(written, scope, dockerfile.escapeToken) : written);
  const replaced = new Set(opts.replaced ?? []);
  const stages: StageSource[] = [];
  for (const inst of dockerfile.instructions) {
    if (inst.keyword === 'FROM') {
      const name = inst.args.length === 3 ? inst.args[2]?.toLowerCase() : undefined;
      const baseName = expand(inst.args[0] ?? '');
      stages.push({ index: stages.length, from: inst, baseName, instructions: [], ...(name === undefined ? {} : { name }) });
    } else if (!replaced.has(stages[stages.length - 1]?.name ?? '')) {
      stages[stages.length - 1]?.instructions.push(inst);
    }
  }
  const deps = new Map(stages.map((s) => [s.index, stageLinks(s, stages, src)]));
  const baseOf = new Map<number, number>();
  for (const s of stages) {
    const base = stages.findLast((o) => o.index < s.index && o.name === s.baseName.toLowerCase());
    if (base) baseOf.set(s.index, base.index);
  }
  const order = opts.allStages === true ? stages.map((s) => s.index) : orderStages(stages, targetIndex(stages, target, src), deps, baseOf, src);
  return { stages, order, baseOf, replaced, src, expand, scope, escapeToken: dockerfile.escapeToken };
}
