/**
 * The comments BuildKit's parser hands the instruction starting at line `at` (1-based) as its PrevComment (parser.go
 * Parse): the comment lines since the previous instruction, in order, each without its `#` and outer blanks. Blank
 * lines and parser directives (`directiveLines`) do not end them; an empty `#` drops the ones before it. Doc comments
 * (getDocComment) and the InvalidDefinitionDescription check both read them.
 */
export function prevComments(lines: string[], at: number, directiveLines: Set<number>): string[] {
  const comments: string[] = [];
  for (let n = at - 1; n >= 1; n--) {
    const line = (lines[n - 1] ?? '').trim();
    if (line === '' || directiveLines.has(n)) continue;
    if (!line.startsWith('#')) break;
    const comment = line.slice(1).trim();
    if (comment === '') break;
    comments.unshift(comment);
  }
  return comments;
}
