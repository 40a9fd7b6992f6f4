// Glob matching in time linear in the text: a Thompson/Pike simulation of the few regular-expression shapes that
// shell patterns (${v#pat}, ${v/pat/r}) and .dockerignore patterns compile to. A backtracking RegExp for
// `*a*a*a*a*b` or `**/**/**/x` takes exponential or high-polynomial time on a long name (a hostile context or
// Dockerfile hung the build); Go's RE2, which BuildKit and moby use, never backtracks, and neither does this.

/** One step of a compiled glob: one character, any run of characters, or an optional part `[i+1, to)`. */
export type GlobToken =
  | { kind: 'one'; test: (c: string) => boolean }
  | { kind: 'many'; test: (c: string) => boolean }
  | { kind: 'optional'; to: number };

/** Where a match starts and ends, in indexes of `chars`. */
export interface GlobMatch { start: number; end: number }

/**
 * The leftmost match of `tokens` in `chars` at or after `from` (only at `from` when `anchored`), ending as late as
 * possible, or as early as possible with `shortest`. Linear in `chars.length × tokens.length`.
 */
export function linearMatch(tokens: GlobToken[], chars: string[], from: number, opts: { anchored: boolean; shortest?: boolean }): GlobMatch | undefined {
  const accept = tokens.length;
  let startOf = new Int32Array(accept + 1).fill(-1);
  let list: number[] = [];
  let best: GlobMatch | undefined;
  const add = (into: number[], owner: Int32Array, state: number, start: number): void => {
    const stack = [state];
    for (let s = stack.pop(); s !== undefined; s = stack.pop()) {
      const held = owner[s] ?? -1;
      if (held !== -1 && held <= start) continue;   // an earlier start already holds this state: it wins
      if (held === -1) into.push(s);
      owner[s] = start;
      const t = tokens[s];
      if (t?.kind === 'many') stack.push(s + 1);
      else if (t?.kind === 'optional') stack.push(t.to, s + 1);
    }
  };
  for (let pos = from; pos <= chars.length; pos++) {
    if (best === undefined && (pos === from || !opts.anchored)) add(list, startOf, 0, pos);
    const acceptedBy = startOf[accept] ?? -1;
    if (acceptedBy !== -1 && (best === undefined || acceptedBy < best.start || (acceptedBy === best.start && !opts.shortest))) {
      best = { start: acceptedBy, end: pos };
      if (opts.shortest === true) return best;
    }
    if (best !== undefined) list = list.filter((s) => (startOf[s] ?? -1) <= (best?.start ?? -1));
    if (list.length === 0 && (best !== undefined || opts.anchored)) break;
    if (pos === chars.length) break;
    const c = chars[pos] ?? '';
    const nextOwner = new Int32Array(accept + 1).fill(-1);
    const next: number[] = [];
    for (const s of [...list].sort((a, b) => (startOf[a] ?? 0) - (startOf[b] ?? 0))) {
      const t = tokens[s];
      const start = startOf[s] ?? -1;
      if (t === undefined || t.kind === 'optional' || !t.test(c)) continue;
      add(next, nextOwner, t.kind === 'one' ? s + 1 : s, start);
    }
    list = next;
    startOf = nextOwner;
  }
  return best;
}

/** How many tokens may repeat (`many` or `optional`): with one or none, a backtracking RegExp stays linear enough. */
export function repeatCount(tokens: GlobToken[]): number {
  return tokens.filter((t) => t.kind !== 'one').length;
}
