// HCL values as plain data (cty's string, number, bool, null, tuple/list and object/map), with the conversions HCL
// applies where a value of one type is used as another: a number in a template, "true" as a condition, "8" in a sum.

/** An evaluated HCL value. */
export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };

/** Thrown by a conversion or a function; the evaluator adds the position (and keeps the hint). */
export class ValueError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

/**
 * Sets `obj[key]` as the object's own entry. A bake file's keys are data: plain assignment would take `"__proto__"`
 * for the object's prototype (the entry silently lost, the object given another's keys); read keys back with
 * Object.hasOwn, so that "toString" or "constructor" is not a key every map has.
 */
export function setKey<T>(obj: { [key: string]: T }, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * `s` with each lone UTF-16 surrogate replaced by U+FFFD, as Go's UTF-8 strings hold it (encoding/json decodes a lone
 * `\ud800` so): such a string cannot be URL-encoded, and no Go program sees one.
 */
export function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/**
 * The deepest JSON (jsondecode, a NAME_JSON override) read into a value. Values are compared, converted and printed by
 * recursive functions on a stack of about 1 MB, where Go's encoding/json reads 10000 levels on a stack that grows.
 */
export const MAX_JSON_DEPTH = 1000;

/** Refuses JSON text whose arrays and objects nest deeper than MAX_JSON_DEPTH (a ValueError), before it is parsed. */
export function checkJsonDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) throw new ValueError(`JSON nested more than ${MAX_JSON_DEPTH} levels deep`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}

export function isObject(v: Value): v is { [key: string]: Value } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The type's name as HCL's messages say it. */
export function typeName(v: Value): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'tuple';
  return isObject(v) ? 'object' : typeof v;
}

/** A number as cty prints it: integers without a fraction or exponent. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return BigInt(n).toString();
  return String(n);
}

/** HCL's conversion to string (template interpolation, string parameters). */
export function toStr(v: Value, what = 'value'): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) throw new ValueError(`${what} is null; a string is required`);
  throw new ValueError(`${what} is a ${typeName(v)}; a string is required`);
}

/** HCL's conversion to bool: a bool, or the strings "true", "1", "false" and "0" (go-cty's string to bool). */
export function toBool(v: Value, what = 'value'): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ValueError(`${what} is ${v === null ? 'null' : `a ${typeName(v)}`}; a bool is required`);
}

/** HCL's conversion to number: a number, or a string that spells one. */
export function toNum(v: Value, what = 'value'): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v.trim())) return Number(v);
  throw new ValueError(`${what} is ${v === null ? 'null' : typeof v === 'string' ? `the string ${JSON.stringify(v)}` : `a ${typeName(v)}`}; a number is required`);
}

/** A list or tuple's elements (a set is a list here); an object is not a list. */
export function toList(v: Value, what = 'value'): Value[] {
  if (Array.isArray(v)) return v;
  throw new ValueError(`${what} is ${v === null ? 'null' : `a ${typeName(v)}`}; a list is required`);
}

export function toMap(v: Value, what = 'value'): { [key: string]: Value } {
  if (isObject(v)) return v;
  throw new ValueError(`${what} is ${v === null ? 'null' : `a ${typeName(v)}`}; a map or object is required`);
}

/** HCL's `==`: same type and same value, element by element. */
export function valuesEqual(a: Value, b: Value): boolean {
  return compareValues(a, b).isEqual;
}

/** valuesEqual, with the work it took: an element per pair of values compared, and a string's length / 16. */
export function compareValues(a: Value, b: Value): { isEqual: boolean; work: number } {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return { isEqual: a === b, work: 1 + (typeof a === 'string' ? a.length / 16 : 0) };
  const work = { n: 0 };
  const isEqual = equalWithin(a, b, new Map(), work);
  return { isEqual, work: work.n };
}

/**
 * valuesEqual, each pair of lists or maps compared once (`compared`): two values that each refer to one list twice
 * at each of 40 levels compare in 40 steps, not 2^40. A pair met again is equal or still being compared: the first
 * difference ends the whole comparison.
 */
function equalWithin(a: Value, b: Value, compared: Map<object, Set<object>>, work: { n: number }): boolean {
  work.n += 1 + (typeof a === 'string' ? a.length / 16 : 0);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (a === b) return true;
  const pairs = compared.get(a) ?? new Set<object>();
  if (pairs.has(b)) return true;
  pairs.add(b);
  compared.set(a, pairs);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equalWithin(x, b[i] ?? null, compared, work));
  }
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && equalWithin(a[k] ?? null, b[k] ?? null, compared, work));
}
