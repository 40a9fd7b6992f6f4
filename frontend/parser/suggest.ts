// "did you mean …?" for misspelt keywords, stage names and flags.

/** The candidate closest to `word` by edit distance (case-insensitive), when it is close enough to be a typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(w.length / 3));
  return bestDistance <= limit ? best : undefined;
}

/** Levenshtein distance: insertions, deletions and substitutions each cost 1. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * BuildKit's suggest.Search (util/suggest/error.go) as its linter calls it, case-sensitive: the first option within
 * edit distance 2 that no later option beats, none when an option is `val` itself. What UndefinedVar and
 * UndefinedArgInFrom suggest.
 */
export function suggestSearch(val: string, options: Iterable<string>): string | undefined {
  let match: string | undefined;
  let min = 3;
  for (const option of options) {
    if (option === val) return undefined;
    const d = editDistance(val, option);
    if (d < min) {
      match = option;
      min = d;
    }
  }
  return match;
}
