import type { Instruction } from '../ast.js';
import { isSecretName } from '../secret-name.js';
import { processWord } from '../shell/lex.js';
import { lookup, type DispatchContext, type StageState } from './stage-state.js';

/**
 * What progress calls a RUN, COPY/ADD or WORKDIR step, as BuildKit's dockerfile2llb names it (WithCustomName:
 * uppercaseCmd(processCmdEnv(shlex, c.String(), env))): the instruction as written, its variables expanded from the
 * step's environment (ENV and the ARGs in scope) with quotes kept and unset variables left as written, so
 * `COPY $SRC /app` shows which files. The variables a `--mount=type=secret,env=NAME` sets show as `****`
 * (withSecretEnvMask), so the log says the value came from a secret. tsbuild's one rule for secrets (secret-name.ts)
 * wins over BuildKit's: a secret-named variable (GITHUB_TOKEN …) is never expanded, as progress lines and build
 * records never hold what tsbuild keys only as a digest. A line the lexer cannot read is shown as written. `suffix`
 * follows the text (a heredoc's summary).
 */
export function stepName(inst: Instruction, st: StageState, ctx: DispatchContext, masked: readonly string[] = [], suffix = ''): string {
  const env = lookup(st.env);
  const shown = (name: string): string | undefined => (masked.includes(name) ? '****' : isSecretName(name) ? undefined : env(name));
  let text = inst.original;
  try {
    text = processWord(inst.original, shown, { escapeToken: ctx.escapeToken, rawQuotes: true, skipUnsetEnv: true }).result;
  } catch {
    // As processCmdEnv: the name is only for display; the instruction's own expansion reports the error.
  }
  const space = text.indexOf(' ');
  return (space < 0 ? text.toUpperCase() : text.slice(0, space).toUpperCase() + text.slice(space)) + suffix;
}

/** BuildKit's summarizeHeredoc: the document's first line, trimmed, with `...` when more follow. */
export function summarizeHeredoc(doc: string): string {
  const lines = doc.trim().replaceAll('\r\n', '\n').split('\n');
  return (lines[0] ?? '') + (lines.length > 1 ? '...' : '');
}
