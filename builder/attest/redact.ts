import { REDACTED, isSecretName } from '../../frontend/index.js';

/**
 * Redacts what a provenance could leak: every string is scrubbed of the values of secret-looking build args
 * (frontend's `isSecretName`, the one rule of the tool), and a cache-miss reason about such an arg loses its
 * before/after values (an old value is not among today's args, so scrubbing by value alone would miss it).
 */
export function redactDeep<T>(value: T, buildArgs: Record<string, string>): T {
  const secrets = Object.entries(buildArgs).filter(([k, v]) => isSecretName(k) && v !== '').map(([, v]) => v)
    .sort((a, b) => b.length - a.length);
  const scrub = (s: string): string => secrets.reduce((out, secret) => out.split(secret).join(REDACTED), s);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrub(v);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v;
    const obj = v as Record<string, unknown>;
    const secretArg = obj.kind === 'arg' && typeof obj.name === 'string' && isSecretName(obj.name);
    const out: Record<string, unknown> = {};
    for (const [k, inner] of Object.entries(obj)) out[k] = secretArg && (k === 'before' || k === 'after') && inner !== undefined ? REDACTED : walk(inner);
    return out;
  };
  return walk(value) as T;
}

/** Build args as BuildKit passes them to its frontend (`build-arg:NAME`), secret-looking values redacted. */
export function redactedArgs(buildArgs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(buildArgs).map(([k, v]) => [k, isSecretName(k) ? REDACTED : v]));
}
