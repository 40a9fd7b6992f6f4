import { readFileSync, realpathSync } from 'node:fs';
import { posix, resolve, sep } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { goBytesSize, parseGoBool } from '../../common/index.js';
import { BakeFileError } from './errors.js';
import type { BakeFile, Config, TargetDef } from './config.js';
import { parseAttest, parseCache, parseExport, parseSecret, parseSsh, type Target } from './target.js';
import { setKey, ValueError } from './value.js';

// Compose files as bake reads them (docker/buildx bake/compose.go): every service with a `build:` section is a target
// named after the service (dots become underscores), all of them in the group "default"; `image` is the tag when the
// build names none; the `x-bake` extension adds bake-only attributes. Values are interpolated from the environment
// and the working directory's `.env` first, as compose does (`${VAR}`, `${VAR:-default}`, `${VAR:?error}`, `$$`…).

type Yaml = null | boolean | number | string | Yaml[] | { [k: string]: Yaml };

const isMap = (v: Yaml | undefined): v is { [k: string]: Yaml } => v !== null && typeof v === 'object' && !Array.isArray(v);
const scalar = (v: Yaml | undefined): string | undefined => (v === null || v === undefined || typeof v === 'object' ? undefined : String(v));

/** A `.env` file: KEY=VALUE lines, `#` comments, optional quotes and `export `. */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim().replace(/^export\s+/, '');
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length > 1) value = value.slice(1, -1);
    else value = withoutComment(value);
    setKey(out, line.slice(0, eq).trim(), q === '"' ? value.replace(/\\n/g, '\n') : value);
  }
  return out;
}

/**
 * A `.env` value without its ` # comment`: cut at the run of white space before the first "#" that follows white
 * space. The regex /\s+#.*$/ retried every space of a long run not followed by "#", quadratic in it.
 */
function withoutComment(value: string): string {
  let at = value.search(/\s#/);
  if (at < 0) return value;
  while (at > 0 && /\s/.test(value[at - 1] ?? '')) at--;
  return value.slice(0, at);
}

/** Compose's interpolation of one string. */
function interpolate(s: string, env: (k: string) => string | undefined, file: string): string {
  return s.replace(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (m, dollar: string, name: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (dollar === '$') return '$';
      const key = name ?? bare ?? '';
      const v = env(key);
      const unset = op?.startsWith(':') ? v === undefined || v === '' : v === undefined;
      switch (op?.replace(':', '')) {
        case undefined: return v ?? '';
        case '-': return unset ? interpolate(arg ?? '', env, file) : (v ?? '');
        case '+': return unset ? '' : interpolate(arg ?? '', env, file);
        case '?': if (unset) throw new BakeFileError({ file }, `required variable ${key} is missing a value${arg ? `: ${arg}` : ''}`); return v ?? '';
        default: return m;
      }
    });
}

function interpolateAll(v: Yaml, env: (k: string) => string | undefined, file: string): Yaml {
  if (typeof v === 'string') return interpolate(v, env, file);
  if (Array.isArray(v)) return v.map((x) => interpolateAll(x, env, file));
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateAll(x, env, file)]));
  return v;
}

/**
 * Later compose files override earlier ones as compose-go's override.Merge has it: mappings merge key by key,
 * sequences are appended (tags, platforms), scalars replaced, and a null keeps what was there. A service's `build`
 * written as a path is its `context` first (mergeBuild), and its `args`, `labels`, `additional_contexts` and
 * `extra_hosts` merge by key whether written as a list or a mapping (mergeToSequence). `path`: the keys down to here.
 */
function deepMerge(a: Yaml, b: Yaml, path: string[] = []): Yaml {
  const at = path.length === 3 && path[0] === 'services' && path[2] === 'build' ? 'build'
    : path.length === 4 && path[0] === 'services' && path[2] === 'build' && ['args', 'labels', 'additional_contexts', 'extra_hosts'].includes(path[3] ?? '') ? 'by-key' : undefined;
  if (at === 'build') return mergeMaps(asBuild(a), asBuild(b), path);
  if (at === 'by-key') return { ...byKey(a, path[3] === 'extra_hosts' ? ':' : '='), ...byKey(b, path[3] === 'extra_hosts' ? ':' : '=') };
  if (b === null || b === undefined) return a;
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  return mergeMaps(a, b, path);
}

function mergeMaps(a: Yaml, b: Yaml, path: string[]): Yaml {
  if (!isMap(a) || !isMap(b)) return b ?? a;
  const out: { [k: string]: Yaml } = { ...a };
  for (const [k, v] of Object.entries(b)) setKey(out, k, Object.hasOwn(out, k) ? deepMerge(out[k] ?? null, v, [...path, k]) : v);
  return out;
}

/** `build: ./db` as the mapping it stands for. */
function asBuild(v: Yaml): Yaml {
  return typeof v === 'string' ? { context: v } : v;
}

/** A compose `KEY=VALUE` list or a mapping, as a mapping (a bare KEY is null: looked up later). */
function byKey(v: Yaml, sep: '=' | ':'): { [k: string]: Yaml } {
  if (isMap(v)) return v;
  const out: { [k: string]: Yaml } = {};
  if (!Array.isArray(v)) return out;
  for (const item of v) {
    const [k, x] = splitEntry(scalar(item) ?? '', sep);
    setKey(out, k, x ?? null);
  }
  return out;
}

/** `KEY=VALUE` (or `HOST:IP` / `HOST=IP` for extra_hosts) as key and value; a bare KEY has no value. */
function splitEntry(s: string, sep: '=' | ':'): [string, string | undefined] {
  const i = sep === '=' ? s.indexOf('=') : s.search(/[=:]/);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** A compose `KEY=VALUE` list or mapping as a map; a bare KEY (or a null value) asks `lookup`. */
function mapping(v: Yaml | undefined, lookup: (k: string) => string | undefined, sep: '=' | ':' = '='): Record<string, string> {
  const out: Record<string, string> = {};
  // extra_hosts may name a host twice (two addresses): compose keeps both, buildx joins them with ",".
  const put = (k: string, x: string | undefined): void => { if (x !== undefined) setKey(out, k, sep === ':' && Object.hasOwn(out, k) ? `${out[k] ?? ''},${x}` : x); };
  if (Array.isArray(v)) {
    for (const item of v) {
      const [k, x] = splitEntry(scalar(item) ?? '', sep);
      put(k, x ?? lookup(k));
    }
  } else if (isMap(v)) for (const [k, x] of Object.entries(v)) put(k, x === null ? lookup(k) : Array.isArray(x) ? x.map(String).join(',') : scalar(x));
  return out;
}

const list = (v: Yaml | undefined): string[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v.map((x) => scalar(x) ?? '') : typeof v === 'string' ? v.split(/\s+/).filter(Boolean) : [String(v)]);

function ramBytes(v: Yaml | undefined): number | undefined {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(scalar(v) ?? '');
  if (!m) return undefined;
  return Math.round(Number(m[1]) * 1024 ** ['', 'k', 'm', 'g', 't', 'p'].indexOf((m[2] ?? '').toLowerCase()));
}

const namedContexts = (m: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, /^(service|target):/.test(v) ? `target:${v.slice(v.indexOf(':') + 1).replaceAll('.', '_')}` : v]));

/** Parses compose files into bake targets and the "default" group (empty when no service builds). */
export function parseComposeFiles(files: BakeFile[], env: (k: string) => string | undefined, read: (path: string) => string = defaultRead): Pick<Config, 'targets' | 'groups'> {
  let merged: Yaml = {};
  for (const f of files) merged = deepMerge(merged, loadWithIncludes(f, env, read, new Set()));
  const file = files.map((f) => f.name).join(', ');
  const root = isMap(merged) ? merged : {};
  const services = withExtends(isMap(root.services) ? root.services : {}, file);
  const secrets = isMap(root.secrets) ? root.secrets : {};
  const targets: TargetDef[] = [];
  for (const [service, raw] of Object.entries(services)) {
    const s = isMap(raw) ? raw : {};
    if (s.build === undefined || s.build === null) continue;
    const build: { [k: string]: Yaml } = typeof s.build === 'string' ? { context: s.build } : isMap(s.build) ? s.build : {};
    const name = service.replaceAll('.', '_');
    if (!/^[a-zA-Z0-9_-]+$/.test(name)) throw new BakeFileError({ file }, `invalid service name ${JSON.stringify(name)}`);
    const serviceEnv = mapping(s.environment, () => undefined);
    try {
      targets.push({ name, pos: { file, line: 1, column: 1 }, target: serviceTarget(build, s, serviceEnv, secrets, env) });
    } catch (err) {
      if (err instanceof ValueError) throw new BakeFileError({ file }, `service ${service}: ${err.message}`);
      throw err;
    }
  }
  const groups = targets.length ? [{ name: 'default', pos: { file, line: 1, column: 1 }, targets: targets.map((t) => t.name) }] : [];
  return { targets, groups };
}

function parseDocument(f: BakeFile): { [k: string]: Yaml } {
  let doc: Yaml;
  try {
    doc = parseYaml(f.text) as Yaml;
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const at = err.linePos?.[0];
      throw new BakeFileError(at ? { file: f.name, line: at.line, column: at.col } : { file: f.name }, `invalid YAML: ${err.message.split('\n')[0] ?? ''}`);
    }
    // The yaml library refuses an alias bomb ("billion laughs") with a ReferenceError of its own.
    if (err instanceof ReferenceError && /alias/i.test(err.message)) throw new BakeFileError({ file: f.name }, `invalid YAML: ${err.message}`);
    throw err;
  }
  if (!isMap(doc)) throw new BakeFileError({ file: f.name }, 'empty compose file');
  if (isCyclic(doc)) throw new BakeFileError({ file: f.name }, 'invalid YAML: an alias (*name) refers to a node that holds it');
  return doc;
}

/** True when `value` holds itself (a YAML alias inside its own anchor's node), which no compose file can mean. */
function isCyclic(value: unknown, within = new Set<object>()): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (within.has(value)) return true;
  within.add(value);
  const cyclic = Object.values(value as Record<string, unknown>).some((v) => isCyclic(v, within));
  within.delete(value);
  return cyclic;
}

/**
 * A file of the working directory's, as compose includes are read: none outside it (a bake file reads no host file),
 * symbolic links followed to where they lead first, as a repository can hold one (`leak.yml -> ../../etc/x`: its
 * YAML error quoted the host file's lines).
 */
function defaultRead(path: string): string {
  const cwd = realpathSync(process.cwd());
  const full = realpathSync(resolve(path));
  if (full !== cwd && !full.startsWith(`${cwd}${sep}`)) throw new ValueError(`${path} is outside the working directory ${cwd}${full === resolve(path) ? '' : ` (it leads to ${full})`}`);
  return readFileSync(full, 'utf8');
}

/**
 * A compose file with the services of the files its `include:` names first (compose-go's ApplyInclude: paths relative
 * to the including file; a service defined on both sides is an error), interpolated.
 */
function loadWithIncludes(f: BakeFile, env: (k: string) => string | undefined, read: (path: string) => string, seen: Set<string>): { [k: string]: Yaml } {
  if (seen.has(f.name)) throw new BakeFileError({ file: f.name }, 'include cycle');
  const doc = interpolateAll(parseDocument(f), env, f.name) as { [k: string]: Yaml };
  const includes = Array.isArray(doc.include) ? doc.include : doc.include === undefined || doc.include === null ? [] : [doc.include];
  let merged: { [k: string]: Yaml } = {};
  for (const item of includes) {
    const paths = isMap(item) ? (Array.isArray(item.path) ? item.path : [item.path]) : [item];
    for (const p of paths) {
      const rel = scalar(p ?? null);
      if (rel === undefined || rel === '') continue;
      const name = posix.isAbsolute(rel) ? rel : posix.join(posix.dirname(f.name), rel);
      let text: string;
      try {
        text = read(name);
      } catch (err) {
        throw new BakeFileError({ file: f.name }, `include ${rel}: ${err instanceof Error ? err.message : String(err)}`);
      }
      merged = deepMerge(merged, loadWithIncludes({ name, text }, env, read, new Set([...seen, f.name]))) as { [k: string]: Yaml };
    }
  }
  const { include: _, ...own } = doc;
  const ownServices = isMap(own.services) ? own.services : {};
  const included = isMap(merged.services) ? merged.services : {};
  for (const name of Object.keys(ownServices)) {
    if (Object.hasOwn(included, name)) throw new BakeFileError({ file: f.name }, `services.${name} conflicts with imported resource`);
  }
  return deepMerge(merged, own) as { [k: string]: Yaml };
}

/**
 * Services with `extends: base` (or `{ service: base }`) take the base service's definition, theirs merged over it
 * (compose-go's ApplyExtends), bases of bases first. Only services of the same files: `file:` is refused by name.
 */
function withExtends(services: { [k: string]: Yaml }, file: string): { [k: string]: Yaml } {
  const done = new Map<string, Yaml>();
  const resolveOne = (name: string, chain: string[]): Yaml => {
    const known = done.get(name);
    if (known !== undefined) return known;
    if (chain.includes(name)) throw new BakeFileError({ file }, `extends cycle: ${[...chain, name].join(' → ')}`);
    const raw = services[name];
    const s = isMap(raw) ? raw : {};
    const ext = s.extends;
    let out: Yaml = raw ?? null;
    if (ext !== undefined && ext !== null) {
      if (isMap(ext) && ext.file !== undefined) throw new BakeFileError({ file }, `service ${name}: extends from another file is not supported by tsbuild bake`);
      const base = isMap(ext) ? scalar(ext.service ?? null) : scalar(ext);
      if (base === undefined || !Object.hasOwn(services, base)) throw new BakeFileError({ file }, `service ${name} extends ${base ?? '?'}, which is not defined`);
      const { extends: _, ...own } = s;
      const { extends: __, ...inherited } = (isMap(resolveOne(base, [...chain, name])) ? resolveOne(base, [...chain, name]) : {}) as { [k: string]: Yaml };
      out = deepMerge(inherited, own, ['services', name]);
    }
    done.set(name, out);
    return out;
  };
  return Object.fromEntries(Object.keys(services).map((name) => [name, resolveOne(name, [])]));
}

function serviceTarget(build: { [k: string]: Yaml }, s: { [k: string]: Yaml }, serviceEnv: Record<string, string>, secrets: { [k: string]: Yaml }, env: (k: string) => string | undefined): Target {
  const t: Target = {};
  const str = (k: string): string | undefined => { const v = scalar(build[k]); return v === '' ? undefined : v; };
  // compose-go cleans a local context path (./db → db), as Go's filepath.Clean.
  const context = str('context');
  if (context !== undefined) t.context = /^[a-z][a-z0-9+.-]*:\/\/|^git@/i.test(context) ? context : (posix.normalize(context).replace(/(.)\/$/, '$1'));
  const dockerfile = str('dockerfile'); if (dockerfile !== undefined) t.dockerfile = dockerfile;
  const inline = str('dockerfile_inline'); if (inline !== undefined) t['dockerfile-inline'] = inline;
  const contexts = namedContexts(mapping(build.additional_contexts, () => undefined)); if (Object.keys(contexts).length) t.contexts = contexts;
  const args = mapping(build.args, (k) => serviceEnv[k] ?? env(k)); if (Object.keys(args).length) t.args = args;
  const labels = mapping(build.labels, () => undefined); if (Object.keys(labels).length) t.labels = labels;
  const tags = list(build.tags); if (tags.length) t.tags = tags;
  const cacheFrom = list(build.cache_from).flatMap(parseCache); if (cacheFrom.length) t['cache-from'] = cacheFrom;
  const cacheTo = list(build.cache_to).flatMap(parseCache); if (cacheTo.length) t['cache-to'] = cacheTo;
  const network = str('network'); if (network !== undefined) t.network = network;
  const platforms = list(build.platforms); if (platforms.length) t.platforms = platforms;
  const target = str('target'); if (target !== undefined) t.target = target;
  // buildx's CanonicalizeAttest: true is the attestation, false disables it, anything else is its options.
  const attest = (['sbom', 'provenance'] as const).flatMap((kind) => {
    const v = scalar(build[kind]);
    if (v === undefined || v === '') return [];
    const flag = parseGoBool(v);
    return [parseAttest(flag === true ? `type=${kind}` : flag === false ? `type=${kind},disabled=true` : `type=${kind},${v}`)];
  });
  if (attest.length) t.attest = attest;
  if (build.no_cache === true) t['no-cache'] = true;
  if (build.pull === true) t.pull = true;
  const shm = ramBytes(build.shm_size); if (shm !== undefined && shm > 0) t['shm-size'] = goBytesSize(shm);
  if (isMap(build.ulimits)) {
    t.ulimits = Object.keys(build.ulimits).sort().map((k) => {
      const u = (build.ulimits as { [k: string]: Yaml })[k];
      const [soft, hard] = isMap(u) ? [scalar(u.soft), scalar(u.hard)] : [scalar(u), scalar(u)];
      return `${k}=${soft ?? ''}:${hard ?? ''}`;
    });
  }
  const hosts = mapping(build.extra_hosts, () => undefined, ':'); if (Object.keys(hosts).length) t['extra-hosts'] = hosts;
  const ssh = list(Array.isArray(build.ssh) ? build.ssh : isMap(build.ssh) ? Object.entries(build.ssh).map(([k, v]) => `${k}=${scalar(v) ?? ''}`) : build.ssh).map(parseSsh);
  if (ssh.length) t.ssh = ssh.sort((a, b) => ((a.id ?? '') < (b.id ?? '') ? -1 : 1));
  const secretRefs = Array.isArray(build.secrets) ? build.secrets : [];
  if (secretRefs.length) {
    t.secret = secretRefs.map((ref) => {
      const source = isMap(ref) ? scalar(ref.source) ?? '' : scalar(ref) ?? '';
      const top = Object.hasOwn(secrets, source) ? secrets[source] : undefined;
      const def = isMap(top) ? top : {};
      if (def.external === true) throw new ValueError(`unsupported external secret ${source}`);
      return { id: source, ...(scalar(def.file) ? { src: scalar(def.file) } : {}), ...(scalar(def.environment) ? { env: scalar(def.environment) } : {}) };
    }).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  const xb = build['x-bake'];
  if (isMap(xb)) applyXBake(t, xb);
  const image = scalar(s.image);
  if (!t.tags?.length && image) t.tags = [image];
  return t;
}

/** The x-bake extension: bake attributes compose has no field for (a string is a space-separated list). */
function applyXBake(t: Target, xb: { [k: string]: Yaml }): void {
  const uniq = (a: string[]): string[] => [...new Set(a)];
  const tags = list(xb.tags); if (tags.length) t.tags = uniq([...(t.tags ?? []), ...tags]);
  const cf = list(xb['cache-from']).flatMap(parseCache); if (cf.length) t['cache-from'] = [...(t['cache-from'] ?? []), ...cf];
  const ct = list(xb['cache-to']).flatMap(parseCache); if (ct.length) t['cache-to'] = [...(t['cache-to'] ?? []), ...ct];
  const sec = list(xb.secret).map(parseSecret); if (sec.length) t.secret = [...(t.secret ?? []), ...sec];
  const ssh = list(xb.ssh).map(parseSsh); if (ssh.length) t.ssh = [...(t.ssh ?? []), ...ssh];
  const pl = list(xb.platforms); if (pl.length) t.platforms = uniq([...(t.platforms ?? []), ...pl]);
  const out = list(xb.output).map(parseExport); if (out.length) t.output = [...(t.output ?? []), ...out];
  if (typeof xb.pull === 'boolean') t.pull = xb.pull;
  if (typeof xb['no-cache'] === 'boolean') t['no-cache'] = xb['no-cache'];
  const ncf = list(xb['no-cache-filter']); if (ncf.length) t['no-cache-filter'] = uniq([...(t['no-cache-filter'] ?? []), ...ncf]);
  const ctx = namedContexts(mapping(xb.contexts, () => undefined)); if (Object.keys(ctx).length) t.contexts = { ...ctx, ...(t.contexts ?? {}) };
}
