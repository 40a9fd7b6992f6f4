import type { Platform } from '../../registry/oci/index.js';
import type { Dockerfile } from '../ast.js';
import { processWord, ShellSyntaxError } from '../shell/lex.js';
import { automaticArgs, targetStageName } from './platform-args.js';

/** What the global ARG scope depends on besides the text: `--build-arg` values, the platforms (TARGETARCH …), the target. */
export interface GlobalArgOptions {
  buildArgs?: Record<string, string>;
  platform?: Platform;
  buildPlatform?: Platform;
  /** `--target`: TARGETSTAGE's value (default: the last stage's name). */
  target?: string;
}

/**
 * The global ARG scope a FROM line is expanded in, as compile builds it: the automatic platform args, then each ARG
 * before the first FROM with its `--build-arg` value or its default expanded so far. Lenient, for the callers that
 * only plan or check (stage-plan, checks): a word that does not expand is kept as written; compile reports it.
 */
export function globalArgScope(df: Dockerfile, opts: GlobalArgOptions): Map<string, string> {
  const buildArgs = opts.buildArgs ?? {};
  const platform = opts.platform ?? opts.buildPlatform;
  const scope = platform ? automaticArgs(platform, opts.buildPlatform ?? platform, targetStageName(df, opts.target), buildArgs) : new Map<string, string>();
  for (const inst of df.instructions) {
    if (inst.keyword === 'FROM') break;
    if (inst.keyword !== 'ARG') continue;
    for (const word of inst.args) setGlobalArg(scope, word, buildArgs, (text) => expandInScope(text, scope, df.escapeToken));
  }
  return scope;
}

/**
 * One word of a global ARG (`NAME` or `NAME=default`) into `scope`: its `--build-arg` value, else its default as
 * `expand` expands it in the scope so far; a name with neither stays unset. compile and globalArgScope both use it,
 * each with its own `expand` (compile's reports a bad word, globalArgScope's keeps it as written).
 */
export function setGlobalArg(scope: Map<string, string>, word: string, buildArgs: Record<string, string>, expand: (text: string) => string): void {
  const eq = word.indexOf('=');
  const key = eq >= 0 ? word.slice(0, eq) : word;
  const value = Object.hasOwn(buildArgs, key) ? buildArgs[key] : eq >= 0 ? expand(word.slice(eq + 1)) : undefined;
  if (value !== undefined) scope.set(key, value);
}

/** A word (a FROM image or stage name) expanded in a global scope; kept as written when it does not expand. */
export function expandInScope(word: string, scope: Map<string, string>, escapeToken: '\\' | '`'): string {
  try {
    return processWord(word, (n) => scope.get(n), { escapeToken }).result;
  } catch (err) {
    if (err instanceof ShellSyntaxError) return word;
    throw err;
  }
}
