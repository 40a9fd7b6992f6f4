import { parseGoBool, UserError } from '../../common/index.js';
import type { Directive, Dockerfile } from '../ast.js';
import { DockerfileError } from '../errors.js';
import { parseDockerfile } from '../parser/parse-dockerfile.js';
import { runRules, type CheckWarning } from './rules.js';
import { undefinedVars } from './undefined-var.js';
import { copyIgnoredFiles } from './copy-ignored.js';
import { invalidDefaultArgs } from './invalid-default-arg.js';
import { isExperimentalRule } from './rule-docs.js';
import { prevComments } from '../prev-comments.js';
import { FromPlatformError } from '../compile/from-platform.js';
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
  /**
   * Findings the caller made beyond the text (InvalidBaseImagePlatform, once the base images are resolved): the
   * `# check=` directive skips them or makes them fatal like the others.
   */
  found?: CheckWarning[];
  /**
   * Whether a FROM reference parses (the registry's parser, which the frontend may not import): InvalidDefaultArgInFrom
   * reports a FROM whose name is no valid reference with only the ARG defaults. Absent: only an empty name is invalid.
   */
  isValidReference?: (ref: string) => boolean;
  /** The context's .dockerignore patterns, when it has one: CopyIgnoredFile checks COPY/ADD sources against them. */
  excludes?: readonly string[];
  /**
   * The indexes of the stages the build dispatches (neededStageIndexes); absent: every stage, as a check without a
   * target. BuildKit runs some rules while it dispatches a stage's instructions, so a build never reports those for
   * a stage it does not build; the rules it runs while parsing report for every stage.
   */
  stages?: readonly number[];
}

/** The rules BuildKit runs in dispatch() and the dispatch* functions (dockerfile2llb/convert.go, convert_copy.go). */
const DISPATCH_RULES = new Set([
  'UndefinedVar', 'CopyIgnoredFile', 'SecretsUsedInArgOrEnv', 'LegacyKeyValueFormat', 'WorkdirRelativePath', 'JSONArgsRecommended',
  'MultipleInstructionsDisallowed', 'ExposeProtoCasing', 'ExposeInvalidFormat',
]);

/** Drops the findings of dispatch-time rules in stages outside `stages` (lines before the first FROM stay). */
function inDispatchedStages(df: Dockerfile, found: CheckWarning[], stages: readonly number[] | undefined): CheckWarning[] {
  if (stages === undefined) return found;
  const fromLines = df.instructions.filter((i) => i.keyword === 'FROM').map((i) => i.location.line);
  const stageAt = (line: number): number => {
    let k = -1;
    while (k + 1 < fromLines.length && (fromLines[k + 1] ?? Infinity) <= line) k++;
    return k;
  };
  const kept = new Set(stages);
  return found.filter((w) => !DISPATCH_RULES.has(w.rule) || stageAt(w.line) < 0 || kept.has(stageAt(w.line)));
}

export type { CheckWarning } from './rules.js';

/** The outcome of the build checks: what they found, and whether `# check=error=true` makes findings fatal. */
export interface CheckResult { warnings: CheckWarning[]; isError: boolean }

/** A `# check=` directive BuildKit cannot read: the build fails at its line, as BuildKit's fails (convert.go). */
export class CheckOptionsError extends DockerfileError {}

/** What a `# check=` directive says: the rules to skip, the experimental rules to run, and whether findings are fatal. */
export interface CheckDirective { skip: Set<string>; skipAll: boolean; experimental: Set<string>; experimentalAll: boolean; isError: boolean }

/**
 * Reads the `# check=skip=A,B;experimental=C;error=true` directive as BuildKit's ParseLintOptions does (see
 * parseCheckOptions). Only the text before the first space counts (`# check=skip=all // opts`), as BuildKit's
 * ParseDirective returns it.
 */
export function checkDirective(directive: Directive | undefined): CheckDirective {
  const options = (directive?.value ?? '').split(' ')[0] ?? '';
  if (directive === undefined) return parseCheckOptions('', () => undefined as never);
  return parseCheckOptions(options, (why) => {
    throw new CheckOptionsError(directive.location, `failed to parse check options: ${why}`, 'write # check=skip=RULE[,RULE];error=true|false');
  });
}

/**
 * The build arg `BUILDKIT_DOCKERFILE_CHECK`, which BuildKit's dockerui reads in place of the `# check=` directive
 * (newRuleLinter takes the client's LinterConfig over the file's): a CI run can skip rules or make findings fatal
 * without editing someone's Dockerfile. Undefined when the arg is not given; a value BuildKit cannot read fails the
 * build, not at a line but as the argument it is.
 */
export function checkBuildArg(buildArgs: Record<string, string> | undefined): CheckDirective | undefined {
  const value = buildArgs?.['BUILDKIT_DOCKERFILE_CHECK'];
  if (value === undefined) return undefined;
  return parseCheckOptions(value, (why) => {
    throw new UserError('INVALID_ARGUMENT', `failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK: ${why}`,
      'give --build-arg BUILDKIT_DOCKERFILE_CHECK=skip=RULE[,RULE];error=true|false (or skip=all)');
  });
}

/**
 * BuildKit's ParseLintOptions: at most three `;` parts (the third keeps any further `;`), each `skip=`,
 * `experimental=` or `error=` (Go's ParseBool); `skip=all` turns every rule off, `experimental=all` every experimental
 * one on; a later `skip=` replaces an earlier one, as there. Anything else goes to `fail`.
 */
function parseCheckOptions(text: string, fail: (why: string) => never): CheckDirective {
  const out: CheckDirective = { skip: new Set(), skipAll: false, experimental: new Set(), experimentalAll: false, isError: false };
  const options = text.trim();
  if (options === '') return out;
  const names = (v: string): Set<string> => new Set(v.split(',').map((r) => r.trim()));
  const parts = options.split(';');
  for (const part of [...parts.slice(0, 2), ...(parts.length > 2 ? [parts.slice(2).join(';')] : [])]) {
    const eq = part.indexOf('=');
    if (eq < 0) fail(`invalid check option ${JSON.stringify(part)}`);
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 'skip') {
      if (v === 'all') out.skipAll = true;
      else out.skip = names(v);
    } else if (k === 'experimental') {
      if (v === 'all') out.experimentalAll = true;
      else out.experimental = names(v);
    } else if (k === 'error') {
      const b = parseGoBool(v);
      if (b === undefined) fail(`failed to parse check option ${JSON.stringify(part)}: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
      out.isError = b === true;
    } else {
      fail(`invalid check option ${JSON.stringify(k)}`);
    }
  }
  return out;
}

/**
 * The rules BuildKit runs with the file's linter alone (validateStageNames, validateCommandCasing, the empty
 * continuation and default-ARG checks): a `# check=` comment above an instruction does not reach them.
 */
const FILE_WIDE_RULES = new Set(['ConsistentInstructionCasing', 'DuplicateStageName', 'ReservedStageName', 'NoEmptyContinuation', 'InvalidDefaultArgInFrom']);

/**
 * `directive` with what a `# check=…` comment right above the instruction at `line` adds, as BuildKit's
 * WithMergedConfigFromComments: the first such comment among the instruction's PrevComment, its value up to a space
 * (`# check=skip=SecretsUsedInArgOrEnv // why`), its skips and experimental rules added for that instruction only
 * (error= is the file's). A comment that does not parse changes nothing.
 */
function withLineComments(directive: CheckDirective, lines: string[], line: number, directiveLines: Set<number>): CheckDirective {
  for (const comment of prevComments(lines, line, directiveLines)) {
    const m = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/.exec(comment);
    if (m === null || m[1]?.toLowerCase() !== 'check') continue;
    let local: CheckDirective;
    try {
      local = parseCheckOptions((m[2] ?? '').split(' ')[0] ?? '', (why) => { throw new Error(why); });
    } catch {
      return directive;
    }
    return {
      skip: new Set([...directive.skip, ...local.skip]), skipAll: directive.skipAll || local.skipAll,
      experimental: new Set([...directive.experimental, ...local.experimental]), experimentalAll: directive.experimentalAll || local.experimentalAll,
      isError: directive.isError,
    };
  }
  return directive;
}

/** Whether the directive lets `rule` report, as BuildKit's Linter.Run decides (experimental rules ignore skip=). */
function isEnabled(directive: CheckDirective, rule: string): boolean {
  if (isExperimentalRule(rule)) return directive.experimentalAll || directive.experimental.has(rule);
  return !directive.skipAll && !directive.skip.has(rule);
}

/**
 * Runs BuildKit's build checks on Dockerfile text (pure: text in, findings out), honouring the `# check=` directive
 * or, over it, the BUILDKIT_DOCKERFILE_CHECK build arg.
 * A Dockerfile that does not parse throws its DockerfileError, as a build would.
 */
export function checkDockerfile(text: string, file = 'Dockerfile', opts: CheckOptions = {}): CheckResult {
  const df = parseDockerfile(text, file);
  const directive = checkBuildArg(opts.args?.buildArgs) ?? checkDirective(df.directives.find((d) => d.name === 'check'));
  const found = [
    ...runRules(df, text.split(/\r?\n/)), ...invalidDefaultArgs(df, opts.args, opts.isValidReference), ...undefinedVars(df, opts.baseEnv, opts.args, opts.replaced),
    ...copyIgnoredFiles(df, file, opts.excludes),
    ...(opts.found ?? []),
  ];
  const lines = text.split(/\r?\n/);
  const directiveLines = new Set(df.directives.map((d) => d.location.line));
  const atLine = new Map(df.instructions.map((i) => [i.location.line, i]));
  const warnings = inDispatchedStages(df, found, opts.stages).filter((w) => {
    const local = FILE_WIDE_RULES.has(w.rule) || !atLine.has(w.line) ? directive : withLineComments(directive, lines, w.line, directiveLines);
    return isEnabled(local, w.rule);
  });
  return { warnings, isError: directive.isError && warnings.length > 0 };
}

/** The rules BuildKit runs while the parser reads the file (NoEmptyContinuation) and instructions.Parse reads each instruction. */
const PARSE_RULES = new Set(['NoEmptyContinuation', 'StageNameCasing', 'FromAsCasing', 'MaintainerDeprecated', 'InvalidDefinitionDescription']);
/** The rules BuildKit runs on each FROM while it sets up the stages (buildDispatchStates), in file order. */
const STAGE_SETUP_RULES = new Set(['UndefinedArgInFrom', 'RedundantTargetPlatform', 'FromPlatformFlagConstDisallowed']);
/** The rules BuildKit has run once every stage is set up, before it dispatches any instruction. */
const PRE_DISPATCH_RULES = new Set([...PARSE_RULES, ...STAGE_SETUP_RULES, 'DuplicateStageName', 'ReservedStageName', 'ConsistentInstructionCasing', 'InvalidDefaultArgInFrom']);

/**
 * What BuildKit has reported when `err` stops its conversion of `text`, as it reports findings while it goes and then
 * the error. Where the error arose decides: an instruction that does not parse, the parse-time rules on the
 * instructions above it; a FROM `--platform` that cannot be set up (FromPlatformError), every rule run before
 * dispatching, those of each FROM only down to the failing one; a later error, every rule run before dispatching.
 * Rules that need the base images or run while dispatching are left out. A `# check=` BuildKit cannot read, or text
 * above the error that does not parse on its own, gives nothing.
 */
export function checkBeforeError(text: string, file: string, opts: CheckOptions, err: DockerfileError): CheckWarning[] {
  const line = err.at.line;
  let phase: 'parse' | 'stages' | 'dispatch' = err instanceof FromPlatformError ? 'stages' : 'dispatch';
  try {
    parseDockerfile(text, file);
  } catch {
    phase = 'parse';
  }
  try {
    if (phase === 'parse') {
      const above = text.split(/\r?\n/).slice(0, Math.max(line - 1, 0)).join('\n');
      return checkDockerfile(above, file, { ...opts, found: [] }).warnings.filter((w) => PARSE_RULES.has(w.rule) && w.line < line);
    }
    return checkDockerfile(text, file, { ...opts, found: [] }).warnings
      .filter((w) => PRE_DISPATCH_RULES.has(w.rule) && (phase === 'dispatch' || !STAGE_SETUP_RULES.has(w.rule) || w.line <= line));
  } catch {
    return [];
  }
}

/** One finding as printed: `Dockerfile:3: warning: JSONArgsRecommended: …`. */
export function formatCheckWarning(w: CheckWarning, isError = false): string {
  return `${w.file}:${w.line}: ${isError ? 'error' : 'warning'}: ${w.rule}: ${w.message}`;
}
