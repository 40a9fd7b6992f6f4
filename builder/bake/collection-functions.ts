import { isObject, toList, toStr, typeName, ValueError, valuesEqual, type Value } from './value.js';
import { sortedSet } from './variable-type.js';

// go-cty's stdlib functions on sets and lists that buildx's bake stdlib has (cty/function/stdlib set.go,
// collection.go, csv.go): sets are lists here, made as cty makes a set (no repeats; a set of primitives in cty's
// order, its elements unified to strings when their types differ).

/** The arguments as sets of one element type, as cty converts them to set(T) with T unified across them. */
function asSets(args: Value[], what: string[]): Value[][] {
  const lists = args.map((a, i) => toList(a, `the ${what[i] ?? what.at(-1) ?? 'set'} argument`));
  const all = lists.flat();
  const kinds = new Set(all.map((v) => (v === null ? 'null' : typeName(v))));
  // cty's type unification: string, number and bool unify to string; otherwise the types must agree.
  const toString = kinds.size > 1 && [...kinds].every((k) => k === 'string' || k === 'number' || k === 'bool');
  if (kinds.size > 1 && !toString && !(kinds.size === 2 && kinds.has('null'))) throw new ValueError('given sets must all have compatible element types');
  return lists.map((l) => sortedSet(toString ? l.map((v) => (v === null ? v : toStr(v))) : l));
}

const has = (set: Value[], v: Value): boolean => set.some((x) => valuesEqual(x, v));

/** setunion, setintersection, setsubtract, setsymmetricdifference. */
export function setOperation(op: 'union' | 'intersection' | 'subtract' | 'symmetricdifference', args: Value[]): Value[] {
  const sets = asSets(args, op === 'subtract' ? ['a', 'b'] : ['first_set', 'other_sets']);
  let acc = sets[0] ?? [];
  for (const s of sets.slice(1)) {
    if (op === 'union') acc = [...acc, ...s];
    else if (op === 'intersection') acc = acc.filter((v) => has(s, v));
    else if (op === 'subtract') acc = acc.filter((v) => !has(s, v));
    else acc = [...acc.filter((v) => !has(s, v)), ...s.filter((v) => !has(acc, v))];
  }
  return sortedSet(acc);
}

/** sethaselement: whether the set holds the element, of the set's element type (no conversion). */
export function setHasElement(set: Value, elem: Value): boolean {
  return has(asSets([set], ['set'])[0] ?? [], elem);
}

/** setproduct: every combination of one element from each list, in order. */
export function setProduct(args: Value[]): Value[] {
  if (args.length < 2) throw new ValueError('at least two arguments are required');
  const lists = args.map((a, i) => toList(a, `argument ${i + 1}`));
  return lists.reduce<Value[][]>((acc, l) => acc.flatMap((combo) => l.map((v) => [...combo, v])), [[]]);
}

/** chunklist: the list in chunks of `size` (0: one chunk of all). */
export function chunkList(list: Value[], size: number): Value[] {
  if (!Number.isInteger(size)) throw new ValueError('invalid size: value must be a whole number');
  if (size < 0) throw new ValueError('the size argument must be positive');
  if (list.length === 0) return [];
  if (size === 0) return [list];
  const out: Value[] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** hasindex: a list's or tuple's whole-number index in range, or a map's or object's key. */
export function hasIndex(collection: Value, key: Value): boolean {
  if (Array.isArray(collection)) {
    const n = typeof key === 'number' ? key : typeof key === 'string' && /^-?\d+$/.test(key) ? Number(key) : undefined;
    return n !== undefined && Number.isInteger(n) && n >= 0 && n < collection.length;
  }
  if (isObject(collection)) return typeof key === 'string' && Object.hasOwn(collection, key);
  throw new ValueError(`collection must be a list, a map or a tuple, not ${typeName(collection)}`);
}

/** Go's encoding/csv records: quoted fields may hold commas, quotes ("") and newlines; blank lines are skipped. */
function csvRecords(text: string): { fields: string[]; line: number }[] {
  const records: { fields: string[]; line: number }[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const start = line;
    if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n')) { i += text[i] === '\r' ? 2 : 1; line++; continue; }
    const fields: string[] = [];
    let field = '';
    for (;;) {
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) throw new ValueError(`CSV parse error on line ${start}: extraneous or missing " in quoted-field`);
          if (text[i] === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
          if (text[i] === '"') { i++; break; }
          if (text[i] === '\n') line++;
          field += text[i++];
        }
        if (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') throw new ValueError(`CSV parse error on line ${line}: extraneous or missing " in quoted-field`);
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          if (text[i] === '"') throw new ValueError(`CSV parse error on line ${line}: bare " in non-quoted-field`);
          field += text[i++];
        }
      }
      fields.push(field);
      field = '';
      if (text[i] === ',') { i++; continue; }
      if (text[i] === '\r') i++;
      if (text[i] === '\n') { i++; line++; }
      break;
    }
    records.push({ fields, line: start });
  }
  return records;
}

/** csvdecode: the rows after the header line as objects of strings, keyed by the header's names. */
export function csvDecode(text: string): Value[] {
  const [header, ...rows] = csvRecords(text);
  if (!header) throw new ValueError('missing header line');
  const names = header.fields;
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new ValueError(`duplicate column name ${JSON.stringify(dup)}`);
  return rows.map((r) => {
    if (r.fields.length !== names.length) throw new ValueError(`CSV parse error on line ${r.line}: wrong number of fields`);
    return Object.fromEntries(names.map((n, i) => [n, r.fields[i] ?? '']));
  });
}
