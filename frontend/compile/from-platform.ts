import { parsePlatform, platformParseError, type Platform } from '../../registry/oci/index.js';
import { DockerfileError } from '../errors.js';
import type { SourceRange } from '../graph.js';
import { nearest } from '../parser/suggest.js';
import { processWord, ShellSyntaxError } from '../shell/lex.js';

/**
 * A FROM `--platform` that does not name a platform once expanded. BuildKit finds it while it sets up the stages,
 * before it dispatches any (dockerfile2llb buildDispatchStates), so only the checks it runs before that have reported
 * (see checkBeforeError).
 */
export class FromPlatformError extends DockerfileError {}

/**
 * Expands a FROM `--platform` value in the global ARG scope and parses it, as BuildKit's buildDispatchStates: an empty
 * result or one containerd cannot parse is refused in BuildKit's words, with "(did you mean X?)" when a variable it
 * names is not declared but another global ARG is spelt nearly so (wrapSuggestAny, case-sensitive).
 */
export function expandFromPlatform(flag: string, scope: ReadonlyMap<string, string>, escapeToken: '\\' | '`', at: SourceRange): { platform: Platform; matched: Set<string> } {
  const hint = 'write --platform=os/arch[/variant], e.g. linux/amd64';
  let expanded: ReturnType<typeof processWord>;
  try {
    expanded = processWord(flag, (n) => scope.get(n), { escapeToken });
  } catch (err) {
    if (err instanceof ShellSyntaxError) throw new FromPlatformError(at, `failed to process arguments for platform ${flag}: ${err.message}`, hint);
    throw err;
  }
  const keys = [...scope.keys()];
  let suggestion = '';
  for (const name of expanded.unmatched) {
    const near = nearest(name, keys, { caseSensitive: true });
    if (near !== undefined) { suggestion = ` (did you mean ${near}?)`; break; }
  }
  if (expanded.result === '') throw new FromPlatformError(at, `empty platform value from expression ${flag}${suggestion}`, hint);
  const platform = parsePlatform(expanded.result);
  if (platform === undefined) {
    const why = platformParseError(expanded.result) ?? `invalid platform ${JSON.stringify(expanded.result)}`;
    throw new FromPlatformError(at, `failed to parse platform ${flag}: ${why}${suggestion}`, hint);
  }
  return { platform, matched: expanded.matched };
}
