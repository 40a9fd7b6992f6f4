// "did you mean …?" for misspelt keywords, stage names, flags and --mount keys, as BuildKit's util/suggest picks it.

/**
 * BuildKit's suggest.Search (util/suggest/error.go): the candidate nearest to `word` by edit distance when it is
 * fewer than 3 edits away (hcl's limit); none when `word` is itself a candidate, as an exact match means the error
 * has another cause. Case-insensitive matching (instruction keywords) answers in `word`'s case when that is all lower
 * or all upper case (matchCase): `coppy` → `copy`, `COPPY` → `COPY`.
 */
export function nearest(word: string, candidates: readonly string[], opts: { caseSensitive?: boolean } = {}): string | undefined {
  const fold = (s: string): string => (opts.caseSensitive === true ? s : s.toLowerCase());
  const w = fold(word);
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    if (fold(c) === w) return undefined;
    const d = editDistance(w, fold(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best === undefined || opts.caseSensitive === true ? best : matchCase(best, word);
}

function matchCase(candidate: string, word: string): string {
  if (word === word.toLowerCase()) return candidate.toLowerCase();
  if (word === word.toUpperCase()) return candidate.toUpperCase();
  return candidate;
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
