import { isObject, toList, toStr, typeName, ValueError, type Value } from './value.js';
import { sortedSet } from './variable-type.js';
import { valueNumbering } from './value-identity.js';
import { bytesLeft, equalSpending, listBytes, mapBytes, spendBytes, stringBytes } from './eval-budget.js';

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

/** setunion, setintersection, setsubtract, setsymmetricdifference. */
export function setOperation(op: 'union' | 'intersection' | 'subtract' | 'symmetricdifference', args: Value[]): Value[] {
  const sets = asSets(args, op === 'subtract' ? ['a', 'b'] : ['first_set', 'other_sets']);
  // Membership through one numbering of every value (value-identity.ts), not a search of the other set per element.
  const number = valueNumbering();
  const members = (s: Value[]): Set<number> => new Set(s.map(number));
  let acc = sets[0] ?? [];
  for (const s of sets.slice(1)) {
    const inS = members(s);
    if (op === 'union') acc = [...acc, ...s];
    else if (op === 'intersection') acc = acc.filter((v) => inS.has(number(v)));
    else if (op === 'subtract') acc = acc.filter((v) => !inS.has(number(v)));
    else { const inAcc = members(acc); acc = [...acc.filter((v) => !inS.has(number(v))), ...s.filter((v) => !inAcc.has(number(v)))]; }
  }
  return sortedSet(acc);
}

/** sethaselement: whether the set holds the element, of the set's element type (no conversion). */
export function setHasElement(set: Value, elem: Value): boolean {
  return (asSets([set], ['set'])[0] ?? []).some((x) => equalSpending(x, elem));
}

/** setproduct: every combination of one element from each list, in order. */
export function setProduct(args: Value[]): Value[] {
  if (args.length < 2) throw new ValueError('at least two arguments are required');
  const lists = args.map((a, i) => toList(a, `argument ${i + 1}`));
  // The product of the lengths, counted before anything is made: three lists of 1024 are a billion combinations.
  const each = listBytes(lists.length) + listBytes(1);
  let combos = 1;
  for (const l of lists) {
    combos *= l.length;
    if (combos * each > bytesLeft()) break;
  }
  spendBytes(combos * each, `setproduct()'s ${lists.map((l) => l.length).join(' × ')} combinations`);
  return lists.reduce<Value[][]>((acc, l) => acc.flatMap((combo) => l.map((v) => [...combo, v])), [[]]);
}

/** chunklist: the list in chunks of `size` (0: one chunk of all). */
export function chunkList(list: Value[], size: number): Value[] {
  if (!Number.isInteger(size)) throw new ValueError('invalid size: value must be a whole number');
  if (size < 0) throw new ValueError('the size argument must be positive');
  if (list.length === 0) return [];
  if (size === 0) return [list];
  const out: Value[] = [];
  for (let i = 0; i < list.length; i += size) {
    spendBytes(listBytes(Math.min(size, list.length - i)) + listBytes(1), 'chunklist()');
    out.push(list.slice(i, i + size));
  }
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

/**
 * Go's encoding/csv records: quoted fields may hold commas, quotes ("") and newlines; blank lines are skipped. Fields
 * are cut from the text, not built a character at a time (a rope of 10 million characters is 320 MB), and spent as
 * they are read.
 */
function csvRecords(text: string): { fields: string[]; line: number }[] {
  const records: { fields: string[]; line: number }[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const start = line;
    if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n')) { i += text[i] === '\r' ? 2 : 1; line++; continue; }
    const fields: string[] = [];
    for (;;) {
      let field: string;
      if (text[i] === '"') {
        i++;
        const pieces: string[] = [];
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) throw new ValueError(`CSV parse error on line ${start}: extraneous or missing " in quoted-field`);
          for (let nl = text.indexOf('\n', i); nl >= 0 && nl < q; nl = text.indexOf('\n', nl + 1)) line++;
          const isDoubled = text[q + 1] === '"';
          pieces.push(text.slice(i, isDoubled ? q + 1 : q));
          i = isDoubled ? q + 2 : q + 1;
          if (!isDoubled) break;
        }
        field = pieces.join('');
        if (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') throw new ValueError(`CSV parse error on line ${line}: extraneous or missing " in quoted-field`);
      } else {
        let j = i;
        while (j < text.length && text[j] !== ',' && text[j] !== '\n' && !(text[j] === '\r' && text[j + 1] === '\n')) {
          if (text[j] === '"') throw new ValueError(`CSV parse error on line ${line}: bare " in non-quoted-field`);
          j++;
        }
        field = text.slice(i, j);
        i = j;
      }
      spendBytes(stringBytes(field) + listBytes(1), 'csvdecode()');
      fields.push(field);
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
    spendBytes(mapBytes(names.length), 'csvdecode()');
    return Object.fromEntries(names.map((n, i) => [n, r.fields[i] ?? '']));
  });
}
