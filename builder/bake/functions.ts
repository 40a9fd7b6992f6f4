import { createHash, randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import { posix } from 'node:path';
import { goRfc3339 } from '../../common/index.js';
import { formatDate } from './formatdate.js';
import type { Pos } from './hcl-ast.js';
import { BakeFileError, spanAt } from './errors.js';
import { unknownFunction } from './hcl-diagnostics.js';
import { cidrHost, cidrNetmask, cidrSubnet, cidrSubnets } from './cidr-functions.js';
import { chunkList, csvDecode, hasIndex, setHasElement, setOperation, setProduct } from './collection-functions.js';
import { rsaDecrypt, uuidV5 } from './crypto-functions.js';
import { equalSpending, listBytes, mapBytes, spendBytes } from './eval-budget.js';
import { uniqueValues } from './value-identity.js';
import { charCount, format, formatList, indent, join, jsonEncode, replace, split } from './string-functions.js';
import { regex, regexAll, regexReplace } from './regex-functions.js';
import { semverCompare } from './semver.js';
import { formatTimestamp, timeAdd, unixTimestampParse } from './time-functions.js';
import { checkJsonDepth, ValueError, isObject, toBool, toList, toMap, toNum, toStr, typeName, wellFormed, type Value } from './value.js';

// The functions of buildx's bake stdlib (docker/buildx bake/hclparser/stdlib.go, mostly go-cty's function/stdlib),
// by the names bake files use. Those tsbuild has not implemented are refused by name, never taken for a typo.

type Fn = (args: Value[]) => Value;

const str = (args: Value[], i: number): string => toStr(args[i] ?? null, `argument ${i + 1}`);
const num = (args: Value[], i: number): number => toNum(args[i] ?? null, `argument ${i + 1}`);
const list = (args: Value[], i: number): Value[] => toList(args[i] ?? null, `argument ${i + 1}`);
const map = (args: Value[], i: number): { [k: string]: Value } => toMap(args[i] ?? null, `argument ${i + 1}`);
const hash = (alg: string): Fn => (a) => createHash(alg).update(str(a, 0)).digest('hex');

const IMPLEMENTED: Record<string, { arity: [number, number]; fn: Fn }> = {
  absolute: { arity: [1, 1], fn: (a) => Math.abs(num(a, 0)) },
  add: { arity: [2, 2], fn: (a) => num(a, 0) + num(a, 1) },
  and: { arity: [2, 2], fn: (a) => toBool(a[0] ?? null) && toBool(a[1] ?? null) },
  base64decode: { arity: [1, 1], fn: (a) => Buffer.from(str(a, 0), 'base64').toString('utf8') },
  base64encode: { arity: [1, 1], fn: (a) => Buffer.from(str(a, 0), 'utf8').toString('base64') },
  basename: { arity: [1, 1], fn: (a) => posix.basename(str(a, 0)) || '.' },
  ceil: { arity: [1, 1], fn: (a) => Math.ceil(num(a, 0)) },
  chomp: { arity: [1, 1], fn: (a) => chomp(str(a, 0)) },
  coalesce: { arity: [1, Infinity], fn: (a) => a.find((v) => v !== null && v !== '') ?? fail('no non-null, non-empty argument') },
  coalescelist: { arity: [1, Infinity], fn: (a) => a.find((v) => Array.isArray(v) && v.length > 0) ?? fail('no non-empty list argument') },
  compact: { arity: [1, 1], fn: (a) => list(a, 0).filter((v) => v !== null && v !== '') },
  concat: { arity: [1, Infinity], fn: (a) => { const lists = a.map((_, i) => list(a, i)); spendBytes(listBytes(lists.reduce((n, l) => n + l.length, 0)), 'concat()'); return lists.flat() } },
  contains: { arity: [2, 2], fn: (a) => list(a, 0).some((v) => equalSpending(v, a[1] ?? null)) },
  dirname: { arity: [1, 1], fn: (a) => posix.dirname(str(a, 0)) },
  distinct: { arity: [1, 1], fn: (a) => uniqueValues(list(a, 0)) },
  divide: { arity: [2, 2], fn: (a) => num(a, 0) / num(a, 1) },
  element: { arity: [2, 2], fn: (a) => { const l = list(a, 0); if (!l.length) fail('cannot use element() on an empty list'); return l[((num(a, 1) % l.length) + l.length) % l.length] ?? null } },
  equal: { arity: [2, 2], fn: (a) => equalSpending(a[0] ?? null, a[1] ?? null) },
  flatten: { arity: [1, 1], fn: (a) => flatten(list(a, 0)) },
  floor: { arity: [1, 1], fn: (a) => Math.floor(num(a, 0)) },
  format: { arity: [1, Infinity], fn: (a) => format(str(a, 0), a.slice(1)) },
  formatlist: { arity: [1, Infinity], fn: (a) => formatList(str(a, 0), a.slice(1)) },
  greaterthan: { arity: [2, 2], fn: (a) => num(a, 0) > num(a, 1) },
  greaterthanorequalto: { arity: [2, 2], fn: (a) => num(a, 0) >= num(a, 1) },
  homedir: { arity: [0, 0], fn: () => homedir() },
  indent: { arity: [2, 2], fn: (a) => indent(num(a, 0), str(a, 1)) },
  indexof: { arity: [2, 2], fn: (a) => { const i = list(a, 0).findIndex((v) => equalSpending(v, a[1] ?? null)); if (i < 0) fail('item not found'); return i } },
  int: { arity: [1, 1], fn: (a) => Math.trunc(num(a, 0)) },
  join: { arity: [2, Infinity], fn: (a) => join(str(a, 0), a.slice(1).map((_, i) => list(a, i + 1))) },
  jsondecode: { arity: [1, 1], fn: (a) => jsonDecode(str(a, 0)) },
  jsonencode: { arity: [1, 1], fn: (a) => jsonEncode(a[0] ?? null) },
  keys: { arity: [1, 1], fn: (a) => Object.keys(map(a, 0)).sort() },
  length: { arity: [1, 1], fn: (a) => { const v = a[0] ?? null; return typeof v === 'string' ? charCount(v) : Array.isArray(v) ? v.length : Object.keys(map(a, 0)).length } },
  lessthan: { arity: [2, 2], fn: (a) => num(a, 0) < num(a, 1) },
  lessthanorequalto: { arity: [2, 2], fn: (a) => num(a, 0) <= num(a, 1) },
  log: { arity: [2, 2], fn: (a) => Math.log(num(a, 0)) / Math.log(num(a, 1)) },
  lookup: { arity: [2, 3], fn: (a) => { const m = map(a, 0); const k = str(a, 1); return Object.hasOwn(m, k) ? (m[k] ?? null) : a.length > 2 ? (a[2] ?? null) : fail(`no key ${JSON.stringify(k)} and no default`) } },
  lower: { arity: [1, 1], fn: (a) => str(a, 0).toLowerCase() },
  max: { arity: [1, Infinity], fn: (a) => Math.max(...a.map((_, i) => num(a, i))) },
  md5: { arity: [1, 1], fn: hash('md5') },
  merge: { arity: [0, Infinity], fn: (a) => { const maps = a.filter((v) => v !== null).map((v) => toMap(v, 'an argument of merge()')); spendBytes(mapBytes(maps.reduce((n, m) => n + Object.keys(m).length, 0)), 'merge()'); return Object.fromEntries(maps.flatMap((m) => Object.entries(m))) } },
  min: { arity: [1, Infinity], fn: (a) => Math.min(...a.map((_, i) => num(a, i))) },
  modulo: { arity: [2, 2], fn: (a) => num(a, 0) % num(a, 1) },
  multiply: { arity: [2, 2], fn: (a) => num(a, 0) * num(a, 1) },
  negate: { arity: [1, 1], fn: (a) => -num(a, 0) },
  not: { arity: [1, 1], fn: (a) => !toBool(a[0] ?? null) },
  notequal: { arity: [2, 2], fn: (a) => !equalSpending(a[0] ?? null, a[1] ?? null) },
  or: { arity: [2, 2], fn: (a) => toBool(a[0] ?? null) || toBool(a[1] ?? null) },
  parseint: { arity: [2, 2], fn: (a) => { const n = parseInt(str(a, 0), num(a, 1)); return Number.isNaN(n) ? fail(`cannot parse ${JSON.stringify(str(a, 0))} as an integer`) : n } },
  pow: { arity: [2, 2], fn: (a) => num(a, 0) ** num(a, 1) },
  range: { arity: [1, 3], fn: rangeFn },
  regex: { arity: [2, 2], fn: (a) => regex(str(a, 0), str(a, 1)) },
  regex_replace: { arity: [3, 3], fn: (a) => regexReplace(str(a, 0), str(a, 1), str(a, 2)) },
  replace: { arity: [3, 3], fn: (a) => replace(str(a, 0), str(a, 1), str(a, 2)) },
  reverse: { arity: [1, 1], fn: (a) => [...str(a, 0)].reverse().join('') },
  reverselist: { arity: [1, 1], fn: (a) => [...list(a, 0)].reverse() },
  sanitize: { arity: [1, 1], fn: (a) => str(a, 0).replace(/[^a-zA-Z0-9_-]/gu, '_') },
  sha1: { arity: [1, 1], fn: hash('sha1') },
  sha256: { arity: [1, 1], fn: hash('sha256') },
  sha512: { arity: [1, 1], fn: hash('sha512') },
  signum: { arity: [1, 1], fn: (a) => Math.sign(num(a, 0)) },
  slice: { arity: [3, 3], fn: (a) => { const l = list(a, 0); const s = num(a, 1); const e = num(a, 2); if (s < 0 || e > l.length || s > e) fail('slice indexes out of range'); return l.slice(s, e) } },
  sort: { arity: [1, 1], fn: (a) => list(a, 0).map((v) => toStr(v, 'a list element')).sort() },
  split: { arity: [2, 2], fn: (a) => split(str(a, 0), str(a, 1)) },
  strlen: { arity: [1, 1], fn: (a) => charCount(str(a, 0)) },
  substr: { arity: [3, 3], fn: substrFn },
  subtract: { arity: [2, 2], fn: (a) => num(a, 0) - num(a, 1) },
  timestamp: { arity: [0, 0], fn: () => goRfc3339(Date.now()) },
  formatdate: { arity: [2, 2], fn: (a) => formatDate(str(a, 0), str(a, 1)) },
  index: { arity: [2, 2], fn: (a) => {
    const i = list(a, 0).findIndex((x) => equalSpending(x, a[1] ?? null));
    if (i < 0) throw new ValueError('index: item not found');
    return i;
  } },
  regexall: { arity: [2, 2], fn: (a) => regexAll(str(a, 0), str(a, 1)) },
  title: { arity: [1, 1], fn: (a) => str(a, 0).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_, p: string, c: string) => p + c.toUpperCase()) },
  trim: { arity: [2, 2], fn: (a) => { const cut = new Set(str(a, 1)); const c = [...str(a, 0)]; let s = 0; let e = c.length; while (s < e && cut.has(c[s] ?? '')) s++; while (e > s && cut.has(c[e - 1] ?? '')) e--; return c.slice(s, e).join('') } },
  trimprefix: { arity: [2, 2], fn: (a) => { const s = str(a, 0); const p = str(a, 1); return s.startsWith(p) ? s.slice(p.length) : s } },
  trimspace: { arity: [1, 1], fn: (a) => str(a, 0).trim() },
  trimsuffix: { arity: [2, 2], fn: (a) => { const s = str(a, 0); const p = str(a, 1); return p && s.endsWith(p) ? s.slice(0, -p.length) : s } },
  upper: { arity: [1, 1], fn: (a) => str(a, 0).toUpperCase() },
  // Each UTF-8 byte is at most "%XX".
  urlencode: { arity: [1, 1], fn: (a) => { const s = wellFormed(str(a, 0)); spendBytes(3 * Buffer.byteLength(s), 'urlencode()'); return encodeURIComponent(s).replace(/%20/g, '+') } },
  uuidv4: { arity: [0, 0], fn: () => randomUUID() },
  values: { arity: [1, 1], fn: (a) => { const m = map(a, 0); return Object.keys(m).sort().map((k) => m[k] ?? null) } },
  // go-cty's byteslen and bytesslice take cty's bytes capsule, which no bake value is: as in buildx they refuse a string.
  byteslen: { arity: [1, 1], fn: (a) => fail(`Invalid value for "buf" parameter: bytes required, but have ${typeName(a[0] ?? null)}`) },
  bytesslice: { arity: [3, 3], fn: (a) => fail(`Invalid value for "buf" parameter: bytes required, but have ${typeName(a[0] ?? null)}`) },
  chunklist: { arity: [2, 2], fn: (a) => chunkList(list(a, 0), num(a, 1)) },
  cidrhost: { arity: [2, 2], fn: (a) => cidrHost(str(a, 0), num(a, 1)) },
  cidrnetmask: { arity: [1, 1], fn: (a) => cidrNetmask(str(a, 0)) },
  cidrsubnet: { arity: [3, 3], fn: (a) => cidrSubnet(str(a, 0), num(a, 1), num(a, 2)) },
  cidrsubnets: { arity: [1, Infinity], fn: (a) => cidrSubnets(str(a, 0), a.slice(1).map((_, i) => num(a, i + 1))) },
  csvdecode: { arity: [1, 1], fn: (a) => csvDecode(str(a, 0)) },
  formattimestamp: { arity: [2, 2], fn: (a) => formatTimestamp(str(a, 0), a[1] ?? null) },
  hasindex: { arity: [2, 2], fn: (a) => hasIndex(a[0] ?? null, a[1] ?? null) },
  rsadecrypt: { arity: [2, 2], fn: (a) => rsaDecrypt(str(a, 0), str(a, 1)) },
  semvercmp: { arity: [2, 2], fn: (a) => semverCompare(str(a, 0), str(a, 1)) },
  sethaselement: { arity: [2, 2], fn: (a) => setHasElement(a[0] ?? null, a[1] ?? null) },
  setintersection: { arity: [1, Infinity], fn: (a) => setOperation('intersection', a) },
  setproduct: { arity: [0, Infinity], fn: setProduct },
  setsubtract: { arity: [2, 2], fn: (a) => setOperation('subtract', a) },
  setsymmetricdifference: { arity: [1, Infinity], fn: (a) => setOperation('symmetricdifference', a) },
  setunion: { arity: [1, Infinity], fn: (a) => setOperation('union', a) },
  timeadd: { arity: [2, 2], fn: (a) => timeAdd(str(a, 0), str(a, 1)) },
  unixtimestampparse: { arity: [1, 1], fn: (a) => unixTimestampParse(num(a, 0)) },
  uuidv5: { arity: [2, 2], fn: (a) => uuidV5(str(a, 0), str(a, 1)) },
  zipmap: { arity: [2, 2], fn: (a) => { const k = list(a, 0); const v = list(a, 1); if (k.length !== v.length) fail('the two lists differ in length'); return Object.fromEntries(k.map((key, i) => [toStr(key), v[i] ?? null])) } },
};

/** buildx's functions tsbuild has not implemented: named in the error so the user knows it is not a typo. */
// bcrypt (go-cty-funcs crypto.BcryptFunc) needs a Blowfish bcrypt, which Node does not have.
const NOT_IMPLEMENTED = ['bcrypt'];

function fail(message: string): never {
  throw new ValueError(message);
}

/** Calls the stdlib function `name`; a type error is a ValueError (the caller adds the position). */
export function callFunction(name: string, args: Value[], pos: Pos): Value {
  const f = IMPLEMENTED[name];
  if (!f) {
    if (NOT_IMPLEMENTED.includes(name)) throw new BakeFileError(spanAt(pos, name.length), `function ${name}() is not supported by tsbuild bake yet`, 'compute the value another way, or pass it in as a variable from the environment');
    throw unknownFunction(name, pos, FUNCTION_NAMES);
  }
  const [lo, hi] = f.arity;
  if (args.length < lo || args.length > hi) fail(`${name}() takes ${lo === hi ? lo : hi === Infinity ? `at least ${lo}` : `${lo} to ${hi}`} argument${hi === 1 ? '' : 's'}, got ${args.length}`);
  return f.fn(args);
}

/** The names of every function bake files can call here. */
export const FUNCTION_NAMES = Object.keys(IMPLEMENTED);

/**
 * go-cty's chomp: the newlines (\r\n, \r or \n, any run of them) at the end removed. Counted from the end: the
 * regex /(\r\n|\n|\r)+$/ retries every newline of a long run that does not end the string, quadratic in it.
 */
function chomp(s: string): string {
  let end = s.length;
  while (end > 0 && (s[end - 1] === '\n' || s[end - 1] === '\r')) end--;
  return s.slice(0, end);
}

/** flatten: the leaves of nested lists in order, walked with a stack of its own and spent as they are gathered. */
function flatten(l: Value[]): Value[] {
  const out: Value[] = [];
  const pending: { list: Value[]; next: number }[] = [{ list: l, next: 0 }];
  for (let top = pending.at(-1); top !== undefined; top = pending.at(-1)) {
    if (top.next >= top.list.length) { pending.pop(); continue; }
    const v = top.list[top.next++] ?? null;
    if (Array.isArray(v)) pending.push({ list: v, next: 0 });
    else {
      spendBytes(listBytes(1), 'flatten()');
      out.push(v);
    }
  }
  return out;
}

/**
 * cty's jsondecode: Go's encoding/json, which decodes a lone surrogate escape ("\ud800") as U+FFFD where
 * JSON.parse keeps half a character (which urlencode, as encodeURIComponent, cannot encode).
 */
function jsonDecode(text: string): Value {
  const revive = (_key: string, v: unknown): unknown => {
    if (typeof v === 'string') return wellFormed(v);
    if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).every((k) => k === wellFormed(k))) return v;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [wellFormed(k), x as unknown]));
  };
  checkJsonDepth(text);
  // What JSON.parse makes is spent before it is made: at most about 8 bytes of values per character of text
  // (`[[],[],…]` is a list per 3 characters).
  spendBytes(8 * text.length, 'jsondecode()');
  try {
    return JSON.parse(text, revive) as Value;
  } catch (err) {
    if (err instanceof SyntaxError) fail('invalid JSON');
    throw err;
  }
}

/**
 * go-cty's range (sequence.go RangeFunc): one or two arguments count down when the end is below the start; a step
 * that leads away from the end is refused; and no more than 1024 numbers, cty's own bound against a range that
 * would take all the memory there is.
 */
function rangeFn(a: Value[]): Value {
  const start = a.length === 1 ? 0 : num(a, 0);
  const end = num(a, a.length === 1 ? 0 : 1);
  const step = a.length === 3 ? num(a, 2) : end < start ? -1 : 1;
  if (step === 0) fail('step must not be zero');
  const isDown = step < 0;
  if (isDown && end > start) fail('end must be less than start when step is negative');
  if (!isDown && end < start) fail('end must be greater than start when step is positive');
  const out: number[] = [];
  for (let v = start; isDown ? v > end : v < end; v += step) {
    if (out.length >= 1024) fail('more than 1024 values were generated; either decrease the difference between start and end or use a smaller step');
    out.push(v);
  }
  return out;
}

function substrFn(a: Value[]): Value {
  const chars = [...str(a, 0)];
  let offset = num(a, 1);
  let length = num(a, 2);
  if (offset < 0) offset = Math.max(0, chars.length + offset);
  if (length < 0) length = chars.length - offset;
  return chars.slice(offset, offset + length).join('');
}

/** For user functions declared in the file: whether a name would shadow a stdlib function (buildx refuses). */
export function isStdlibFunction(name: string): boolean {
  return name in IMPLEMENTED || NOT_IMPLEMENTED.includes(name) || name === 'try' || name === 'can' || name === 'convert';
}

export { isObject };
