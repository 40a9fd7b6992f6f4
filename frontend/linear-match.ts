// Glob matching in time linear in the text: a Thompson/Pike simulation of the few regular-expression shapes that
// shell patterns (${v#pat}, ${v/pat/r}) and .dockerignore patterns compile to. A backtracking RegExp for
// `*a*a*a*a*b` or `**/**/**/x` takes exponential or high-polynomial time on a long name (a hostile context or
// Dockerfile hung the build); Go's RE2, which BuildKit and moby use, never backtracks, and neither does this.

/** One step of a compiled glob: one character, any run of characters, or an optional part `[i+1, to)`. */
export type GlobToken =
  | { kind: 'one'; test: (c: string) => boolean; /** set when only this character matches */ lit?: string }
  | { kind: 'many'; test: (c: string) => boolean }
  | { kind: 'optional'; to: number };

/** Where a match starts and ends, in indexes of `chars`. */
export interface GlobMatch { start: number; end: number }

/** Each state's epsilon closure (itself, past a `many`, into or past an `optional`), in priority order. */
const closures = new WeakMap<GlobToken[], number[][]>();

function closuresOf(tokens: GlobToken[]): number[][] {
  let all = closures.get(tokens);
  if (all !== undefined) return all;
  all = [];
  for (let s = tokens.length; s >= 0; s--) {
    const t = tokens[s];
    const out = [s];
    if (t?.kind === 'many') out.push(...(all[s + 1] ?? []));
    else if (t?.kind === 'optional') out.push(...(all[s + 1] ?? []), ...(all[t.to] ?? []));
    all[s] = [...new Set(out)];
  }
  closures.set(tokens, all);
  return all;
}

/**
 * The leftmost match of `tokens` in `chars` (a string is read by UTF-16 code units, an array by its elements) at or
 * after `from` (only at `from` when `anchored`), ending as late as possible, or as early as possible with `shortest`.
 * Linear in `chars.length × tokens.length`.
 */
export function linearMatch(tokens: GlobToken[], chars: ArrayLike<string>, from: number, opts: { anchored: boolean; shortest?: boolean }): GlobMatch | undefined {
  const accept = tokens.length;
  const closure = closuresOf(tokens);
  // Threads in priority order (earliest start first); startOf[state] is the start of the thread holding it, -1 none.
  let startOf = new Int32Array(accept + 1).fill(-1);
  let nextStartOf = new Int32Array(accept + 1).fill(-1);
  let list: number[] = [];
  let next: number[] = [];
  let best: GlobMatch | undefined;
  const add = (into: number[], owner: Int32Array, state: number, start: number): void => {
    for (const s of closure[state] ?? []) {
      if ((owner[s] ?? -1) !== -1) continue;   // an earlier (higher-priority) thread holds it
      owner[s] = start;
      into.push(s);
    }
  };
  for (let pos = from; pos <= chars.length; pos++) {
    if (best === undefined && (pos === from || !opts.anchored)) add(list, startOf, 0, pos);
    const acceptedBy = startOf[accept] ?? -1;
    if (acceptedBy !== -1 && (best === undefined || acceptedBy < best.start || (acceptedBy === best.start && opts.shortest !== true))) {
      best = { start: acceptedBy, end: pos };
      if (opts.shortest === true) return best;
    }
    if (list.length === 0 && (best !== undefined || opts.anchored)) break;
    if (pos === chars.length) break;
    const c = chars[pos] ?? '';
    for (const s of list) {
      const start = startOf[s] ?? -1;
      if (best !== undefined && start > best.start) continue;   // a later start can no longer win
      const t = tokens[s];
      if (t === undefined || t.kind === 'optional' || !t.test(c)) continue;
      add(next, nextStartOf, t.kind === 'one' ? s + 1 : s, start);
    }
    for (const s of list) startOf[s] = -1;
    [startOf, nextStartOf] = [nextStartOf, startOf];
    [list, next] = [next, list];
    next.length = 0;
  }
  return best;
}

/** How many tokens may repeat (`many` or `optional`): with one or none, a backtracking RegExp stays linear enough. */
export function repeatCount(tokens: GlobToken[]): number {
  return tokens.filter((t) => t.kind !== 'one').length;
}
