import { parseDockerfile } from '../parser/parse-dockerfile.js';
import { runRules, type CheckWarning } from './rules.js';
import { undefinedVars } from './undefined-var.js';
import type { GlobalArgOptions } from '../compile/global-args.js';

/** What the checks may know beyond the text. */
export interface CheckOptions {
  /**
   * The ENV names of base images, by FROM reference (expanded in the global ARG scope, see `args`), when the caller has resolved them. UndefinedVar
   * checks a stage built on an image only when its ENV is given here (see undefined-var.ts).
   */
  baseEnv?: Record<string, string[]>;
  /** The build args and platforms FROM lines are expanded with, to find a `FROM $BASE` stage's image in `baseEnv`. */
  args?: GlobalArgOptions;
  /**
   * Stage names a `--build-context` of the same name replaces: their instructions never run, so UndefinedVar leaves
   * them (and stages built on them, whose base is then the named context) unchecked, as BuildKit never dispatches them.
   */
  replaced?: string[];
}

export type { CheckWarning } from './rules.js';

/** The outcome of the build checks: what they found, and whether `# check=error=true` makes findings fatal. */
export interface CheckResult { warnings: CheckWarning[]; isError: boolean }

/** Reads the `# check=skip=A,B;error=true` directive (BuildKit's syntax; `skip=all` turns every rule off). */
export function checkDirective(value: string | undefined): { skip: Set<string>; skipAll: boolean; isError: boolean } {
  const skip = new Set<string>();
  let skipAll = false;
  let isError = false;
  // Only the text before the first space counts (`# check=skip=all // opts`), as BuildKit's ParseDirective returns it.
  const options = (value ?? '').split(' ')[0] ?? '';
  for (const part of options.split(';')) {
    const [k, v = ''] = part.split('=').map((s) => s.trim());
    if (k === 'skip') for (const rule of v.split(',').map((s) => s.trim()).filter(Boolean)) { if (rule === 'all') skipAll = true; else skip.add(rule); }
    if (k === 'error') isError = /^(true|1)$/i.test(v);
  }
  return { skip, skipAll, isError };
}

/**
 * Runs BuildKit's build checks on Dockerfile text (pure: text in, findings out), honouring the `# check=` directive.
 * A Dockerfile that does not parse throws its DockerfileError, as a build would.
 */
export function checkDockerfile(text: string, file = 'Dockerfile', opts: CheckOptions = {}): CheckResult {
  const df = parseDockerfile(text, file);
  const directive = checkDirective(df.directives.find((d) => d.name === 'check')?.value);
  const found = [...runRules(df), ...undefinedVars(df, opts.baseEnv, opts.args, opts.replaced)];
  const warnings = directive.skipAll ? [] : found.filter((w) => !directive.skip.has(w.rule));
  return { warnings, isError: directive.isError && warnings.length > 0 };
}

/** One finding as printed: `Dockerfile:3: warning: JSONArgsRecommended: …`. */
export function formatCheckWarning(w: CheckWarning, isError = false): string {
  return `${w.file}:${w.line}: ${isError ? 'error' : 'warning'}: ${w.rule}: ${w.message}`;
}
