import { UserError } from '../../registry/oci/index.js';

/** One `-o/--output` as buildx understands it. */
export type OutputSpec =
  | { type: 'image'; names: string[]; push: boolean; pushByDigest?: boolean; nameCanonical?: boolean }
  | { type: 'oci'; dest: string; tar: boolean; names: string[] }
  | { type: 'docker'; dest: string; names: string[] }
  | { type: 'local'; dest: string }
  | { type: 'tar'; dest: string };

/** Splits buildx's CSV `key=value,key=value` syntax; values may be double-quoted to hold commas. */
export function parseCsvAttrs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
    // A whole field may be quoted (`"name=a,b"`, as Go's encoding/csv reads buildx flags), or just its value.
    const field = raw.trim().replace(/^"(.*)"$/, '$1');
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : field.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (key) out[key] = value;
  }
  return out;
}

function bool(value: string | undefined, fallback: boolean, flag: string): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw new UserError('INVALID_ARGUMENT', `invalid boolean for ${flag}: ${JSON.stringify(value)}`, 'use true or false');
}

/** `push-by-digest=true` (no tag: distributed builds merge by digest) and `name-canonical=true` (report repo@digest). */
function byDigest(attrs: Record<string, string>): { pushByDigest?: boolean; nameCanonical?: boolean } {
  const pushByDigest = bool(attrs['push-by-digest'], false, 'push-by-digest');
  const nameCanonical = bool(attrs['name-canonical'], false, 'name-canonical');
  return { ...(pushByDigest ? { pushByDigest } : {}), ...(nameCanonical ? { nameCanonical } : {}) };
}

/**
 * Parses one `-o` value. Like buildx: `-o DIR` alone means `type=local,dest=DIR`, `-o -` a tar on stdout;
 * `type=registry` is `type=image,push=true`. `tags` are the `-t` names, used when the output names none.
 */
export function parseOutput(text: string, tags: string[]): OutputSpec {
  if (!text.includes('=')) return text === '-' ? { type: 'tar', dest: '-' } : { type: 'local', dest: text };
  const attrs = parseCsvAttrs(text);
  const names = attrs.name ? attrs.name.split(/[,\s]+/).filter(Boolean) : tags;
  const need = (kind: string): string => {
    const dest = attrs.dest;
    if (!dest) throw new UserError('INVALID_ARGUMENT', `output type=${kind} needs dest=`, `e.g. -o type=${kind},dest=out.tar`);
    return dest;
  };
  switch (attrs.type) {
    case 'image': return { type: 'image', names, push: bool(attrs.push, false, 'push'), ...byDigest(attrs) };
    case 'registry': return { type: 'image', names, push: true, ...byDigest(attrs) };
    case 'oci': return { type: 'oci', dest: need('oci'), tar: bool(attrs.tar, true, 'tar'), names };
    case 'docker': return { type: 'docker', dest: need('docker'), names };
    case 'local': return { type: 'local', dest: need('local') };
    case 'tar': return { type: 'tar', dest: need('tar') };
    default:
      throw new UserError('INVALID_ARGUMENT', `unknown output type ${JSON.stringify(attrs.type ?? '')} in -o ${text}`,
        'use one of type=image, registry, oci, docker, local, tar');
  }
}
