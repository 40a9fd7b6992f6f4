import type { Dockerfile } from '../ast.js';
import { cleanPath } from '../clean-path.js';
import { PatternMatcher } from '../patternmatcher.js';
import type { CheckWarning } from './rules.js';

// CopyIgnoredFile (BuildKit's validateCopySourcePath, dockerfile2llb/validations.go): a COPY or ADD source from the
// build context that .dockerignore excludes can never be copied, and the build then fails with "not found" at that
// line; the warning says why. As BuildKit: only when the .dockerignore has no `!` re-inclusions (an excluded directory
// may then still hold an included file), only for the context (not `--from`, a URL or a git repository), the source
// path cleaned and matched with its parents; `.` or `/` only when a pattern excludes every root entry (`*`, `**`,
// `**/*`). The sources are the words as written: one holding a `$` is left alone, its value unknown to a text check.

/** The warnings for `df` against the context's .dockerignore `excludes` (undefined: the context has none). */
export function copyIgnoredFiles(df: Dockerfile, file: string, excludes: readonly string[] | undefined): CheckWarning[] {
  if (excludes === undefined) return [];
  const matcher = new PatternMatcher(excludes);
  if (matcher.hasExclusions || matcher.isEmpty) return [];
  const rootIgnored = matcher.patterns.some((p) => p === '*' || p === '**' || p === '**/*');
  const out: CheckWarning[] = [];
  for (const inst of df.instructions) {
    if (inst.keyword !== 'COPY' && inst.keyword !== 'ADD') continue;
    if (inst.flags.some((f) => f.name === 'from')) continue;
    const cmd = inst.keyword === 'ADD' ? 'Add' : 'Copy';
    for (const word of inst.args.slice(0, -1)) {
      if (word.includes('$') || word.startsWith('<<') || /^[a-z][a-z0-9+.-]*:\/\//i.test(word) || word.startsWith('git@')) continue;
      const src = cleanPath(word);
      if ((src === '.' || src === '/') && !rootIgnored) continue;
      if (!matcher.matchesOrParentMatches(src)) continue;
      out.push({ rule: 'CopyIgnoredFile', message: `Attempting to ${cmd} file ${JSON.stringify(src)} that is excluded by .dockerignore`, file,
        line: inst.location.line, column: 1, endLine: inst.location.endLine });
    }
  }
  return out;
}
