import { goJson } from '../../common/index.js';
import { cleanPath } from '../../frontend/index.js';
import { isRemoteUrl } from '../options/build-flags.js';
import type { Resolved } from './resolve.js';
import { RESOURCE_KEYS } from '../options/build-flags.js';
import { TARGET_KEYS, type Resources, type Target } from './target.js';

// `bake --print`: the resolved definition as buildx prints it (commands/bake.go: json.MarshalIndent of
// {group, target} with two spaces). Go writes struct fields in declaration order (TARGET_KEYS), map keys sorted,
// drops empty fields marked omitempty, escapes <, > and & in strings, and bake re-escapes `${` as `$${` in the values
// that are templates when read back (args, labels, annotations, extra-hosts, dockerfile-inline).

const sorted = <T>(m: Record<string, T>): Record<string, T> => Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k] as T]));
// A replacer function: in a replacement string `$$` would mean one `$`.
const esc = (s: string): string => s.replaceAll('${', () => '$${').replaceAll('%{', () => '%%{');
const escMap = (m: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, esc(v)]));

/** One target as buildx's Target.MarshalJSON writes it. */
export function targetJson(t: Target): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of TARGET_KEYS) {
    let v: unknown = t[key];
    if (v === undefined) continue;
    if (key === 'description' && v === '') continue;
    if (Array.isArray(v) && v.length === 0) continue;
    // A `resources` object is a pointer in buildx's Target: printed when set, even with no limit in it.
    if (key !== 'resources' && v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    if (key === 'context') v = printedContext(v as string);
    else if (key === 'args' || key === 'labels' || key === 'extra-hosts') v = sorted(escMap(v as Record<string, string>));
    else if (key === 'contexts') v = sorted(v as Record<string, string>);
    else if (key === 'annotations') v = (v as string[]).map(esc);
    else if (key === 'dockerfile-inline') v = esc(v as string);
    else if (key === 'resources') v = Object.fromEntries(RESOURCE_KEYS.flatMap((k) => { const x = (v as Resources)[k]; return x === undefined ? [] : [[k, x]]; }));
    else if (key === 'output' || key === 'cache-from' || key === 'cache-to' || key === 'attest') v = (v as Record<string, unknown>[]).map(sorted);
    else if (key === 'secret') v = (v as Record<string, string>[]).map((s) => ({ ...(s.id ? { id: s.id } : {}), ...(s.src ? { src: s.src } : {}), ...(s.env ? { env: s.env } : {}) }));
    else if (key === 'ssh') v = (v as { id?: string; paths?: string[] }[]).map((s) => ({ ...(s.id ? { id: s.id } : {}), ...(s.paths?.length ? { paths: s.paths } : {}) }));
    out[key] = v;
  }
  return out;
}

/**
 * The context as buildx prints it: its toBuildOpt (run before --print) writes back the context it builds from, a
 * local one `path.Clean`ed and without `cwd://` (`./` and BAKE_CMD_CONTEXT print as `.`, `./app/` as `app`); a remote
 * one as written.
 */
function printedContext(context: string): string {
  if (context.startsWith('cwd://')) return cleanPath(context.slice('cwd://'.length));
  return isRemoteUrl(context) ? context : cleanPath(context);
}

/**
 * The `--print` document, each target's object made by `target` (a `--call=…,format=json` bake wraps it with the
 * call's answer).
 */
export function definitionDoc(r: Resolved, target: (name: string, json: Record<string, unknown>) => unknown = (_name, json) => json): Record<string, unknown> {
  const groups = sorted(Object.fromEntries(Object.entries(r.groups).map(([k, g]) => [k, { ...(g.description ? { description: g.description } : {}), targets: g.targets }])));
  const targets = sorted(Object.fromEntries(Object.entries(r.targets).map(([k, t]) => [k, target(k, targetJson(t))])));
  return { ...(Object.keys(groups).length ? { group: groups } : {}), target: targets };
}

/** The `--print` document, newline-terminated. */
export function printDefinition(r: Resolved): string {
  return `${goJson(definitionDoc(r))}\n`;
}
