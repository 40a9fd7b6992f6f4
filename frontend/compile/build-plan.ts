import { formatPlatformAll } from '../../registry/oci/index.js';
import type { Digest, ImageConfig, Platform } from '../../registry/oci/index.js';
import { isTsbuildError, namedContextKey } from '../../common/index.js';
import type { Instruction } from '../ast.js';
import { DockerfileError, invalidBaseReference, LocatedError, locationOf } from '../errors.js';
import { parseDockerfile } from '../parser/parse-dockerfile.js';
import type { SourceText } from '../parser/source-text.js';
import { expandFromPlatform } from './from-platform.js';
import type { CompileOptions } from './options.js';
import { orderStages, stageLinks } from './stage-plan.js';
import type { StageLink, StageSource } from './stage-plan.js';

// Which stages a build dispatches, on which platforms, and every image they read, resolved. A base image's ONBUILD
// triggers may read stages and images the Dockerfile itself never names (`ONBUILD COPY --from=alpine …`, a trigger's
// `RUN --mount=from=inputstage`): once the bases are resolved their triggers' links join the plan, and what that adds is
// planned and resolved in turn, until nothing new comes (BuildKit's resolveStages does the same).

/** An image a stage reads, as the caller's resolveImage answered. */
export type ResolvedImage = { ref: string; digest: Digest; config: ImageConfig };

/** The key of an image in BuildPlan.images: the reference as written, for one platform. */
export function imageKey(ref: string, platform: Platform): string {
  return `${ref}|${formatPlatformAll(platform)}`;
}

/** What compile dispatches (see the file's comment). */
export interface BuildPlan {
  /** The stages the target needs, each after every stage it reads. */
  order: number[];
  platforms: Map<number, Platform>;
  /** The global ARGs each FROM line used, with their values (the FROM step's key). */
  fromUsed: Map<number, Record<string, string>>;
  images: Map<string, ResolvedImage>;
  /** A stage FROM an earlier stage: that stage's index. */
  baseOf: Map<number, number>;
  /** Each stage's links to stages and images: its own, its base stage's triggers', its base image's triggers'. */
  deps: Map<number, StageLink[]>;
  /** Stages whose filesystem is a local named context, by that context's name (see compile). */
  localBase: Map<number, string>;
  /** Replaced stages that have no image config at all (a directory, or docker-image://scratch). */
  bare: Set<number>;
}

/** What planning needs from compile: the stages and how compile expands and names things. */
export interface PlanInput {
  stages: StageSource[];
  src: SourceText;
  file: string;
  target: number;
  /** Stages a named context replaces (their instructions already dropped). */
  replaced: Set<number>;
  kindOf(ref: string): 'image' | 'local' | 'scratch' | undefined;
  isLocal(ref: string): boolean;
  expandGlobal(inst: Instruction, word: string, used?: Record<string, string>): string;
  globalArgs: ReadonlyMap<string, string>;
  escapeToken: '\\' | '`';
  opts: Pick<CompileOptions, 'platform' | 'resolveImage'>;
}

/** Plans the build of `input.target`: see BuildPlan. */
export async function planBuild(input: PlanInput): Promise<BuildPlan> {
  const { stages, src, replaced, kindOf } = input;
  const plan: BuildPlan = {
    order: [], platforms: new Map(), fromUsed: new Map(), images: new Map(), baseOf: new Map(),
    deps: new Map(stages.map((s) => [s.index, stageLinks(s, stages, src)])), localBase: new Map(), bare: new Set(),
  };
  const provisional = new Set<number>();
  // A worklist, not recursion: a chain of 10,000 stages must not overflow the call stack.
  const pending = [input.target];
  const mark = (i: number): void => {
    if (!provisional.has(i)) pending.push(i);
  };
  const triggered = new Set<number>();
  for (;;) {
    for (let i = pending.pop(); i !== undefined; i = pending.pop()) {
      if (provisional.has(i)) continue;
      provisional.add(i);
      const s = stages[i];
      if (!s) continue;
      s.baseName = replaced.has(i) ? (s.name ?? '') : input.expandGlobal(s.from, s.from.args[0] ?? '');
      const kind = stages.some((o) => o.index < i && o.name === s.baseName.toLowerCase()) ? undefined : kindOf(s.baseName);
      if (kind === 'local') plan.localBase.set(i, namedContextKey(s.baseName));
      if (kind === 'local' || kind === 'scratch') s.baseName = 'scratch';
      if ((kind === 'local' || kind === 'scratch') && replaced.has(i)) plan.bare.add(i);
      const base = stages.findLast((o) => o.index < i && o.name === s.baseName.toLowerCase());
      if (base) {
        plan.baseOf.set(i, base.index);
        mark(base.index);
        // The base stage's own ONBUILD triggers run in this stage, so what they read (COPY --from, RUN --mount
        // from=) is this stage's dependency, as in BuildKit (testOnBuildInheritedStageWithFrom).
        const triggers = base.instructions.flatMap((inst) => (inst.trigger ? [inst.trigger] : []));
        if (triggers.length > 0) plan.deps.set(i, [...(plan.deps.get(i) ?? []), ...stageLinks({ ...s, instructions: triggers }, stages, src)]);
      }
      for (const l of plan.deps.get(i) ?? []) if (l.stage !== undefined) mark(l.stage);
    }
    plan.order = orderStages(stages, input.target, plan.deps, plan.baseOf, src);
    setPlatforms(plan, input);
    await resolveImages(plan, input);
    // The triggers of each newly resolved base image: their links, new stages marked for the next round.
    let grew = false;
    for (const i of plan.order) {
      const s = stages[i];
      const platform = plan.platforms.get(i);
      if (!s || !platform || plan.baseOf.has(i) || triggered.has(i)) continue;
      const image = plan.images.get(imageKey(s.baseName, platform));
      if (image === undefined) continue;
      triggered.add(i);
      const links = stageLinks({ ...s, instructions: triggerInstructions(image.config.config?.OnBuild ?? [], s.from, input.file) }, stages, src);
      if (links.length === 0) continue;
      plan.deps.set(i, [...(plan.deps.get(i) ?? []), ...links]);
      for (const l of links) if (l.stage !== undefined) mark(l.stage);
      grew = true;
    }
    if (!grew) return plan;
  }
}

/**
 * A base image's ONBUILD triggers as instructions at the stage's FROM, for their links only: one that does not parse
 * is left out here and refused when the stage is dispatched (compile's onbuildTriggers).
 */
function triggerInstructions(triggers: string[], from: Instruction, file: string): Instruction[] {
  return triggers.flatMap((trigger) => {
    try {
      return parseDockerfile(trigger, file).instructions.map((inst) => ({ ...inst, location: from.location }));
    } catch {
      return [];
    }
  });
}

/** Each planned stage's platform (its FROM --platform, else its base stage's, else the build's) and the ARGs its FROM used. */
function setPlatforms(plan: BuildPlan, input: PlanInput): void {
  const { stages, src } = input;
  for (const i of plan.order) {
    const s = stages[i];
    if (!s || plan.platforms.has(i)) continue;
    const used: Record<string, string> = {};
    input.expandGlobal(s.from, s.from.args[0] ?? '', used);
    const pflag = s.from.flags.find((f) => f.name === 'platform')?.value;
    let platform = plan.baseOf.has(i) ? (plan.platforms.get(plan.baseOf.get(i) ?? -1) ?? input.opts.platform) : input.opts.platform;
    if (pflag !== undefined) {
      const expanded = expandFromPlatform(pflag, input.globalArgs, input.escapeToken, src.find(s.from.location, pflag));
      for (const n of expanded.matched) used[n] = input.globalArgs.get(n) ?? '';
      platform = expanded.platform;
    }
    plan.platforms.set(i, platform);
    plan.fromUsed.set(i, used);
  }
}

/** Resolves, concurrently, every image the planned stages read that is not resolved yet. */
async function resolveImages(plan: BuildPlan, input: PlanInput): Promise<void> {
  const { stages, src } = input;
  const wanted = new Map<string, { ref: string; platform: Platform; inst: Instruction }>();
  const want = (ref: string, platform: Platform, inst: Instruction): void => {
    const key = imageKey(ref, platform);
    if (!plan.images.has(key)) wanted.set(key, { ref, platform, inst });
  };
  for (const i of plan.order) {
    const s = stages[i];
    const platform = plan.platforms.get(i);
    if (!s || !platform) continue;
    if (!plan.baseOf.has(i) && s.baseName.toLowerCase() !== 'scratch') want(s.baseName, platform, s.from);
    for (const l of plan.deps.get(i) ?? []) if (l.stage === undefined && !input.isLocal(l.ref)) want(l.ref, platform, l.inst);
  }
  await Promise.all(
    [...wanted].map(async ([key, w]) => {
      if (w.ref === '') throw new DockerfileError(w.inst.location, 'FROM needs an image reference', 'write FROM <image>');
      try {
        plan.images.set(key, await input.opts.resolveImage(w.ref, w.platform));
      } catch (err) {
        // A malformed reference is a mistake in the Dockerfile: point at its line (exit 1, as buildx), not at usage.
        if (isTsbuildError(err) && err.code === 'INVALID_REFERENCE') {
          throw invalidBaseReference(src.find(w.inst.location, w.ref), w.ref, err);
        }
        // Where the image was asked for, as BuildKit says it (`bsae: failed to resolve source metadata …`); a --from
        // that names no stage was taken for an image, which a typo of a stage name also is.
        if (isTsbuildError(err) && locationOf(err) === undefined) {
          const names = stages.flatMap((s) => (s.name === undefined ? [] : [s.name]));
          const typo = w.inst.keyword !== 'FROM' && !/[/:.@]/.test(w.ref)
            ? `no stage is named "${w.ref}"${names.length > 0 ? ` (the stages: ${names.join(', ')})` : ''}, so it was looked up as an image; ${err.hint ?? 'check the name'}` : undefined;
          throw new LocatedError(src.find(w.inst.location, w.ref), `${w.ref}: failed to resolve source metadata: ${err.message}`, err, typo);
        }
        throw err;
      }
    }),
  );
}
