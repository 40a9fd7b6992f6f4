import { isSecretName, mayHoldSecretName } from '../frontend/index.js';
import { canonicalJson, sha256 } from '../registry/oci/index.js';
import type { CacheKeyParts } from './cache-key.js';

/** What stands in for a secret-looking value: its sha256, marked so a reader knows it is not the value. */
export function redactedValue(value: string): string {
  return `redacted:${sha256(value)}`;
}

/** True when `value` is what redactedValue() made (never print it as if it were the value). */
export function isRedacted(value: string | undefined): boolean {
  return value?.startsWith('redacted:sha256:') === true;
}

/**
 * `parts` with every secret-looking build arg value (isSecretName), and every `NAME=value` the op or its text carries
 * for a secret-looking NAME (a RUN's env, its `RUN |1 TOKEN=…` text, an ENV change), replaced by redactedValue().
 * Keys are computed over redacted parts (recipe v2), so the parts stored in cache.db, exported with --cache-to and
 * put in reports are the very parts that were hashed: equal values still give equal keys, a changed value still
 * misses, and the value itself is never stored. Idempotent.
 */
export function redactParts(parts: CacheKeyParts): CacheKeyParts {
  // Nothing can be secret-looking where no secret word appears: the parts as they are (the op is canonical JSON
  // already, keyOp; parsed and written again it would come out the same bytes). Most steps of most builds.
  if (!mayHoldSecretName(parts.op) && !mayHoldSecretName(parts.opText) && !Object.keys(parts.args).some(mayHoldSecretName)) return { ...parts };
  const args: Record<string, string> = {};
  for (const [name, value] of Object.entries(parts.args)) args[name] = isSecretName(name) ? redactOnce(value) : value;
  return { ...parts, args, op: canonicalJson(redactDeep(JSON.parse(parts.op) as unknown)), opText: redactAssignments(parts.opText) };
}

function redactOnce(value: string): string {
  return isRedacted(value) ? value : redactedValue(value);
}

function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') return redactAssignment(value);
  if (Array.isArray(value)) return value.map(redactDeep);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretName(k) && typeof v === 'string' ? redactOnce(v) : redactDeep(v);
  return out;
}

/** `NAME=value` as one string (an env entry). */
function redactAssignment(text: string): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(text);
  return m && isSecretName(m[1] ?? '') ? `${m[1]}=${redactOnce(m[2] ?? '')}` : text;
}

/** Every `NAME=value` word of an instruction text (`RUN |2 TOKEN=abc X=1 make`). */
function redactAssignments(text: string): string {
  return text.replace(/(^|\s)([A-Za-z_][A-Za-z0-9_]*)=(\S*)/g, (all, lead: string, name: string, value: string) =>
    isSecretName(name) ? `${lead}${name}=${redactOnce(value)}` : all);
}
