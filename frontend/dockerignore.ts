import { UserError } from '../common/index.js';

export { cleanPath } from './clean-path.js';
import { cleanPath } from './clean-path.js';

// .dockerignore as docker reads it (moby/patternmatcher ignorefile.ReadAll) and matches it (patternmatcher.ts).

/** Reads .dockerignore text into patterns: comments and blank lines dropped, paths cleaned, `!` kept as a prefix. */
export function parseDockerignore(text: string, file = '.dockerignore'): string[] {
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
    if (patterns.length > MAX_IGNORE_PATTERNS) {
      throw new UserError('INVALID_ARGUMENT', `${file} holds more than ${MAX_IGNORE_PATTERNS} patterns`, 'match more with fewer patterns (dir/, **/*.log); each pattern is tried on every path of the context');
    }
  }
  return patterns;
}

/**
 * The most patterns an ignore file may hold. Each is matched against every path of the context and costs memory of
 * its own: 300,000 took 113 s and 3.4 GB on a two-file context. Real ones hold tens.
 */
export const MAX_IGNORE_PATTERNS = 10_000;
