import type { Dockerfile } from '../ast.js';
import { globalArgScope, type GlobalArgOptions } from '../compile/global-args.js';
import { processWord } from '../shell/lex.js';
import type { CheckWarning } from './rules.js';

/**
 * InvalidDefaultArgInFrom, as BuildKit's validateBaseImagesWithDefaultArgs: each FROM expanded with the global ARGs'
 * defaults alone (no `--build-arg`: a build that forgets one must still name an image) must be a valid reference;
 * `FROM busybox:$VERSION` with `ARG VERSION` and no default gives `busybox:`, which is not. The automatic platform args
 * keep their values. Reported with the name as written, for every stage (an unused one too), as there.
 */
export function invalidDefaultArgs(df: Dockerfile, args: GlobalArgOptions | undefined, isValid: (ref: string) => boolean = (ref) => ref !== ''): CheckWarning[] {
  const { buildArgs: _ignored, ...withoutBuildArgs } = args ?? {};
  const scope = globalArgScope(df, withoutBuildArgs);
  const out: CheckWarning[] = [];
  for (const inst of df.instructions) {
    if (inst.keyword !== 'FROM') continue;
    const written = inst.args[0] ?? '';
    let name: string;
    try {
      name = processWord(written, (n) => scope.get(n), { escapeToken: df.escapeToken }).result;
    } catch {
      return [];   // as BuildKit: a FROM that does not expand stops this check (the build reports the error)
    }
    if (isValid(name)) continue;
    out.push({ rule: 'InvalidDefaultArgInFrom', message: `Default value for ARG ${written} results in empty or invalid base image name`, file: df.file,
      line: inst.location.line, column: inst.location.column, endLine: inst.location.endLine });
  }
  return out;
}
