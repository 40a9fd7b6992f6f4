import { csvFields, CsvError } from '../../common/index.js';
import type { RunMount, SourceRef } from '../graph.js';
import { cleanPath } from '../clean-path.js';
import { nearest } from '../parser/suggest.js';

// RUN --mount values (BuildKit instructions/commands_runmount.go): CSV of key=value fields, defaults applied here so
// the worker never has to guess.

/** A --mount value with its fields split but `from` not yet resolved to a stage, an image or the context. */
export interface MountSpec {
  type: RunMount['type'];
  fields: Map<string, string>;
  from?: string;
}

/** A malformed --mount; the caller turns it into a DockerfileError at the flag, with `hint` when there is one. */
export class MountError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

/**
 * A MountError for a value that is not one of `options`, suggesting the nearest as BuildKit's parseMount does
 * (suggest.WrapError, case-sensitive): `unexpected key 'typ'` → `did you mean type?`.
 */
function unknownValue(message: string, value: string, options: Iterable<string>): MountError {
  const guess = nearest(value, [...options], { caseSensitive: true });
  return new MountError(message, guess === undefined ? undefined : `did you mean ${guess}?`);
}

const KEYS = new Set(['type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid', 'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'env']);
const TYPES = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING = ['shared', 'private', 'locked'];
const BOOL_KEYS = new Set(['readonly', 'ro', 'readwrite', 'rw', 'required']);

/**
 * Splits a --mount value as BuildKit's parseMount does (csvvalue.Fields, common/csv-fields.ts: an empty field is an
 * error, spaces are kept); `expand` is applied to every value except `from` (stage names are never expanded).
 */
export function parseMountSpec(value: string, expand: (v: string) => string): MountSpec {
  const fields = new Map<string, string>();
  for (const field of mountFields(value)) {
    const eq = field.indexOf('=');
    const key = (eq >= 0 ? field.slice(0, eq) : field).toLowerCase();
    if (eq < 0 && !BOOL_KEYS.has(key)) throw new MountError(`invalid field '${field}' must be a key=value pair`);
    if (!KEYS.has(key)) throw unknownValue(`unexpected key '${key}' in '${field}'`, key, KEYS);
    const raw = eq >= 0 ? field.slice(eq + 1) : 'true';
    fields.set(canonicalKey(key), key === 'from' ? raw : expand(raw));
  }
  const type = fields.get('type') ?? 'bind';
  if (!TYPES.includes(type)) throw unknownValue(`unsupported mount type "${type}"`, type, TYPES);
  const from = fields.get('from');
  return from !== undefined ? { type: type as RunMount['type'], fields, from } : { type: type as RunMount['type'], fields };
}

/** Applies BuildKit's defaults and checks required fields; `from` is the resolved source (context when absent). */
export function toRunMount(spec: MountSpec, from: SourceRef | undefined, index: number): RunMount {
  const f = spec.fields;
  const target = f.get('target');
  const bool = (k: string): boolean | undefined => (f.has(k) ? parseBool(f.get(k) ?? '') : undefined);
  const num = (k: string, dflt: number, base = 10): number => {
    const v = f.get(k);
    if (v === undefined) return dflt;
    if (!(base === 8 ? /^[0-7]+$/ : /^\d+$/).test(v)) throw new MountError(`invalid ${k} value "${v}"`);
    return Number.parseInt(v, base);
  };
  switch (spec.type) {
    case 'bind':
      if (!target) throw new MountError('mount type bind requires a target');
      return { type: 'bind', target, from: from ?? { kind: 'context' }, source: f.get('source') ?? '/', readwrite: bool('readwrite') ?? bool('readonly') === false };
    case 'cache': {
      if (!target) throw new MountError('mount type cache requires a target');
      // Without an id the cache is the target's, cleaned as BuildKit's dispatchRunMounts cleans it (path.Clean):
      // `target=/root/.npm/` and `target=/root/.npm` share one cache.
      const sharing = f.get('sharing') ?? 'shared';
      if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked') throw unknownValue(`unsupported sharing value "${sharing}"`, sharing, SHARING);
      const m: RunMount = { type: 'cache', target, id: f.get('id') ?? cleanPath(target), sharing, source: f.get('source') ?? '/', readonly: bool('readonly') ?? bool('readwrite') === false, uid: num('uid', 0), gid: num('gid', 0), mode: num('mode', 0o755, 8) };
      if (from) m.from = from;
      return m;
    }
    case 'tmpfs': {
      if (!target) throw new MountError('mount type tmpfs requires a target');
      const size = f.get('size');
      return size === undefined ? { type: 'tmpfs', target } : { type: 'tmpfs', target, size: parseSize(size) };
    }
    case 'secret': {
      const env = f.get('env');
      // BuildKit's dispatchSecret: `source` (src=) names the secret over `id`; without either, the target's base name.
      const id = f.get('source') ?? f.get('id') ?? (target ? target.split('/').filter(Boolean).pop() : undefined);
      if (!id) throw new MountError('secret mount requires an id or a target');
      const m: RunMount = { type: 'secret', id, required: bool('required') ?? false, uid: num('uid', 0), gid: num('gid', 0), mode: num('mode', 0o400, 8) };
      if (target || !env) m.target = target ?? `/run/secrets/${id}`;
      if (env) m.env = env;
      return m;
    }
    case 'ssh':
      return { type: 'ssh', id: f.get('id') ?? 'default', target: target ?? `/run/buildkit/ssh_agent.${index}`, required: bool('required') ?? false, uid: num('uid', 0), gid: num('gid', 0), mode: num('mode', 0o600, 8) };
  }
}

function canonicalKey(key: string): string {
  switch (key) {
    case 'src': return 'source';
    case 'dst':
    case 'destination': return 'target';
    case 'ro': return 'readonly';
    case 'rw': return 'readwrite';
    default: return key;
  }
}

function parseBool(v: string): boolean {
  const l = v.toLowerCase();
  if (l === 'true' || l === '1' || l === '') return true;
  if (l === 'false' || l === '0') return false;
  throw new MountError(`invalid boolean value "${v}"`);
}

function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(v.trim());
  if (!m) throw new MountError(`invalid size "${v}"`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
  return Math.round(Number(m[1]) * (mult[(m[2] ?? '').toLowerCase()] ?? 1));
}

function mountFields(value: string): string[] {
  try {
    return csvFields(value);
  } catch (err) {
    throw err instanceof CsvError ? new MountError(`failed to parse csv mounts: ${err.message}`) : err;
  }
}
