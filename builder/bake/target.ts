import { isObject, setKey, toBool, toList, toMap, toNum, toStr, ValueError, type Value } from './value.js';
import { csvFields, CsvError, parseGoBool } from '../../common/index.js';
import { parseExportEntry } from '../options/export-entry.js';
import { RESOURCE_KEYS } from '../options/build-flags.js';
import type { AttributeType } from './hcl-diagnostics.js';

// A bake target as buildx defines it (docker/buildx bake/bake.go `Target`): its attributes under their bake-file
// names, the structured ones (output, cache-from/to, secret, ssh, attest) parsed from their CSV or object forms as
// buildx's util/buildflags does, and merged the way buildx merges inherited and repeated targets.

/** `output` / `cache-from` / `cache-to` entries: `type` plus attributes (output's `dest` among them), as buildx prints them. */
export type Entry = Record<string, string>;
/** An `attest` entry: `type`, `disabled` when true, attributes. */
export type AttestEntry = Record<string, string | boolean>;
export interface SecretEntry { id?: string; src?: string; env?: string }
export interface SshEntry { id?: string; paths?: string[] }

/** A target's attributes, keyed by their bake-file (and --print) names. */
export interface Target {
  description?: string;
  inherits?: string[];
  annotations?: string[];
  attest?: AttestEntry[];
  context?: string;
  contexts?: Record<string, string>;
  dockerfile?: string;
  'dockerfile-inline'?: string;
  args?: Record<string, string>;
  labels?: Record<string, string>;
  tags?: string[];
  'cache-from'?: Entry[];
  'cache-to'?: Entry[];
  target?: string;
  secret?: SecretEntry[];
  ssh?: SshEntry[];
  platforms?: string[];
  output?: Entry[];
  pull?: boolean;
  'no-cache'?: boolean;
  network?: string;
  'no-cache-filter'?: string[];
  'shm-size'?: string;
  ulimits?: string[];
  call?: string;
  entitlements?: string[];
  'extra-hosts'?: Record<string, string>;
  resources?: Resources;
}

/**
 * `resources`: per-RUN cgroup limits, buildx's buildflags.ResourcesConfig (an object in a bake file, `--set
 * T.resources.KEY=V`), which its bake hands to the build as `--resource KEY=VALUE` entries (ToEntries).
 */
export interface Resources {
  memory?: string; 'memory-swap'?: string; 'cpu-shares'?: number; 'cpu-period'?: number; 'cpu-quota'?: number; 'cpuset-cpus'?: string; 'cpuset-mems'?: string;
}

/** ResourcesConfig's int64 fields: a number, or a string that spells one, and whole (gocty's int64). */
const RESOURCE_INTS = new Set(['cpu-shares', 'cpu-period', 'cpu-quota']);

/** The attributes in buildx's struct order: the key order of `--print`. */
export const TARGET_KEYS = ['description', 'inherits', 'annotations', 'attest', 'context', 'contexts', 'dockerfile', 'dockerfile-inline', 'args', 'labels',
  'tags', 'cache-from', 'cache-to', 'target', 'secret', 'ssh', 'platforms', 'output', 'pull', 'no-cache', 'network', 'no-cache-filter', 'shm-size',
  'ulimits', 'resources', 'call', 'entitlements', 'extra-hosts'] as const satisfies readonly (keyof Target)[];

/** buildx attributes tsbuild refuses with a reason rather than ignore (they would change what the build may do). */
export const REFUSED_KEYS: Record<string, string> = {
  policy: 'build policies are not implemented',
};

const STRING_KEYS = new Set(['description', 'context', 'dockerfile', 'dockerfile-inline', 'target', 'network', 'shm-size', 'call']);
const LIST_KEYS = new Set(['inherits', 'annotations', 'tags', 'platforms', 'no-cache-filter', 'ulimits', 'entitlements']);
const MAP_KEYS = new Set(['contexts', 'args', 'labels', 'extra-hosts']);

/** The type a plain attribute decodes to in buildx's Target (string, *bool, []string, map[string]*string). */
export function attributeType(key: string): AttributeType | undefined {
  if (STRING_KEYS.has(key)) return 'string';
  if (LIST_KEYS.has(key)) return 'list of string';
  if (MAP_KEYS.has(key)) return 'map of string';
  return key === 'pull' || key === 'no-cache' ? 'bool' : undefined;
}

/** Whether `key` is an attribute of buildx's Target (tsbuild refuses some of them by name: REFUSED_KEYS). */
export function isTargetAttribute(key: string): boolean {
  return (TARGET_KEYS as readonly string[]).includes(key) || Object.hasOwn(REFUSED_KEYS, key);
}

/** A CSV value's fields (common/csv-fields.ts), a malformed one being the bake file's error at the value. */
function fields(text: string): string[] {
  try {
    return csvFields(text);
  } catch (err) {
    throw bakeError(text, err);
  }
}

function bakeError(text: string, err: unknown): unknown {
  return err instanceof CsvError ? new ValueError(`${JSON.stringify(text)}: ${err.message}`, 'quote a whole field that holds a comma or a quote ("name=a,b"), with a quote inside it doubled') : err;
}

/** An `output` value, as `-o` reads it (options/export-entry.ts): `type=…,k=v`, a bare path (type=local), `-` (a tar on stdout). */
export function parseExport(text: string): Entry {
  let e: Entry;
  try {
    e = parseExportEntry(text);
  } catch (err) {
    throw bakeError(text, err);
  }
  if (!e.type) throw new ValueError(`output ${JSON.stringify(text)} has no type=`);
  return e;
}

/** `cache-from`/`cache-to` values: `type=…,k=v`, or one or more bare references (each a registry cache). */
export function parseCache(text: string): Entry[] {
  if (text === '') return [];
  if (!text.includes('=')) return fields(text).map((ref) => ({ type: 'registry', ref }));
  const e: Entry = {};
  for (const f of fields(text)) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new ValueError(`invalid cache field ${JSON.stringify(f)}: expected key=value`);
    setKey(e, f.slice(0, eq).toLowerCase(), f.slice(eq + 1));
  }
  if (!e.type) throw new ValueError(`type required for ${JSON.stringify(text)}`);
  return [e];
}

export function parseSecret(text: string): SecretEntry {
  const s: SecretEntry = {};
  let type: string | undefined;
  for (const f of fields(text)) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new ValueError(`invalid secret field ${JSON.stringify(f)}: expected key=value`);
    const key = f.slice(0, eq).toLowerCase();
    const value = f.slice(eq + 1);
    if (key === 'type') { if (value !== 'file' && value !== 'env') throw new ValueError(`unsupported secret type ${JSON.stringify(value)}`); type = value; }
    else if (key === 'id') s.id = value;
    else if (key === 'src' || key === 'source') s.src = value;
    else if (key === 'env') s.env = value;
    else throw new ValueError(`unexpected key ${JSON.stringify(key)} in secret ${JSON.stringify(text)}`);
  }
  if (type === 'env' && !s.env && s.src !== undefined) { s.env = s.src; delete s.src; }
  return s;
}

export function parseSsh(text: string): SshEntry {
  const eq = text.indexOf('=');
  return eq < 0 ? { id: text } : { id: text.slice(0, eq), paths: text.slice(eq + 1).split(',') };
}

export function parseAttest(text: string): AttestEntry {
  const a: AttestEntry = {};
  for (const f of fields(text)) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new ValueError(`invalid attest field ${JSON.stringify(f)}: expected key=value`);
    const key = f.slice(0, eq).trim().toLowerCase();
    const value = f.slice(eq + 1);
    if (key === 'disabled') { if (goBool(value)) a.disabled = true; }
    else setKey(a, key === 'type' ? 'type' : f.slice(0, eq), value);
  }
  if (!a.type) throw new ValueError('attestation type not specified');
  return a;
}

/** Go's strconv.ParseBool, which buildx reads boolean overrides with. */
export function goBool(text: string): boolean {
  const b = parseGoBool(text);
  if (b === undefined) throw new ValueError(`invalid boolean ${JSON.stringify(text)}`);
  return b;
}

function stringMap(v: Value, what: string): Entry {
  const out: Entry = {};
  for (const [k, x] of Object.entries(toMap(v, what))) if (x !== null) setKey(out, k, toStr(x, `${what}.${k}`));
  return out;
}

/** One list attribute whose items are CSV strings or objects (buildx accepts both since v0.18). */
// An empty string is no entry, as null is not: `output = [PUSH ? "type=registry" : "", …]` (buildx's eachElement skips
// it, isEmptyOrUnknown; TestVariableEmpty).
function structured<T>(v: Value, what: string, fromText: (s: string) => T | T[], fromObject: (o: Entry) => T): T[] {
  return toList(v, what).flatMap((item) => {
    if (item === null || item === '') return [];
    if (isObject(item)) return [fromObject(stringMap(item, what))];
    const r = fromText(toStr(item, `an element of ${what}`));
    return Array.isArray(r) ? r : [r];
  });
}

/** Sets attribute `key` of `t` from an evaluated bake-file value; null leaves it unset, as in HCL. */
export function setAttribute(t: Target, key: string, v: Value): void {
  if (v === null) return;
  const rec = t as Record<string, unknown>;
  if (STRING_KEYS.has(key)) rec[key] = toStr(v, key);
  else if (LIST_KEYS.has(key)) rec[key] = toList(v, key).filter((x) => x !== null).map((x) => toStr(x, `an element of ${key}`));
  else if (MAP_KEYS.has(key)) rec[key] = stringMap(v, key);
  else if (key === 'pull' || key === 'no-cache') rec[key] = toBool(v, key);
  else if (key === 'output') t.output = structured<Entry>(v, key, parseExport, (o) => { if (!o.type) throw new ValueError('type is required for output'); return o; });
  else if (key === 'cache-from' || key === 'cache-to') t[key] = structured<Entry>(v, key, parseCache, (o) => { if (!o.type) throw new ValueError(`type required for ${JSON.stringify(o)}`); return o; });
  // The object forms convert to buildx's object types (secrets_cty.go, ssh_cty.go), whose conversion drops the
  // attributes the type lacks: a secret's `source` is only a CSV spelling of `src`.
  else if (key === 'secret') t.secret = structured<SecretEntry>(v, key, parseSecret, (o) => ({ ...(o.id !== undefined ? { id: o.id } : {}), ...(o.src ? { src: o.src } : {}), ...(o.env !== undefined ? { env: o.env } : {}) }));
  else if (key === 'ssh') {
    t.ssh = toList(v, key).flatMap((item): SshEntry[] => {
      if (item === null || item === '') return [];
      if (!isObject(item)) return [parseSsh(toStr(item, 'an element of ssh'))];
      const id = item.id ?? null;
      const paths = item.paths ?? null;
      return [{ ...(id !== null ? { id: toStr(id, 'ssh id') } : {}), ...(paths !== null ? { paths: toList(paths, 'ssh paths').map((p) => toStr(p, 'an element of ssh paths')) } : {}) }];
    });
  }
  else if (key === 'attest') {
    t.attest = toList(v, key).flatMap((item): AttestEntry[] => {
      if (item === null || item === '') return [];
      if (!isObject(item)) return [parseAttest(toStr(item, 'an element of attest'))];
      const a: AttestEntry = {};
      for (const [k, x] of Object.entries(item)) if (x !== null) setKey(a, k, k === 'disabled' ? toBool(x, 'attest disabled') : toStr(x, `attest ${k}`));
      if (a.disabled === false) delete a.disabled;
      if (!a.type) throw new ValueError('attestation type not specified');
      return [a];
    });
  } else if (key === 'resources') {
    const r: Resources = {};
    for (const [k, x] of Object.entries(toMap(v, key))) if (x !== null) setResource(r, k, x);
    t.resources = r;
  } else if (Object.hasOwn(REFUSED_KEYS, key)) throw new ValueError(`attribute ${JSON.stringify(key)} is not supported by tsbuild bake: ${REFUSED_KEYS[key]}`);
  else throw new ValueError(`unsupported attribute ${JSON.stringify(key)} in a target`);
}

/**
 * One field of `resources` from a bake-file value or a `--set` string, converted as buildx's FromCtyValue converts
 * it (cty: a number where a string is wanted is spelled, a string that spells a number is one) or as its SetField
 * parses an override. A key ResourcesConfig lacks is refused: a misspelt limit must not be a build without it.
 */
export function setResource(r: Resources, key: string, v: Value): void {
  if (!(RESOURCE_KEYS as readonly string[]).includes(key)) throw new ValueError(`unknown resources key ${JSON.stringify(key)}`, `use one of ${RESOURCE_KEYS.join(', ')}`);
  const rec = r as Record<string, string | number>;
  if (!RESOURCE_INTS.has(key)) { rec[key] = toStr(v, `resources.${key}`); return; }
  const n = typeof v === 'string' && !/^-?\d+$/.test(v) ? Number.NaN : toNum(v, `resources.${key}`);
  if (!Number.isSafeInteger(n)) throw new ValueError(`invalid value ${typeof v === 'string' ? v : JSON.stringify(v)} for int64 key resources.${key}`);
  rec[key] = n;
}

/** ResourcesConfig.ToEntries: the `--resource` entries of a target's limits, in buildx's order. */
export function resourceEntries(r: Resources | undefined): string[] {
  if (!r) return [];
  return RESOURCE_KEYS.flatMap((k) => (r[k] === undefined ? [] : [`${k}=${String(r[k])}`]));
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** Entries without repeats (first kept); secrets and attests by id/type, the later one winning in the first's place. */
function dedupe<T>(items: T[] | undefined, keyOf: (t: T) => string = (t) => JSON.stringify(sortKeys(t))): T[] | undefined {
  if (!items) return items;
  const out: T[] = [];
  const at = new Map<string, number>();
  for (const item of items) {
    const k = keyOf(item);
    const i = at.get(k);
    if (i === undefined) { at.set(k, out.length); out.push(item); }
    else if (!sameJson(out[i], item)) out[i] = item;
  }
  return out;
}

const dedupeStrings = (s: string[] | undefined): string[] | undefined => (s ? [...new Set(s.filter((x) => x !== ''))] : s);

/**
 * buildx's removeDupes (util/buildflags/utils.go), which outputs and cache entries are normalized with: from the
 * second-to-last entry back, an entry equal to a later one has that later one swapped with the last and the last
 * dropped. The order is not "first kept": [a, a, b, c] gives [a, c, b]. `s` is permuted in place as Go permutes the
 * slice's array; the kept entries are the first `length` of it.
 */
function removeDupes<T>(s: T[]): { permuted: T[]; length: number } {
  // Each step leaves s[i+1 .. n-1] without two equal entries, so the entry equal to s[i] there, if any, is the one
  // `at` holds: linear, where Go's search of the rest for each entry is quadratic (50000 cache-from entries, easily
  // made by a for expression, never finished).
  const keys = s.map((x) => JSON.stringify(sortKeys(x)));
  const at = new Map<string, number>();
  let n = s.length;
  if (n > 0) at.set(keys[n - 1] as string, n - 1);
  for (let i = n - 2; i >= 0; i--) {
    const key = keys[i] as string;
    const j = at.get(key);
    if (j !== undefined) {
      const last = n - 1;
      [s[j], s[last]] = [s[last] as T, s[j] as T];
      [keys[j], keys[last]] = [keys[last] as string, keys[j] as string];
      at.delete(key);
      if (j !== last) at.set(keys[j] as string, j);
      n--;
    }
    at.set(key, i);
  }
  return { permuted: s, length: n };
}

const normalizeEntries = (s: Entry[] | undefined): Entry[] | undefined => {
  if (!s) return s;
  const { permuted, length } = removeDupes([...s]);
  return permuted.slice(0, length);
};

/**
 * CacheOptions.Merge: the two lists appended and normalized; but with nothing to merge into it returns `b` after a
 * Normalize whose result it drops, so `b` keeps its length in the order that Normalize permuted it to (the target's
 * own normalize then removes the repeats).
 */
function mergeCache(a: Entry[] | undefined, b: Entry[]): Entry[] {
  if (a === undefined) return removeDupes([...b]).permuted;
  return normalizeEntries([...a, ...b]) ?? [];
}

/** How many values `t` holds (strings, list elements, map entries): what copying it in mergeTarget costs. */
export function targetSize(t: Target): number {
  let n = 0;
  for (const v of Object.values(t) as unknown[]) n += Array.isArray(v) ? v.length : v !== null && typeof v === 'object' ? Object.keys(v).length : 1;
  return n;
}

/** buildx's Target.Merge: `b` over `a`. Lists that merge append; the rest replace; maps merge key by key. */
export function mergeTarget(a: Target, b: Target): Target {
  const t: Target = { ...a };
  for (const key of ['context', 'dockerfile', 'dockerfile-inline', 'target', 'call', 'network', 'shm-size', 'pull', 'no-cache', 'tags', 'platforms', 'cache-to', 'output'] as const) {
    if (b[key] !== undefined) (t as Record<string, unknown>)[key] = b[key];
  }
  if (b.description) t.description = b.description;
  for (const key of ['args', 'contexts', 'labels', 'extra-hosts'] as const) if (b[key]) t[key] = { ...(a[key] ?? {}), ...b[key] };
  for (const key of ['annotations', 'no-cache-filter', 'ulimits', 'entitlements'] as const) if (b[key]) t[key] = [...(a[key] ?? []), ...b[key]];
  if (b['cache-from']) t['cache-from'] = mergeCache(a['cache-from'], b['cache-from']);
  if (b.secret) t.secret = dedupe([...(a.secret ?? []), ...b.secret], (s) => s.id ?? '');
  if (b.ssh) t.ssh = dedupe([...(a.ssh ?? []), ...b.ssh], (x) => x.id ?? '');
  if (b.attest) t.attest = dedupe([...(a.attest ?? []), ...b.attest], (x) => String(x.type));
  if (b.inherits) t.inherits = [...(a.inherits ?? []), ...b.inherits];
  // ResourcesConfig.Merge: field by field, into a copy (a child's limit never reaches its base or a sibling).
  if (b.resources) t.resources = { ...(a.resources ?? {}), ...b.resources };
  return t;
}

/** buildx's Target.normalize: repeats removed, network=host entitles network.host, empty contexts dropped. */
export function normalizeTarget(t: Target): Target {
  const n: Target = { ...t };
  for (const key of ['annotations', 'tags', 'platforms', 'no-cache-filter', 'ulimits'] as const) { const v = dedupeStrings(n[key]); if (v) n[key] = v; }
  if (n.attest) n.attest = dedupe(n.attest, (x) => String(x.type));
  if (n.secret) n.secret = dedupe(n.secret, (s) => s.id ?? '');
  // SSH keys by id, the later in the first's place (removeSSHDupes); outputs and cache entries by removeDupes.
  if (n.ssh) n.ssh = dedupe(n.ssh, (x) => x.id ?? '');
  for (const key of ['cache-from', 'cache-to', 'output'] as const) { const v = normalizeEntries(n[key]); if (v) n[key] = v; }
  if (n.network === 'host') n.entitlements = [...(n.entitlements ?? []), 'network.host'];
  if (n.entitlements) n.entitlements = dedupeStrings(n.entitlements) ?? [];
  if (n.contexts) {
    const c = Object.fromEntries(Object.entries(n.contexts).filter(([, v]) => v !== ''));
    if (Object.keys(c).length) n.contexts = c; else delete n.contexts;
  }
  return n;
}
