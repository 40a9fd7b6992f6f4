import dockerignore from '@balena/dockerignore';

// .dockerignore as docker reads it (moby/patternmatcher ignorefile.ReadAll) and matches it (later lines win, `!`
// re-includes). Matching is delegated to @balena/dockerignore, which implements Docker's semantics.

/** Reads .dockerignore text into patterns: comments and blank lines dropped, paths cleaned, `!` kept as a prefix. */
export function parseDockerignore(text: string): string[] {
  const patterns: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const line of lines) {
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(invert ? `!${pattern}` : pattern);
  }
  return patterns;
}

/** A predicate that is true when a context-relative path (forward slashes) is excluded by the patterns. */
export function createIgnoreMatcher(patterns: string[]): (relPath: string) => boolean {
  const ig = dockerignore.default({ ignorecase: false }).add(patterns);
  return (relPath: string): boolean => {
    const p = cleanPath(relPath).replace(/^\/+/, '');
    if (p === '.' || p === '') return false;
    return ig.ignores(p);
  };
}

/** Go's path.Clean: collapses `//`, `.` and `..`, drops a trailing slash. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
    } else out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}
