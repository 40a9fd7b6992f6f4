import type { Expr } from './hcl-ast.js';
import { BakeFileError } from './errors.js';
import { fullRange } from './hcl-diagnostics.js';
import { formatNumber, isObject, setKey, typeName, ValueError, type Value } from './value.js';
import { uniqueValues } from './value-identity.js';
import { listBytes, mapBytes, spendBytes } from './eval-budget.js';

// A variable's `type` (hcl's ext/typeexpr TypeConstraint: string, number, bool, any, list(T), set(T), map(T),
// tuple([T, …]), object({name = T, …})) and go-cty's conversion of a value to it (convert.Convert), which buildx
// applies to the default (bake/hclparser resolveValue) and which shapes a value read from the environment.

/** A type constraint. `any` is cty's DynamicPseudoType: any value, kept as it is. */
export type VarType =
  | { kind: 'string' | 'number' | 'bool' | 'any' }
  | { kind: 'list' | 'set' | 'map'; element: VarType }
  | { kind: 'tuple'; elements: VarType[] }
  | { kind: 'object'; attributes: Record<string, VarType> };

const PRIMITIVES = new Set(['string', 'number', 'bool', 'any']);

const invalid = (e: Expr, detail: string): BakeFileError => new BakeFileError(fullRange(e), `Invalid type specification; ${detail}`);

/** typeexpr.TypeConstraint: the type an expression spells, or hcl's error at it. */
export function parseVarType(e: Expr): VarType {
  if (e.kind === 'variable') {
    if (PRIMITIVES.has(e.name)) return { kind: e.name as 'string' | 'number' | 'bool' | 'any' };
    if (['list', 'set', 'map', 'tuple', 'object'].includes(e.name)) throw invalid(e, `The ${e.name} type constructor requires one argument specifying the element type.`);
    throw invalid(e, `The keyword ${JSON.stringify(e.name)} is not a valid type specification.`);
  }
  if (e.kind !== 'call') throw invalid(e, 'A type specification is either a primitive type keyword (bool, number, string) or a complex type constructor call, like list(string).');
  const [arg, ...rest] = e.args;
  if (PRIMITIVES.has(e.name)) throw invalid(e, `Primitive type keyword ${JSON.stringify(e.name)} does not expect arguments.`);
  if (!['list', 'set', 'map', 'tuple', 'object'].includes(e.name)) throw invalid(e, `Keyword ${JSON.stringify(e.name)} is not a valid type constructor.`);
  if (!arg || rest.length) throw invalid(e, `The ${e.name} type constructor requires one argument specifying the element type.`);
  if (e.name === 'tuple') {
    if (arg.kind !== 'tuple') throw invalid(arg, 'The tuple type constructor requires a list of element types.');
    return { kind: 'tuple', elements: arg.items.map(parseVarType) };
  }
  if (e.name === 'object') {
    if (arg.kind !== 'object') throw invalid(arg, 'Object type constructor requires a map whose keys are attribute names and whose values are the corresponding attribute types.');
    const attributes: Record<string, VarType> = {};
    for (const item of arg.items) {
      const key = item.key.kind === 'template' && item.key.parts.length === 1 && item.key.parts[0]?.kind === 'text' ? item.key.parts[0].text : undefined;
      if (key === undefined) throw invalid(item.key, 'Object constructor map keys must be attribute names.');
      setKey(attributes, key, parseVarType(item.value));
    }
    return { kind: 'object', attributes };
  }
  return { kind: e.name as 'list' | 'set' | 'map', element: parseVarType(arg) };
}

/** cty's FriendlyNameForConstraint ("list of string", "any"), what `--list variables` prints. */
export function constraintName(t: VarType): string {
  switch (t.kind) {
    case 'list': case 'set': case 'map': return `${t.kind} of ${constraintName(t.element)}`;
    default: return t.kind;
  }
}

/** cty's FriendlyName, which buildx's "unsupported type" errors use: `any` is "dynamic". */
export function friendlyName(t: VarType): string {
  switch (t.kind) {
    case 'any': return 'dynamic';
    case 'list': case 'set': case 'map': return `${t.kind} of ${friendlyName(t.element)}`;
    default: return t.kind;
  }
}

export const isPrimitive = (t: VarType): boolean => t.kind === 'string' || t.kind === 'number' || t.kind === 'bool';

/** cty.ParseNumberVal's syntax: a decimal number, as HCL reads "8" where a number is wanted. */
const NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * go-cty's convert.Convert of `v` to `t`: primitives convert among themselves where cty allows ("8" to 8, true to
 * "true", "1" to true), a tuple to a list, set or tuple, an object to a map or object (an object's extra attributes
 * dropped, a missing one an error); a set comes out sorted and without repeats, as cty orders a set of primitives.
 * A ValueError with cty's message when `v` does not convert.
 */
export function convertValue(v: Value, t: VarType): Value {
  if (v === null || t.kind === 'any') return v;
  const have = typeName(v);
  switch (t.kind) {
    case 'string':
      if (typeof v === 'object') throw new ValueError(`string required, but have ${have}`);
      return typeof v === 'number' ? formatNumber(v) : String(v);
    case 'number':
      if (typeof v === 'number') return v;
      if (typeof v === 'string') { if (NUMBER.test(v)) return Number(v); throw new ValueError('a number is required'); }
      throw new ValueError(`number required, but have ${have}`);
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string') {
        if (v === 'true' || v === '1') return true;
        if (v === 'false' || v === '0') return false;
        const lower = v.toLowerCase();
        throw new ValueError(lower === 'true' || lower === 'false' ? `a bool is required; to convert from string, use lowercase "${lower}"` : 'a bool is required');
      }
      throw new ValueError(`bool required, but have ${have}`);
    case 'list': case 'set': {
      if (!Array.isArray(v)) throw new ValueError(`${constraintName(t)} required${typeof v === 'object' ? '' : `, but have ${have}`}`);
      // A conversion copies the value down to its type's depth, a list it refers to many times as many times.
      spendBytes(listBytes(v.length), 'the conversion');
      const items = v.map((x) => convertValue(x, t.element));
      return t.kind === 'list' ? items : sortedSet(items);
    }
    case 'map': {
      if (!isObject(v)) throw new ValueError(`${constraintName(t)} required${typeof v === 'object' ? '' : `, but have ${have}`}`);
      spendBytes(mapBytes(Object.keys(v).length), 'the conversion');
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, convertValue(v[k] ?? null, t.element)]));
    }
    case 'tuple': {
      if (!Array.isArray(v)) throw new ValueError(`tuple required, but have ${have}`);
      if (v.length !== t.elements.length) throw new ValueError('tuple required');
      spendBytes(listBytes(v.length), 'the conversion');
      return v.map((x, i) => convertValue(x, t.elements[i] ?? { kind: 'any' }));
    }
    case 'object': {
      if (!isObject(v)) throw new ValueError(`object required, but have ${have}`);
      const missing = Object.keys(t.attributes).filter((k) => !Object.hasOwn(v, k)).sort();
      if (missing.length === 1) throw new ValueError(`attribute ${JSON.stringify(missing[0])} is required`);
      if (missing.length === 2) throw new ValueError(`attributes ${JSON.stringify(missing[0])} and ${JSON.stringify(missing[1])} are required`);
      if (missing.length > 2) throw new ValueError(`attributes ${missing.slice(0, -1).map((m) => JSON.stringify(m)).join(', ')}, and ${JSON.stringify(missing.at(-1))} are required`);
      spendBytes(mapBytes(Object.keys(t.attributes).length), 'the conversion');
      return Object.fromEntries(Object.keys(t.attributes).sort().map((k) => [k, convertValue(v[k] ?? null, t.attributes[k] ?? { kind: 'any' })]));
    }
  }
}

/** A set of primitives as cty iterates it: no repeats; strings by their text, numbers by value, false before true. */
export function sortedSet(items: Value[]): Value[] {
  return uniqueValues(items).sort((a, b) => {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
    if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
    return 0;
  });
}
