import type { CacheExportMode } from '../../solver/index.js';
import { UserError } from '../../registry/oci/index.js';
import { parseCsvAttrs } from '../options/output.js';

/** One `--cache-to`, as buildx writes it. */
export type CacheToSpec =
  | { type: 'registry'; ref: string; mode: CacheExportMode }
  | { type: 'local'; dest: string; mode: CacheExportMode }
  | { type: 'inline' };

/** One `--cache-from`: a registry reference (a cache manifest, or an image with an inline cache) or a directory. */
export type CacheFromSpec = { type: 'registry'; ref: string } | { type: 'local'; src: string };

function mode(value: string | undefined): CacheExportMode {
  if (value === undefined || value === '' || value === 'min') return 'min';
  if (value === 'max') return 'max';
  throw new UserError('INVALID_ARGUMENT', `invalid cache mode ${JSON.stringify(value)}`, 'use mode=min (the final image’s steps) or mode=max (every step)');
}

function need(attrs: Record<string, string>, key: string, flag: string, example: string): string {
  const value = attrs[key];
  if (!value) throw new UserError('INVALID_ARGUMENT', `${flag} type=${attrs.type ?? ''} needs ${key}=`, `e.g. ${flag} ${example}`);
  return value;
}

/** Parses `--cache-to type=registry,ref=REF[,mode=min|max]`, `type=local,dest=DIR[,mode=…]` or `type=inline`. */
export function parseCacheTo(text: string): CacheToSpec {
  const attrs = parseCsvAttrs(text);
  switch (attrs.type) {
    case 'registry': return { type: 'registry', ref: need(attrs, 'ref', '--cache-to', 'type=registry,ref=registry.example/app:cache,mode=max'), mode: mode(attrs.mode) };
    case 'local': return { type: 'local', dest: need(attrs, 'dest', '--cache-to', 'type=local,dest=/tmp/cache,mode=max'), mode: mode(attrs.mode) };
    case 'inline': return { type: 'inline' };
    default:
      throw new UserError('INVALID_ARGUMENT', `unknown cache type ${JSON.stringify(attrs.type ?? '')} in --cache-to ${text}`, 'use type=registry, type=local or type=inline');
  }
}

/** Parses `--cache-from type=registry,ref=REF`, `type=local,src=DIR`, or a bare REF (buildx's shorthand). */
export function parseCacheFrom(text: string): CacheFromSpec {
  if (!text.includes('=')) return { type: 'registry', ref: text };
  const attrs = parseCsvAttrs(text);
  switch (attrs.type) {
    case 'registry': return { type: 'registry', ref: need(attrs, 'ref', '--cache-from', 'type=registry,ref=registry.example/app:cache') };
    case 'local': return { type: 'local', src: need(attrs, 'src', '--cache-from', 'type=local,src=/tmp/cache') };
    default:
      throw new UserError('INVALID_ARGUMENT', `unknown cache type ${JSON.stringify(attrs.type ?? '')} in --cache-from ${text}`, 'use type=registry or type=local (an inline cache is read with type=registry,ref=IMAGE)');
  }
}
