import { compareValues, isObject, ValueError, type Value } from './value.js';

// What evaluating one bake definition may spend. A bake file comes with the pull request CI builds, and a few lines
// of it can ask for more than any machine has: `format("%500000000d", 1)` in a for over range(20) is 10 GB of
// strings, 40 targets each concatenating the next one's tags twice are 2^40 of them, three nested fors over
// range(1024) are a billion steps. buildx (Go, go-cty) has no bound but range()'s 1024 numbers: it runs until the
// machine gives out. tsbuild counts, and refuses past the bound with the bake file's error at the expression that
// crossed it, where Node would end in a fatal out-of-memory crash or never end. Real bake files spend a few thousand
// steps and kilobytes; the bounds are far above them.

/** Expressions evaluated for one definition: about 3 s of evaluation. */
export const MAX_STEPS = 10_000_000;

/** Bytes of values one definition may make, counted as V8 holds them (roughly: a string its length, a list 8 bytes an element). */
export const MAX_BYTES = 64 * 1024 * 1024;

const HINT = 'a bake file that computes this much is not one a build needs; if it is yours, compute less (a smaller range, fewer combinations)';

/** Thrown where the budget runs out; the evaluator places it, and try() and can() do not take it for an answer. */
export class BudgetExceeded extends ValueError {
  constructor(message: string) {
    super(message, HINT);
  }
}

interface Budget { steps: number; bytes: number }

// Evaluation is synchronous: the definition being evaluated has the one budget there is, as hcl-eval.ts counts its
// nesting depth.
let current: Budget | undefined;

/** Runs `evaluateDefinition` with a fresh budget (parseBakeFiles: every variable, target and group of the files). */
export function withBudget<T>(evaluateDefinition: () => T): T {
  const saved = current;
  current = { steps: 0, bytes: 0 };
  try {
    return evaluateDefinition();
  } finally {
    current = saved;
  }
}

/** One more expression evaluated. */
export function spendStep(): void {
  if (current && ++current.steps > MAX_STEPS) throw new BudgetExceeded(`the bake definition evaluates more than ${MAX_STEPS / 1e6} million expressions`);
}

/** `n` steps of work that is not an expression's (merging a target's blocks); `what` says what. */
export function spendSteps(n: number, what: string): void {
  if (!current) return;
  current.steps += n;
  if (current.steps > MAX_STEPS) throw new BudgetExceeded(`${what}: the bake definition takes more than ${MAX_STEPS / 1e6} million steps to evaluate`);
}

/**
 * valuesEqual (==, contains(), index()…), its work counted as steps: a step (an expression's evaluation, about
 * 0.3 us) is about 4 values compared (65 ns each, measured). Comparing two lists of 100000 strings in a for over
 * range(1024) was no step at all and never finished.
 */
export function equalSpending(a: Value, b: Value): boolean {
  const { isEqual, work } = compareValues(a, b);
  spendSteps(Math.floor(work / 4), 'comparing values');
  return isEqual;
}

/**
 * What a builtin's pass over its arguments costs in steps, spent before it runs: 48 characters (6.6 ns each to
 * count, measured) or 4 list elements or map entries are about one expression's evaluation. length(s) of a 5 MB
 * string in two fors over range(1024) was a few million steps and hours of counting. `touchesOnly`: a builtin that
 * reads one element or entry, whatever the size of what it is given.
 */
export function spendOnArguments(name: string, args: Value[], touchesOnly: boolean): void {
  if (touchesOnly || !current) return;
  let units = 0;
  for (const a of args) {
    if (typeof a === 'string') units += a.length / 48;
    else if (Array.isArray(a)) units += a.length / 4;
    else if (isObject(a)) units += Object.keys(a).length / 4;
  }
  spendSteps(Math.floor(units), `${name}()`);
}

/** `bytes` more of values, about to be made or just made; `what` says what made them. */
export function spendBytes(bytes: number, what: string): void {
  if (!current) return;
  current.bytes += bytes;
  if (current.bytes > MAX_BYTES) throw new BudgetExceeded(`${what}: the values the bake definition computes would pass ${MAX_BYTES / 1024 / 1024} MiB`);
}

/** What is left to spend: a function that makes a value piece by piece stops when the pieces would not fit. */
export function bytesLeft(): number {
  return current ? MAX_BYTES - current.bytes : Infinity;
}

const STRING = 16;
const SLOT = 8;
const ENTRY = 40;

/** About what V8 takes to hold `s`. */
export const stringBytes = (s: string): number => STRING + s.length;

/** About what V8 takes for a list of `n` values (not the values). */
export const listBytes = (n: number): number => STRING + SLOT * n;

/** About what V8 takes for a map of `n` entries (not the values). */
export const mapBytes = (n: number): number => 2 * STRING + ENTRY * n;

/**
 * What `v` takes written out as a tree (jsonencode's text, flatten's leaves, a deep copy): a list or string `v` refers
 * to twice counts twice. The walk stops once past `limit`, so a value that refers to the same list twice at each of
 * 40 levels costs at most `limit` / 8 steps, not 2^40.
 */
export function treeBytes(v: Value, limit = bytesLeft()): number {
  let total = 0;
  const pending: Value[] = [v];
  for (let x = pending.pop(); x !== undefined && total <= limit; x = pending.pop()) {
    if (x === null || typeof x !== 'object') total += typeof x === 'string' ? stringBytes(x) : SLOT;
    else if (Array.isArray(x)) { total += listBytes(x.length); for (const item of x) pending.push(item); }
    else if (isObject(x)) { total += mapBytes(0); for (const [k, item] of Object.entries(x)) { total += ENTRY + k.length; pending.push(item); } }
  }
  return total;
}

/** What making `v` itself took, not what it holds: a new list or map of existing values, a new string. */
export function shallowBytes(v: Value): number {
  if (typeof v === 'string') return stringBytes(v);
  if (Array.isArray(v)) return listBytes(v.length);
  return isObject(v) ? mapBytes(Object.keys(v).length) : SLOT;
}

/** Bytes spent so far: a builtin that spent as it built its result is not charged for it again. */
export function bytesSpent(): number {
  return current?.bytes ?? 0;
}
