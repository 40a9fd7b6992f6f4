import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { targetError } from './errors.js';
import { setKey } from './value.js';
import { writeMetadataObject } from '../metadata-file.js';
import type { Resolved } from './resolve.js';
import { checkFsEntitlements, setGrants } from './fs-entitlements.js';
import { targetFlags, type BakeRunOptions } from './target-flags.js';
import type { Target } from './target.js';
import { BakeProgress } from './bake-progress.js';
import type { BuildFlags } from '../commands/build-flags.js';
import type { CallAnswer, CallResult, SharedBuild } from '../commands/build.js';
import { callOutput } from './call-output.js';
import type { RunningSteps } from '../../solver/index.js';
import { makeRootTempDir } from '../../worker/index.js';
import { canonicalJson } from '../../registry/index.js';

// Building a resolved bake definition: each target through `tsbuild build`'s own path (commands/build.ts
// runBuildFlags). As buildx builds every target in one solve, the targets build at once: each starts when the targets
// its `target:` contexts name are done. Each dependency also writes an OCI layout (a temp directory) that its
// dependents read as their named context. The builds share the root as concurrent `tsbuild build` processes do: each
// holds the root lock shared, ingests under its own name, and a cache record written twice keeps one (the same step
// in two targets started at once may run in both; a target that starts after another finished a step reuses it).
// The first target to fail cancels the others, as buildx's errgroup does, and the bake fails with its error.

/** The order to build in: dependencies (by `target:` contexts) first, otherwise by name. */
export function buildOrder(targets: Record<string, Target>): string[] {
  const out: string[] = [];
  const placed = new Set<string>();
  // Depth first, with a stack of its own: a chain of targets each using the next is as long as the file makes it.
  // (resolveTargets has refused a cycle.)
  for (const root of Object.keys(targets).sort()) {
    const stack = [{ name: root, deps: targetDeps(targets[root], targets), next: 0 }];
    const onStack = new Set([root]);
    for (let top = stack.at(-1); top !== undefined; top = stack.at(-1)) {
      const dep = top.deps[top.next++];
      if (dep === undefined) {
        stack.pop();
        onStack.delete(top.name);
        if (!placed.has(top.name)) { placed.add(top.name); out.push(top.name); }
      } else if (!placed.has(dep) && !onStack.has(dep)) {
        stack.push({ name: dep, deps: targetDeps(targets[dep], targets), next: 0 });
        onStack.add(dep);
      }
    }
  }
  return out;
}

/** `warnings` without repeats, in order; two are the same when equal but for `vertex` and `sourceInfo.definition`. */
function dedupWarnings(warnings: unknown[]): unknown[] {
  const seen = new Set<string>();
  return warnings.filter((w) => {
    const { vertex: _vertex, sourceInfo, ...rest } = (w ?? {}) as { vertex?: unknown; sourceInfo?: Record<string, unknown> };
    const { definition: _definition, ...source } = sourceInfo ?? {};
    const key = canonicalJson({ ...rest, ...(sourceInfo ? { sourceInfo: source } : {}) });
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The targets `target`'s `target:` contexts name (those in this bake). */
function targetDeps(target: Target | undefined, targets: Record<string, Target>): string[] {
  return Object.values(target?.contexts ?? {}).flatMap((v) => (v.startsWith('target:') && Object.hasOwn(targets, v.slice('target:'.length)) ? [v.slice('target:'.length)] : []));
}

/**
 * How a target is built: `tsbuild build` with `flags`, on `signal`, into the bake's shared display when given; a
 * `--call` hands its answer to `answer` instead of printing it.
 */
export type BuildTarget = (context: string, flags: BuildFlags, signal: AbortSignal, shared?: SharedBuild, answer?: CallAnswer) => Promise<void>;

/** Runs `build(context, flags)` for every target; writes `metadataFile` as buildx does: one object keyed by target. */
export async function runBake(
  resolved: Resolved,
  opts: Omit<BakeRunOptions, 'layouts'> & { metadataFile?: string; sets?: string[]; isCallJson?: boolean; isRemote?: boolean },
  build: BuildTarget,
  signal: AbortSignal,
): Promise<void> {
  const layouts = new Map<string, string>();
  const names = buildOrder(resolved.targets);
  // The targets some other target uses as a `target:` context.
  const deps = new Set(names.flatMap((n) => targetDeps(resolved.targets[n], resolved.targets)));
  const metadata: Record<string, unknown> = {};
  const warnings = new Map<string, unknown[]>();
  const answers = new Map<string, CallResult>();
  // A `--call` (check, outline, targets): one target after another; their answers are printed together at the end.
  const atOnce = names.length > 1 && names.every((n) => (resolved.targets[n]?.call ?? 'build') === 'build');
  const display = atOnce ? new BakeProgress(opts.quiet ? 'quiet' : opts.progress) : undefined;
  // A step (a base image's pull, a shared stage) that two targets come to at once runs once (solver/solve.ts).
  const runningSteps: RunningSteps = new Map();
  // Every target's flags are checked before any target starts (a refused context or entitlement), as buildx checks
  // its build options before the solve: a bad target costs no build. The layouts' names are placeholders here.
  const planned = names.map((name) => {
    try {
      return { name, ...targetFlags(name, resolved.targets[name] as Target, { ...opts, layouts: new Map(names.map((n) => [n, n])) }) };
    } catch (err) {
      throw targetError(name, err);
    }
  });
  const entitled = { allow: opts.allow, granted: setGrants(opts.sets ?? []), isRemote: opts.isRemote === true };
  checkFsEntitlements(planned, entitled);
  // Made once the bake is accepted: a refused one leaves nothing behind. The dependencies' OCI layouts are whole
  // images: in the state root's temp dir, never the host's $TMPDIR (worker/temp-dirs.ts), where one a killed bake left
  // is removed by the next build or prune on the root.
  const tmp = await makeRootTempDir(opts.root, 'bake');
  const cancel = new AbortController();
  const onAbort = (): void => cancel.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  let first: { error: unknown } | undefined;

  const buildOne = async (name: string): Promise<void> => {
    // Again as the target starts: a target it depends on may have written an output since, with a link in it that
    // leads this target's paths out of the working directory (the paths are evaluated as they are now).
    checkFsEntitlements(planned.filter((p) => p.name === name), entitled);
    const target = resolved.targets[name] as Target;
    let inline: string | undefined;
    if (target['dockerfile-inline'] !== undefined) {
      inline = join(tmp, `${name}.Dockerfile`);
      await writeFile(inline, target['dockerfile-inline']);
    }
    const { context, flags } = targetFlags(name, target, { ...opts, layouts }, inline);
    if (deps.has(name)) {
      const dir = join(tmp, `${name}.oci`);
      // A linked target's only buildx output is the cache; its result reaches dependents as this layout.
      flags.output = [...flags.output.filter((o) => o !== 'type=cacheonly'), `type=oci,dest=${dir},tar=false`];
      layouts.set(name, dir);
    }
    const meta = opts.metadataFile ? join(tmp, `${name}.metadata.json`) : undefined;
    if (meta) flags.metadataFile = meta;
    // One after another: a heading between the targets' progress, never inside machine-read (JSON) progress.
    if (!display && names.length > 1 && !opts.quiet && !['rawjson', 'tsbuild-json'].includes(opts.progress)) process.stderr.write(`#bake target ${name}\n`);
    try {
      await build(context, flags, cancel.signal, display ? { progress: display.writer(name), after: (t) => display.after(t), runningSteps } : undefined,
        (a) => answers.set(name, a));
    } catch (err) {
      throw targetError(name, err);
    }
    if (meta) {
      const { 'buildx.build.warnings': warn, ...rest } = JSON.parse(await readFile(meta, 'utf8').catch(() => '{}')) as Record<string, unknown>;
      setKey(metadata, name, rest);
      if (Array.isArray(warn)) warnings.set(name, warn as unknown[]);
    }
  };

  // Every target's promise, made in dependency order: a target waits for those it names, then builds.
  const running = new Map<string, Promise<void>>();
  for (const name of names) {
    const needs = targetDeps(resolved.targets[name], resolved.targets).map((d) => running.get(d) ?? Promise.resolve());
    const next = atOnce ? Promise.all(needs) : Promise.all([...running.values()]);
    running.set(name, next.then(() => { cancel.signal.throwIfAborted(); return buildOne(name); }).catch((err: unknown) => {
      // The first failure is the bake's; the targets it cancels fail with the cancellation, which is not reported.
      if (first === undefined) {
        first = { error: err };
        cancel.abort();
      }
      throw err;
    }));
  }
  try {
    await Promise.allSettled(running.values());
    display?.close();
    if (first !== undefined) throw first.error;
    if (answers.size > 0) process.stdout.write(callOutput(resolved, answers, opts.isCallJson === true));
    if (opts.metadataFile) {
      // buildx writes the warnings (BUILDX_METADATA_WARNINGS) once, beside the targets, for the whole bake, each
      // once: its printer's dedupWarnings (util/progress/printer.go) keeps one of the warnings equal but for their
      // vertex and their source's LLB definition, as two targets on one Dockerfile give.
      const all = dedupWarnings(names.flatMap((n) => warnings.get(n) ?? []));
      if (all.length) metadata['buildx.build.warnings'] = all;
      await writeMetadataObject(opts.metadataFile, metadata);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await rm(tmp, { recursive: true, force: true });
  }
}
