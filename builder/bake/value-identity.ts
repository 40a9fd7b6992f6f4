import { spendSteps } from './eval-budget.js';
import { isObject, type Value } from './value.js';

// Equal values (value.ts valuesEqual) numbered alike, so that sets, distinct() and the like find repeats through a
// map: comparing each element with every one before it was quadratic (a set of a million strings, made in three
// lines, never finished), where go-cty keeps sets in hash buckets.

/**
 * A numbering of values: two values get one number when they are equal. A list or map is numbered from its elements'
 * numbers, each list or map once however often a value refers to it (a list made of the same list twice at each of
 * 40 levels is 40 numberings, not 2^40). NaN equals nothing, itself included, so each NaN has a number of its own.
 */
export function valueNumbering(): (v: Value) => number {
  const byKey = new Map<string, number>();
  const byObject = new WeakMap<object, number>();
  let next = 0;
  const intern = (key: string): number => {
    let n = byKey.get(key);
    if (n === undefined) { n = next++; byKey.set(key, n); }
    return n;
  };
  const number = (v: Value): number => {
    if (v === null) return intern('null');
    if (typeof v === 'boolean') return intern(v ? 'true' : 'false');
    if (typeof v === 'number') return Number.isNaN(v) ? next++ : intern(`n${v === 0 ? 0 : v}`);
    if (typeof v === 'string') {
      spendSteps(Math.floor(v.length / 48), 'comparing values');
      return intern(`s${v}`);
    }
    const known = byObject.get(v);
    if (known !== undefined) return known;
    // Numbering walks the value: counted as steps, as comparing it is (eval-budget.ts equalSpending).
    spendSteps(Math.floor((Array.isArray(v) ? v.length : Object.keys(v).length) / 4), 'comparing values');
    const key = Array.isArray(v)
      ? `[${v.map(number).join(',')}`
      : `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${number((isObject(v) ? v[k] : null) ?? null)}`).join(',')}`;
    const n = intern(key);
    byObject.set(v, n);
    return n;
  };
  return number;
}

/** `items` without repeats, the first of equal ones kept, in order. */
export function uniqueValues(items: Value[]): Value[] {
  const number = valueNumbering();
  const seen = new Set<number>();
  return items.filter((v) => {
    const n = number(v);
    if (seen.has(n)) return false;
    seen.add(n);
    return true;
  });
}
