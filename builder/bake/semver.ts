import { GoRegexp } from './go-regexp.js';
import { ValueError } from './value.js';

// semvercmp(version, constraint), buildx's own function (bake/hclparser/stdlib.go semvercmpFunc) on
// Masterminds/semver v3: NewVersion's lenient versions ("v1.2" is 1.2.0), NewConstraint's syntax (`||` between
// alternatives, commas or spaces between the parts of one, `1.2 - 1.4` ranges, x/X/* and missing parts as
// wildcards, the operators = != > < >= <= ~ ~> ^), and its rule that a prerelease version satisfies only an
// alternative that names a prerelease.

interface Version { major: number; minor: number; patch: number; pre: string; text: string }

const VERSION = /^v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

function parseVersion(text: string): Version {
  const m = VERSION.exec(text);
  if (!m) throw new ValueError('Invalid Semantic Version');
  return { major: Number(m[1]), minor: Number(m[2] ?? 0), patch: Number(m[3] ?? 0), pre: m[4] ?? '', text };
}

/** semver's prerelease order: dot-separated identifiers, numeric ones by value and below alphanumeric ones. */
function comparePre(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return 1;
  if (b === '') return -1;
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (p === q) continue;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) return Number(p) < Number(q) ? -1 : 1;
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return 0;
}

function compare(a: Version, b: Version): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  return comparePre(a.pre, b.pre);
}

interface Constraint { op: string; con: Version; dirty: boolean; minorDirty: boolean; patchDirty: boolean }

const CV = 'v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?';
const OPS = '=||!=|>|<|>=|=>|<=|=<|~|~>|\\^';
// Masterminds runs these on Go's regexp; JavaScript's backtracks on them (`\s*` then an empty operator then `\s*`),
// and a constraint of 30000 spaces took 2.6 s, a megabyte of them hours.
const ONE = new GoRegexp(`^\\s*(${OPS})\\s*(${CV})\\s*$`);
const FIND = new GoRegexp(`(${OPS})\\s*(${CV})`);
const RANGE = new GoRegexp(`\\s*(${CV})\\s+-\\s+(${CV})\\s*`);

/** The text of each group of `re`'s first match in `s` (undefined for a group that did not take part), or undefined. */
function groupsOf(re: GoRegexp, s: string): (string | undefined)[] | undefined {
  const idx = re.find(s);
  if (!idx) return undefined;
  return re.subexpNames.map((_, g) => ((idx[2 * g] ?? -1) < 0 ? undefined : s.slice(idx[2 * g], idx[2 * g + 1])));
}
const isX = (s: string): boolean => s === 'x' || s === 'X' || s === '*';

function parseConstraint(text: string): Constraint {
  const m = groupsOf(ONE, text);
  if (!m) throw new ValueError(`improper constraint: ${text}`);
  const [, op = '', , major = '', minorPart = '', patchPart = '', pre = ''] = m;
  const minor = minorPart.replace(/^\./, '');
  const patch = patchPart.replace(/^\./, '');
  let ver = `${major}${minorPart}${patchPart}${pre}`;
  let dirty = false;
  let minorDirty = false;
  let patchDirty = false;
  if (isX(major) || major === '') { ver = `0.0.0${pre}`; dirty = true; }
  else if (isX(minor) || minor === '') { ver = `${major}.0.0${pre}`; dirty = true; minorDirty = true; }
  else if (isX(patch) || patch === '') { ver = `${major}${minorPart}.0${pre}`; dirty = true; patchDirty = true; }
  return { op, con: parseVersion(ver), dirty, minorDirty, patchDirty };
}

/** One constraint's check (Masterminds' constraintOps), `includePre` when its alternative names a prerelease. */
function check(v: Version, c: Constraint, includePre: boolean): boolean {
  if (v.pre !== '' && !includePre) return false;
  const { con } = c;
  const tilde = (): boolean => {
    if (compare(v, con) < 0) return false;
    if (con.major === 0 && con.minor === 0 && con.patch === 0 && !c.minorDirty && !c.patchDirty) return true;
    if (v.major !== con.major) return false;
    return v.minor === con.minor || c.minorDirty;
  };
  switch (c.op) {
    case '': case '=': return c.dirty ? tilde() : compare(v, con) === 0;
    case '!=':
      if (!c.dirty) return compare(v, con) !== 0;
      if (con.major !== v.major) return true;
      if (con.minor !== v.minor && !c.minorDirty) return true;
      if (c.minorDirty) return false;
      if (con.patch !== v.patch && !c.patchDirty) return true;
      return (v.pre !== '' || con.pre !== '') && comparePre(v.pre, con.pre) !== 0;
    case '>':
      if (!c.dirty) return compare(v, con) > 0;
      if (v.major !== con.major) return v.major > con.major;
      if (c.minorDirty) return false;
      if (c.patchDirty) return v.minor > con.minor;
      return compare(v, con) > 0;
    case '<': return compare(v, con) < 0;
    case '>=': case '=>': return compare(v, con) >= 0;
    case '<=': case '=<':
      if (!c.dirty) return compare(v, con) <= 0;
      if (v.major > con.major) return false;
      return !(v.major === con.major && v.minor > con.minor && !c.minorDirty);
    case '~': case '~>': return tilde();
    case '^':
      if (compare(v, con) < 0) return false;
      if (con.major > 0 || c.minorDirty) return v.major === con.major;
      if (v.major > 0) return false;
      if (con.minor > 0 || c.patchDirty) return v.minor === con.minor;
      if (v.minor > 0) return false;
      return con.patch === v.patch;
    default: throw new ValueError(`improper constraint: ${c.op}`);
  }
}

/** semvercmp: whether `version` satisfies `constraint`. */
export function semverCompare(version: string, constraint: string): boolean {
  const v = parseVersion(version);
  // Masterminds' rewriteRange: `1.2 - 1.4` is `>= 1.2, <= 1.4` (group 11 is the second version).
  const rewritten = RANGE.replaceAll(constraint, '>= ${1}, <= ${11} ') ?? constraint;
  return rewritten.split('||').some((alt) => {
    const parts = FIND.findAll(alt).map(([start = 0, end = 0]) => alt.slice(start, end));
    const cs = (parts.length ? parts : [alt]).map((p) => (p.trim() === '' ? { op: '>=', con: parseVersion('0.0.0'), dirty: false, minorDirty: false, patchDirty: false } : parseConstraint(p)));
    const includePre = cs.some((c) => c.con.pre !== '');
    return cs.every((c) => check(v, c, includePre));
  });
}
