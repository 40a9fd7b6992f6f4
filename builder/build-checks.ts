import { relative } from 'node:path';
import { checkDockerfile, formatCheckWarning, DockerfileError, type CheckWarning, type GlobalArgOptions } from '../frontend/index.js';
import type { ImageConfig, Platform, RegistryClient } from '../registry/index.js';
import { literalBases } from './base-prefetch.js';
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

/**
 * `--check` resolves what a build would: the images the target's stages name literally (base-prefetch.ts), their
 * configs for `platform`. An image that cannot be resolved leaves its stages unchecked by UndefinedVar, as one whose
 * FROM names a variable: the check is about the Dockerfile, and the build reports the registry's answer.
 */
export async function resolveBaseEnv(
  text: string, client: RegistryClient, opts: { namedContexts?: Record<string, NamedContext>; target?: string; platform: Platform; args: GlobalArgOptions }, signal?: AbortSignal,
): Promise<BaseEnv> {
  const env: BaseEnv = {};
  await Promise.all(literalBases(text, opts.namedContexts, opts.target, opts.args).map(async ({ written, ref }) => {
    const image = await client.resolveImage(ref, opts.platform, signal).catch(() => undefined);
    if (image !== undefined) addBaseEnv(env, written, image.config);
  }));
  return env;
}

/**
 * Runs the checks for a build: findings become progress notes, and are returned (for `--metadata-file`); fatal (the
 * first one located) with `# check=error=true`.
 */
export function checkForBuild(dockerfile: { path: string; text: string }, baseEnv: BaseEnv, args: GlobalArgOptions, progress: ProgressWriter): CheckWarning[] {
  let result: ReturnType<typeof checkDockerfile>;
  try {
    result = checkDockerfile(dockerfile.text, relativeName(dockerfile.path), { baseEnv, args });
  } catch {
    return [];   // the compile has parsed this text already; a check that cannot is not the build's failure
  }
  for (const w of result.warnings) progress.note(formatCheckWarning(w, result.isError));
  if (result.isError) throw checkFailure(result.warnings, dockerfile.path);
  return result.warnings;
}

/** `--check`: the findings printed to stdout with BuildKit's closing line; exit 1 when they are errors. */
export function printCheck(dockerfile: { path: string; text: string }, baseEnv: BaseEnv, args: GlobalArgOptions, out: NodeJS.WritableStream): void {
  const result = checkDockerfile(dockerfile.text, relativeName(dockerfile.path), { baseEnv, args });
  for (const w of result.warnings) out.write(`${formatCheckWarning(w, result.isError)}\n`);
  const n = result.warnings.length;
  out.write(n === 0 ? 'Check complete, no warnings found.\n' : `Check complete, ${n} warning${n === 1 ? ' has' : 's have'} been found!\n`);
  if (result.isError) throw checkFailure(result.warnings, dockerfile.path);
}

function checkFailure(warnings: CheckWarning[], path: string): DockerfileError {
  const w = warnings[0];
  const line = w?.line ?? 1;
  return new DockerfileError({ file: path, line, column: w?.column ?? 1, endLine: line, endColumn: w?.column ?? 1 },
    `build checks failed: ${warnings.length} finding${warnings.length === 1 ? '' : 's'} (first: ${w?.rule ?? ''}: ${w?.message ?? ''})`,
    'fix them, or skip rules with `# check=skip=RULE` at the top of the Dockerfile');
}

/** A Dockerfile path as users wrote it: relative to the working directory when inside it. */
function relativeName(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') || rel === '' ? path : rel;
}
