import { basename, relative } from 'node:path';
import { checkBeforeError, checkDockerfile, CheckOptionsError, formatCheckWarning, formatLintText, invalidBaseReference, lintResults, lintViolationsText, neededStageFroms, neededStageIndexes, withSource, DockerfileError, type BuildGraph, type CheckWarning, type GlobalArgOptions, type LintResults, type StageFrom } from '../frontend/index.js';
import { isTsbuildError, UserError } from '../common/index.js';
import { formatPlatformAll, normalizePlatform, parsePlatform, parseReference, type ImageConfig, type Platform, type RegistryClient } from '../registry/index.js';
import { registryImageText } from './base-prefetch.js';
import type { NamedContext } from './options/build-flags.js';
import type { ProgressWriter } from './progress/index.js';

// BuildKit's build checks, as a build and `--check` run them. They run once the base images are resolved, as in
// BuildKit (its linter runs while the frontend converts, with each stage's image config at hand): UndefinedVar can
// then tell a variable the base image sets (`$NODE_VERSION` on node:22) from a typo. A stage whose base was not
// resolved (an unreachable registry under --check) is left unchecked by that rule. A FROM with a variable
// (`ARG BASE=debian` / `FROM $BASE`) is keyed by its expansion, with the build args and platform the build uses.

/** The base images' ENV names by FROM reference (expanded as compile expands it), the shape the frontend's checks take. */
export type BaseEnv = Record<string, string[]>;

/** Adds the ENV names of one resolved base image (several platforms of one reference: their union). */
export function addBaseEnv(into: BaseEnv, written: string, config: ImageConfig): void {
  const names = (config.config?.Env ?? []).map((e) => e.split('=')[0] ?? '').filter((n) => n !== '');
  into[written] = [...new Set([...(into[written] ?? []), ...names])];
}

/** What `--check` learns from the base images: their ENV names, and the findings only a resolved image gives. */
export interface ResolvedBases { baseEnv: BaseEnv; found: CheckWarning[] }

/**
 * `--check` resolves what a build would: the images the target's stages name (expanded in the global ARG scope, a
 * `--build-context` image in place of the name), their configs for each stage's platform (`FROM --platform`, else
 * `platform`). An image that cannot be resolved leaves its stages unchecked by UndefinedVar, as one whose FROM names
 * a variable: the check is about the Dockerfile, and the build reports the registry's answer. An image for another
 * platform than its stage's is InvalidBaseImagePlatform, as BuildKit's lint reports it while converting.
 */
export async function resolveBases(
  dockerfile: { path: string; text: string }, client: RegistryClient, opts: { namedContexts?: Record<string, NamedContext>; target?: string; platform: Platform; args: GlobalArgOptions }, signal?: AbortSignal,
): Promise<ResolvedBases> {
  const namedContexts = opts.namedContexts ?? {};
  let froms: StageFrom[];
  try {
    froms = neededStageFroms(dockerfile.text, opts.target, { args: opts.args, replaced: Object.keys(namedContexts) });
  } catch {
    return { baseEnv: {}, found: [] };   // the build reports why
  }
  const baseEnv: BaseEnv = {};
  const found: CheckWarning[] = [];
  const file = relativeName(dockerfile.path);
  const resolved = new Map<string, Promise<ImageConfig | undefined>>();
  await Promise.all(froms.map(async (from) => {
    const text = from.baseName.includes('$') ? undefined : registryImageText(from.baseName, namedContexts);
    const platform = from.platform !== undefined ? parsePlatform(from.platform) : opts.platform;
    if (text === undefined || platform === undefined) return;
    let ref: ReturnType<typeof parseReference>;
    try {
      ref = parseReference(text);
    } catch {
      return;   // baseReferenceError reports it
    }
    const key = `${text}|${formatPlatformAll(platform)}`;
    if (!resolved.has(key)) resolved.set(key, client.resolveImage(ref, platform, signal).then((image) => image.config, () => undefined));
    const config = await resolved.get(key);
    if (config === undefined) return;
    addBaseEnv(baseEnv, from.baseName, config);
    const mismatch = basePlatformMismatch(from.baseName, platform, config);
    if (mismatch !== undefined) found.push({ rule: 'InvalidBaseImagePlatform', message: mismatch, file, line: from.at.line, column: 1, endLine: from.at.endLine });
  }));
  found.sort((a, b) => a.line - b.line);
  return { baseEnv, found };
}

/**
 * BuildKit's validateBaseImagePlatform: the message when an image's config names another os or architecture than
 * its stage is built for (the variant and OS version do not count), both written as platforms.FormatAll writes a
 * normalised platform. `name` is the FROM's image as written (its variables expanded), BuildKit's origName.
 */
function basePlatformMismatch(name: string, expected: Platform, config: ImageConfig): string | undefined {
  if (config.os === expected.os && config.architecture === expected.architecture) return undefined;
  const actual: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}), ...(config['os.version'] ? { 'os.version': config['os.version'] } : {}) };
  return `Base image ${name} was pulled with platform ${JSON.stringify(formatPlatformAll(normalizePlatform(actual)))}, expected ${JSON.stringify(formatPlatformAll(normalizePlatform(expected)))} for current build`;
}

/**
 * Runs the checks for a build: findings become progress notes, and are returned (for `--metadata-file`); fatal (the
 * first one located) with `# check=error=true`. `replaced`: the stage names `--build-context` replaces.
 */
export function checkForBuild(dockerfile: { path: string; text: string }, baseEnv: BaseEnv, args: GlobalArgOptions, progress: ProgressWriter, replaced: string[] = [], graph?: BuildGraph,
  excludes?: readonly string[]): CheckWarning[] {
  let result: ReturnType<typeof checkDockerfile>;
  try {
    const found = graph ? basePlatformWarnings(graph, relativeName(dockerfile.path), writtenBases(dockerfile.text, args, replaced)) : [];
    const stages = dispatchedStages(dockerfile.text, args.target, args, replaced);
    result = checkDockerfile(dockerfile.text, relativeName(dockerfile.path), {
      baseEnv, args, replaced, found, isValidReference, ...(excludes ? { excludes } : {}), ...(stages ? { stages } : {}),
    });
  } catch (err) {
    // A `# check=` or BUILDKIT_DOCKERFILE_CHECK BuildKit cannot read fails the build, as there.
    if (err instanceof CheckOptionsError || err instanceof UserError) throw err;
    return [];   // the compile has parsed this text already; a check that cannot is not the build's failure
  }
  for (const w of result.warnings) progress.note(formatCheckWarning(w, result.isError));
  // BuildKit's build fails with the lint's own message (linter.go, LintError), as the check call does.
  if (result.isError) throw checkFailure(result.warnings, dockerfile.path, lintViolation(result.warnings));
  return result.warnings;
}

/**
 * A build whose conversion failed with `err`: the checks BuildKit reports before such an error (checkBeforeError),
 * printed as the build prints its findings; the error follows.
 */
export function reportChecksBeforeError(dockerfile: { path: string; text: string }, err: unknown, args: GlobalArgOptions, progress: ProgressWriter, replaced: string[] = []): void {
  if (!(err instanceof DockerfileError) || err instanceof CheckOptionsError) return;
  const warnings = checkBeforeError(dockerfile.text, relativeName(dockerfile.path), { args, replaced, isValidReference }, err);
  for (const w of warnings) progress.note(formatCheckWarning(w));
}

/**
 * InvalidBaseImagePlatform, as BuildKit's validateBaseImagePlatform: a stage's base image whose config names another
 * os or architecture than the stage is built for (a single-platform image, or `--platform windows/amd64` on a Linux
 * one). The build goes on with it, as BuildKit's does; the warning says the image is not what was asked for.
 * `written`: each FROM line's image as written, which the message names (else the resolved reference).
 */
function basePlatformWarnings(graph: BuildGraph, file: string, written: Map<number, string>): CheckWarning[] {
  const out: CheckWarning[] = [];
  const seen = new Set<string>();
  for (const stage of graph.stages) {
    const from = graph.vertices.find((v) => v.id === stage.vertices[0]);
    if (stage.base === undefined || from?.op.kind !== 'image' || from.location === undefined) continue;
    const message = basePlatformMismatch(written.get(from.location.line) ?? stage.base.ref, stage.platform, stage.base.config);
    if (message === undefined) continue;
    if (seen.has(`${from.location.line}|${message}`)) continue;   // a multi-platform graph holds each stage per platform
    seen.add(`${from.location.line}|${message}`);
    out.push({ rule: 'InvalidBaseImagePlatform', message, file, line: from.location.line, column: 1, endLine: from.location.endLine });
  }
  return out;
}

/** Each stage's FROM image as written (global ARGs expanded), by the FROM's line; empty when the plan cannot be made. */
function writtenBases(text: string, args: GlobalArgOptions, replaced: string[]): Map<number, string> {
  try {
    return new Map(neededStageFroms(text, undefined, { args, replaced, allStages: true }).map((f) => [f.at.line, f.baseName]));
  } catch {
    return new Map();
  }
}

/**
 * Where `--call=check` fails instead of linting: a stage's FROM whose `--platform` names no platform, else the first
 * whose image reference does not parse (BuildKit sets every stage's platform up before it resolves any image).
 * BuildKit's check converts every stage (no target: all of them), and its conversion's error becomes the lint
 * results' BuildError; a build refuses the same line (compile.ts). The first such FROM, located and worded as a build
 * reports it; undefined when there is none, or the Dockerfile does not parse (the check itself reports that).
 */
export function baseReferenceError(dockerfile: { path: string; text: string }, contexts: Record<string, NamedContext>, args: GlobalArgOptions): DockerfileError | undefined {
  const file = relativeName(dockerfile.path);
  let froms: StageFrom[];
  try {
    froms = neededStageFroms(dockerfile.text, undefined, { args, replaced: Object.keys(contexts), allStages: true, file });
  } catch {
    return undefined;
  }
  const platformError = froms.find((f) => f.platformError !== undefined)?.platformError;
  if (platformError !== undefined) return withSource(platformError, { file, text: dockerfile.text });
  for (const { baseName, at } of froms) {
    const text = registryImageText(baseName, contexts);
    if (text === undefined) continue;
    let err: DockerfileError | undefined;
    if (baseName === '') {
      err = new DockerfileError(at, 'FROM needs an image reference', 'write FROM <image>, or give the ARG it names a value');
    } else {
      try {
        parseReference(text);
      } catch (e) {
        if (!isTsbuildError(e)) throw e;
        err = invalidBaseReference(at, baseName, e);
      }
    }
    if (err !== undefined) return withSource(err, { file, text: dockerfile.text });
  }
  return undefined;
}

/** A located error as BuildKit's lint results carry it (pb.Location: its ranges, lines 1-based, no columns). */
type BuildErrorLocation = { ranges?: { start: { line: number }; end: { line: number } }[] };

/** `--call=check`'s answer: BuildKit's lint results, the text buildx prints for them, and the exit status it gives. */
export interface CheckCall {
  results: LintResults & { buildError?: { message: string; location: BuildErrorLocation } };
  text: string;
  /** BuildKit's own text of the results (its result.txt): the findings without buildx's count line, by base name. */
  resultText: string;
  /** 1 when anything was found (buildx's result.statuscode), else 0. */
  status: number;
  /** With `# check=error=true` and findings: the error the command ends with, after printing the results. */
  failure?: DockerfileError;
}

/**
 * `--check` / `--call=check`: the checks as BuildKit's lint subrequest answers them (all stages, as BuildKit lints
 * without a target). `displayName` is the Dockerfile as buildx names it in the text (see checkDisplayName). With
 * `# check=error=true` and findings, the results carry BuildKit's build error too.
 */
export function runCheckCall(dockerfile: { path: string; text: string }, displayName: string, baseEnv: BaseEnv, args: GlobalArgOptions,
  opts: { replaced?: string[]; conversionError?: DockerfileError | undefined; excludes?: readonly string[]; target?: string; found?: CheckWarning[] } = {}): CheckCall {
  const { replaced = [], excludes, found = [] } = opts;
  let { conversionError } = opts;
  // BuildKit's lint converts every stage without a target, and only the target's stages with one (DockerfileLint).
  const stages = opts.target === undefined ? undefined : dispatchedStages(dockerfile.text, opts.target, args, replaced);
  const file = relativeName(dockerfile.path);
  const checkOptions = { baseEnv, args, replaced, found, isValidReference, ...(excludes ? { excludes } : {}), ...(stages ? { stages } : {}) };
  let result: ReturnType<typeof checkDockerfile> = { warnings: [], isError: false };
  try {
    result = checkDockerfile(dockerfile.text, file, checkOptions);
  } catch (err) {
    // A Dockerfile that does not parse: BuildKit's lint answers with the findings before it and the error.
    if (!(err instanceof DockerfileError) || err instanceof CheckOptionsError) throw err;
    conversionError = withSource(err, { file, text: dockerfile.text });
  }
  // A conversion that stopped reported only what BuildKit's had found by then.
  if (conversionError !== undefined) result = { warnings: checkBeforeError(dockerfile.text, file, checkOptions, conversionError), isError: false };
  const results: CheckCall['results'] = lintResults(result.warnings, dockerfile.text, basename(dockerfile.path));
  const text = formatLintText(results, dockerfile.text, displayName);
  const resultText = lintViolationsText(results, dockerfile.text, basename(dockerfile.path));
  if (conversionError !== undefined) {
    // The conversion stopped there: its error is the answer's (BuildKit's BuildError), findings or not. buildx then
    // prints the findings and the error, never "no warnings found".
    const { line, endLine } = conversionError.at;
    results.buildError = { message: conversionError.detail, location: { ranges: [{ start: { line }, end: { line: endLine } }] } };
    return { results, text: results.warnings.length > 0 ? text : '', resultText, status: 1, failure: conversionError };
  }
  const status = result.warnings.length > 0 ? 1 : 0;
  if (!result.isError) return { results, text, resultText, status };
  const message = lintViolation(result.warnings);
  results.buildError = { message, location: {} };
  return { results, text, resultText, status, failure: checkFailure(result.warnings, dockerfile.path, message) };
}

/** BuildKit's error for findings under `# check=error=true` (linter.go): each rule once, in the order found. */
export function lintViolation(warnings: CheckWarning[]): string {
  return `lint violation found for rules: ${[...new Set(warnings.map((w) => w.rule))].join(', ')}`;
}

/** The error of findings made fatal by `# check=error=true`, located at the first. */
function checkFailure(warnings: CheckWarning[], path: string, message: string): DockerfileError {
  const w = warnings[0];
  const line = w?.line ?? 1;
  return new DockerfileError({ file: path, line, column: w?.column ?? 1, endLine: line, endColumn: w?.column ?? 1 }, message,
    'fix them, or skip rules with `# check=skip=RULE` at the top of the Dockerfile');
}

/** The stages a build of `target` dispatches; undefined (every stage) when the plan cannot be made (compile reports why). */
function dispatchedStages(text: string, target: string | undefined, args: GlobalArgOptions, replaced: string[]): number[] | undefined {
  try {
    return neededStageIndexes(text, target, { args, replaced });
  } catch {
    return undefined;
  }
}

/** Whether `ref` is an image reference docker would take (InvalidDefaultArgInFrom's test, ParseNormalizedNamed). */
function isValidReference(ref: string): boolean {
  try {
    parseReference(ref);
    return true;
  } catch {
    return false;
  }
}

/** A Dockerfile path as users wrote it: relative to the working directory when inside it. */
function relativeName(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') || rel === '' ? path : rel;
}
