import { UserError } from '../common/index.js';
import type { Dockerfile } from './ast.js';
import { globalArgScope, type GlobalArgOptions } from './compile/global-args.js';
import { DockerfileError } from './errors.js';
import type { SourceRange } from './graph.js';
import { parseDockerfile } from './parser/parse-dockerfile.js';
import { processWord, ShellSyntaxError } from './shell/lex.js';

// SOURCE_DATE_EPOCH as BuildKit's Dockerfile frontend reads it (dockerfile2llb convert.go getBuildArgValue, epoch.go):
// the build arg, else a non-empty default of the global ARG of that name. A number is the epoch; `context` is the
// build context's time; any other word names a named context (--build-context) or, failing that, a stage that only
// fetches one remote source (FROM scratch, ARGs, one ADD of an http(s) or git URL), whose time it is. Which time a
// source has (a git commit's, an http Last-Modified or archive's) is the builder's to find: this reads the text only.

/** Where the epoch comes from. */
export type EpochSource =
  | { kind: 'seconds'; seconds: number }
  | { kind: 'context' }
  | { kind: 'named'; name: string }
  /** A source-only stage's ADD: its URL and --checksum (expanded), --keep-git-dir, and where the stage is. */
  | { kind: 'stage'; name: string; url: string; checksum?: string; keepGitDir?: boolean; at: SourceRange };

/** The SOURCE_DATE_EPOCH a build is asked for, and whether the Dockerfile's global ARG default gave it. */
export interface EpochRequest { value: string; isDefault: boolean; source: EpochSource }

/**
 * What SOURCE_DATE_EPOCH asks of a build of `text`: undefined when nothing sets it (or sets it empty). `namedContexts`
 * are the `--build-context` names. A word that names neither `context`, a named context nor a stage is refused as
 * BuildKit refuses it ("invalid SOURCE_DATE_EPOCH: WORD"); a stage that does more than fetch one source, at its FROM.
 */
export function sourceDateEpochRequest(text: string, file: string, opts: GlobalArgOptions & { namedContexts?: readonly string[] }): EpochRequest | undefined {
  const buildArgs = opts.buildArgs ?? {};
  const df = parseDockerfile(text, file);
  let value: string;
  let isDefault = false;
  if (Object.hasOwn(buildArgs, 'SOURCE_DATE_EPOCH')) {
    value = buildArgs['SOURCE_DATE_EPOCH'] ?? '';
  } else {
    value = globalArgScope(df, opts).get('SOURCE_DATE_EPOCH') ?? '';
    isDefault = true;
  }
  if (value === '') return undefined;
  // Go's strconv.ParseInt(v, 10, 64): an optional sign and decimal digits.
  if (/^[+-]?\d+$/.test(value)) return { value, isDefault, source: { kind: 'seconds', seconds: Number(value) } };
  if (value === 'context') return { value, isDefault, source: { kind: 'context' } };
  if ((opts.namedContexts ?? []).includes(value)) return { value, isDefault, source: { kind: 'named', name: value } };
  const source = stageSource(df, value, { ...opts, buildArgs });
  if (source === undefined) throw new UserError('INVALID_ARGUMENT', `invalid SOURCE_DATE_EPOCH: ${value}`, 'give seconds since 1970-01-01 UTC, `context`, or the name of a named context or of a stage that only ADDs one http(s) or git source');
  return { value, isDefault, source };
}

/** The stage named `name` (any case, the first of that name) as an epoch source; undefined when there is none. */
function stageSource(df: Dockerfile, name: string, opts: GlobalArgOptions & { buildArgs: Record<string, string> }): EpochSource | undefined {
  const { instructions, escapeToken } = df;
  const at = instructions.findIndex((i) => i.keyword === 'FROM' && (i.args[2] ?? '').toLowerCase() === name.toLowerCase() && i.args.length === 3);
  const from = instructions[at];
  if (from === undefined) return undefined;
  const next = instructions.findIndex((i, k) => k > at && i.keyword === 'FROM');
  const commands = instructions.slice(at + 1, next < 0 ? undefined : next);
  // The global scope without SOURCE_DATE_EPOCH itself, which the stage's own words must not see (epoch.go).
  const scope = globalArgScope(df, opts);
  scope.delete('SOURCE_DATE_EPOCH');
  const fail = (why: string): never => { throw new DockerfileError(from.location, why, 'a SOURCE_DATE_EPOCH stage is FROM scratch with ARGs and one ADD of an http(s) or git URL'); };
  const expand = (word: string): string => {
    try {
      return processWord(word, (n) => scope.get(n), { escapeToken }).result;
    } catch (err) {
      if (err instanceof ShellSyntaxError) return fail(`failed to process ${JSON.stringify(word)}: ${err.message}`);
      throw err;
    }
  };
  if (expand(from.args[0] ?? '') !== 'scratch') fail('SOURCE_DATE_EPOCH stage must use FROM scratch');
  let source: EpochSource | undefined;
  for (const inst of commands) {
    if (inst.keyword === 'ARG') {
      for (const word of inst.args) {
        const eq = word.indexOf('=');
        const key = eq >= 0 ? word.slice(0, eq) : word;
        if (Object.hasOwn(opts.buildArgs, key)) scope.set(key, opts.buildArgs[key] ?? '');
        else if (eq >= 0) scope.set(key, expand(word.slice(eq + 1)));
      }
    } else if (inst.keyword === 'ADD') {
      if (source !== undefined) fail('SOURCE_DATE_EPOCH stage must contain exactly one remote ADD');
      if (inst.heredocs.length > 0 || inst.args.length !== 2) fail('SOURCE_DATE_EPOCH stage must contain exactly one remote ADD source');
      const checksum = inst.flags.find((f) => f.name === 'checksum')?.value;
      const keep = inst.flags.find((f) => f.name === 'keep-git-dir');
      source = {
        kind: 'stage', name, url: expand(inst.args[0] ?? ''), at: from.location,
        ...(checksum !== undefined ? { checksum: expand(checksum) } : {}),
        ...(keep !== undefined ? { keepGitDir: keep.value === undefined || /^(1|t|true)$/i.test(keep.value) } : {}),
      };
    } else {
      fail(`SOURCE_DATE_EPOCH stage does not meet source-only requirements: unsupported ${inst.keyword.toLowerCase()} instruction`);
    }
  }
  return source ?? fail('SOURCE_DATE_EPOCH stage must contain exactly one remote ADD');
}
