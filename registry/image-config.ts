import { isDigest } from './oci/digest.js';
import type { ImageConfig } from './oci/image.js';
import { jsonObjectOf } from './json-object.js';
import { RegistryError } from './registry-error.js';

/**
 * Checks an image config blob from a registry (os, architecture, rootfs.diff_ids, and the types of the members
 * tsbuild reads) and returns it typed.
 */
export function parseImageConfig(bytes: Uint8Array, ref: string): ImageConfig {
  const bad = (what: string): RegistryError => new RegistryError({ code: 'REGISTRY_REQUEST', ref, message: `image config of ${ref} is not valid: ${what}` });
  const c = jsonObjectOf(bytes, bad);
  if (typeof c['os'] !== 'string' || typeof c['architecture'] !== 'string') throw bad('os or architecture missing');
  const rootfs = c['rootfs'] as Record<string, unknown> | undefined;
  if (typeof rootfs !== 'object' || rootfs === null || rootfs['type'] !== 'layers' || !Array.isArray(rootfs['diff_ids'])) throw bad('rootfs is not {type: layers, diff_ids: [...]}');
  if (!(rootfs['diff_ids'] as unknown[]).every(isDigest)) throw bad('rootfs.diff_ids holds something that is not a sha256 digest');
  const wrong = checkMembers(c, TOP, '') ?? checkMembers(c['config'], CONTAINER, 'config.');
  if (wrong !== undefined) throw bad(wrong);
  const healthcheck = checkMembers(isObject(c['config']) ? c['config']['Healthcheck'] : undefined, HEALTHCHECK, 'config.Healthcheck.');
  if (healthcheck !== undefined) throw bad(healthcheck);
  const history = c['history'];
  if (history === null) delete c['history'];
  else if (history !== undefined) {
    if (!Array.isArray(history)) throw bad('history is not an array');
    for (const [i, h] of history.entries()) {
      if (typeof h !== 'object' || h === null || Array.isArray(h)) throw bad(`history[${i}] is not an object`);
      const wrong = checkMembers(h, HISTORY, `history[${i}].`);
      if (wrong !== undefined) throw bad(wrong);
    }
  }
  return c as unknown as ImageConfig;
}

// The types Go's json.Unmarshal into ocispec.Image (and docker's extensions) demands of the members tsbuild reads:
// containerd and BuildKit refuse a config where one has another type ("cannot unmarshal string into … []string"),
// and code downstream takes the types for granted (an Env that was a string crashed the build checks). null is what
// Go reads as the zero value: it is dropped here, as Go's encoder drops it on the way out (omitempty).
type Kind = 'string' | 'strings' | 'boolean' | 'number' | 'stringMap' | 'objectMap' | 'object';
const TOP: Record<string, Kind> = { created: 'string', author: 'string', variant: 'string', 'os.version': 'string', 'os.features': 'strings', config: 'object' };
const CONTAINER: Record<string, Kind> = {
  User: 'string', WorkingDir: 'string', StopSignal: 'string', Env: 'strings', Entrypoint: 'strings', Cmd: 'strings', Shell: 'strings',
  OnBuild: 'strings', ArgsEscaped: 'boolean', Labels: 'stringMap', ExposedPorts: 'objectMap', Volumes: 'objectMap', Healthcheck: 'object',
};
const HEALTHCHECK: Record<string, Kind> = { Test: 'strings', Interval: 'number', Timeout: 'number', StartPeriod: 'number', StartInterval: 'number', Retries: 'number' };
const HISTORY: Record<string, Kind> = { created: 'string', created_by: 'string', author: 'string', comment: 'string', empty_layer: 'boolean' };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const IS: Record<Kind, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  strings: (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'),
  boolean: (v) => typeof v === 'boolean',
  number: (v) => typeof v === 'number' && Number.isSafeInteger(v),
  stringMap: (v) => isObject(v) && Object.values(v).every((s) => typeof s === 'string'),
  objectMap: (v) => isObject(v) && Object.values(v).every((o) => o === null || isObject(o)),
  object: isObject,
};
const SHOWN: Record<Kind, string> = {
  string: 'a string', strings: 'an array of strings', boolean: 'true or false', number: 'an integer', stringMap: 'an object of strings',
  objectMap: 'an object of objects', object: 'an object',
};

/** What is wrong with the members of `value` named in `kinds` (null ones removed), or undefined. */
function checkMembers(value: unknown, kinds: Record<string, Kind>, prefix: string): string | undefined {
  if (!isObject(value)) return undefined;
  for (const [name, kind] of Object.entries(kinds)) {
    const v = value[name];
    if (v === null) delete value[name];
    else if (v !== undefined && !IS[kind](v)) return `${prefix}${name} is not ${SHOWN[kind]}`;
  }
  return undefined;
}
