import { definitionError } from './errors.js';
import type { Config, TargetDef } from './config.js';
import { goBool, mergeTarget, normalizeTarget, parseAttest, parseCache, parseExport, parseSecret, parseSsh, REFUSED_KEYS, setResource, type Entry, type Target } from './target.js';
import { setKey, ValueError } from './value.js';

// From the files' definitions to what bake builds, as buildx's bake.ReadTargets: target patterns and groups expand
// to targets, each target is its inherits merged under it, then the --set overrides, then buildx's defaults
// (context ".", dockerfile "Dockerfile"); targets named by `target:` contexts are resolved too.

/** One `--set` value parsed: per target name, per key (`args.FOO`, `tags`…). */
export interface Override { value?: string; values?: string[]; isAppend?: boolean }

/** The resolved definition: what `--print` prints and what the build runs. */
export interface Resolved {
  groups: Record<string, { description?: string; targets: string[] }>;
  targets: Record<string, Target>;
  /** Targets resolved only because another target's `contexts` names them (buildx: output cacheonly). */
  linked: Set<string>;
}

const ARRAY_KEYS = new Set(['output', 'cache-to', 'cache-from', 'tags', 'platform', 'secrets', 'ssh', 'attest', 'entitlements', 'network', 'annotations', 'policy']);

// Every error here exits 1, as buildx's do (errors.ts BAKE_DEFINITION).
const bad = definitionError;

/** path.Match's glob (`*`, `?`, `[…]`) as a regular expression over a whole name. */
function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw bad(`invalid pattern ${JSON.stringify(pattern)}: unclosed [`);
      // path.Match's class: [abc], [a-z], [^abc] read the same in a JavaScript class.
      re += `[${pattern.slice(i + 1, end)}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const isGlob = (s: string): boolean => /[*?[\]]/.test(s);

/** Parses `--set` values against the config's target names (a pattern must match at least one target). */
export function parseOverrides(config: Config, sets: string[], envLookup = true): Map<string, Map<string, Override>> {
  const out = new Map<string, Map<string, Override>>();
  for (const v of sets) {
    const eq = v.indexOf('=');
    const left = eq < 0 ? v : v.slice(0, eq);
    const isAppend = left.endsWith('+');
    const skey = isAppend ? left.slice(0, -1) : left;
    const keys = skey.split('.');
    const [pattern, field] = keys;
    if (keys.length < 2 || !pattern || !field) throw bad(`invalid override key ${skey}, expected target.name`, 'write --set TARGET.KEY=VALUE, e.g. --set app.tags=registry/app:1 or --set *.platform=linux/arm64');
    const rest = [field, keys.slice(2).join('.')].filter(Boolean);
    if (eq < 0 && field !== 'args') throw bad(`invalid override ${v}, expected target.name=value`);
    const names = indexOf(config).targets.has(pattern) ? [pattern] : config.targets.map((t) => t.name).filter((n) => isGlob(pattern) && globRegExp(pattern).test(n));
    if (names.length === 0) throw bad(`could not find any target matching '${pattern}'`, `the files define: ${config.targets.map((t) => t.name).join(', ') || 'no targets'}`);
    const okey = rest.join('.');
    const value = eq < 0 ? undefined : v.slice(eq + 1);
    for (const name of names) {
      const per = out.get(name) ?? new Map<string, Override>();
      out.set(name, per);
      const o: Override = { ...(per.get(okey) ?? {}) };
      if (ARRAY_KEYS.has(field)) {
        if (value !== undefined) { o.isAppend = isAppend; o.values = [...(o.values ?? []), value]; }
      } else if (field === 'resources') {
        // buildx's parseOverride: exactly one name below resources, set (never appended) from the value given.
        if (keys.length !== 3) throw bad(`invalid key ${left}, resources requires name`, `write --set ${pattern}.resources.memory=2g (or memory-swap, cpu-shares, cpu-period, cpu-quota, cpuset-cpus, cpuset-mems)`);
        if (isAppend) throw bad(`invalid key ${left}, resources does not support append`, `write --set ${skey}=VALUE`);
        o.value = value ?? '';
      } else if (field === 'args' || field === 'contexts' || field === 'labels' || field === 'extra-hosts' || field === 'secret') {
        if (keys.length < 3) throw bad(`invalid key ${left}, ${field} requires name`, `write --set ${pattern}.${field}.NAME=VALUE`);
        if (value === undefined && envLookup) {
          // `--set t.args.FOO` takes FOO from the environment, or leaves the arg alone when unset; with the
          // environment's lookup disabled it sets FOO to "" (newOverrides falls through with no value).
          const env = process.env[keys.slice(2).join('.')];
          if (env === undefined) continue;
          o.value = env;
        } else o.value = value ?? '';
      } else if (value !== undefined) o.value = value;
      per.set(okey, o);
    }
  }
  return out;
}

/** buildx's AddOverrides: each --set key applied to one resolved target. */
function applyOverrides(name: string, t: Target, overrides: Map<string, Override> | undefined): Target {
  if (!overrides) return t;
  const n: Target = { ...t };
  for (const [key, o] of overrides) {
    const dot = key.indexOf('.');
    const field = dot < 0 ? key : key.slice(0, dot);
    const sub = dot < 0 ? '' : key.slice(dot + 1);
    const value = o.value ?? '';
    const values = o.values ?? [];
    try {
      switch (field) {
        case 'context': case 'dockerfile': case 'target': case 'call': case 'shm-size': case 'network': n[field] = value; break;
        case 'args': case 'contexts': case 'labels': case 'extra-hosts': n[field] = { ...(n[field] ?? {}), [sub]: value }; break;
        case 'tags': case 'no-cache-filter': case 'ulimits': n[field] = o.isAppend ? [...(n[field] ?? []), ...values] : values; break;
        case 'platform': n.platforms = o.isAppend ? [...(n.platforms ?? []), ...values] : values; break;
        case 'annotations': case 'entitlements': n[field] = [...(n[field] ?? []), ...values]; break;
        case 'cache-from': case 'cache-to': {
          const entries = values.flatMap(parseCache);
          n[field] = o.isAppend ? [...(n[field] ?? []), ...entries] : entries;
          break;
        }
        case 'output': { const e = values.filter(Boolean).map(parseExport); n.output = o.isAppend ? [...(n.output ?? []), ...e] : e; break; }
        case 'secrets': { const e = values.filter(Boolean).map(parseSecret); n.secret = o.isAppend ? mergeTarget({ secret: n.secret ?? [] }, { secret: e }).secret ?? [] : e; break; }
        case 'secret': {
          const s = n.secret?.find((x) => x.id === sub);
          if (!s) throw new ValueError(`secret ${JSON.stringify(sub)} must be declared before it can be overridden`);
          const next = parseSecret(value);
          if (next.id !== undefined && next.id !== sub) throw new ValueError(`secret override id ${JSON.stringify(next.id)} does not match declared secret ${JSON.stringify(sub)}`);
          n.secret = (n.secret ?? []).map((x) => (x.id === sub ? { id: sub, ...(next.src !== undefined ? { src: next.src } : {}), ...(next.env !== undefined ? { env: next.env } : {}) } : x));
          break;
        }
        case 'ssh': { const e = values.filter(Boolean).map(parseSsh); n.ssh = o.isAppend ? [...(n.ssh ?? []), ...e] : e; break; }
        case 'attest': n.attest = mergeTarget({ attest: n.attest ?? [] }, { attest: values.filter(Boolean).map(parseAttest) }).attest ?? []; break;
        case 'no-cache': case 'pull': n[field] = boolOverride(field, value); break;
        case 'resources': { const r = { ...(n.resources ?? {}) }; setResource(r, sub, value); n.resources = r; break; }
        case 'push': n.output = pushOverride(n.output ?? [], boolOverride(field, value)); break;
        case 'load': n.output = loadOverride(n.output ?? [], boolOverride(field, value)); break;
        default:
          if (Object.hasOwn(REFUSED_KEYS, field)) throw new ValueError(`--set ${field} is not supported: ${REFUSED_KEYS[field]}`);
          throw new ValueError(`unknown key: ${field}`);
      }
    } catch (err) {
      if (err instanceof ValueError) throw bad(`target ${JSON.stringify(name)}: --set ${key}: ${err.message}`);
      throw err;
    }
  }
  return n;
}

function boolOverride(key: string, value: string): boolean {
  try {
    return goBool(value);
  } catch {
    throw new ValueError(`invalid value ${value} for boolean key ${key}`);
  }
}

/** buildx's setPushOverride: --push makes image outputs push, or adds a pushing image output. */
function pushOverride(outputs: Entry[], push: boolean): Entry[] {
  if (!push) return outputs.filter((o) => o.type !== 'registry').map((o) => (o.type === 'image' ? { ...o, push: 'false' } : o));
  const out = outputs.map((o) => (o.type === 'image' ? { ...o, push: 'true' } : o));
  if (outputs.every((o) => o.type === 'docker')) out.push({ type: 'image', push: 'true' });
  return out;
}

/** buildx's setLoadOverride: --load adds a docker output unless one (without dest) is there. */
function loadOverride(outputs: Entry[], load: boolean): Entry[] {
  if (!load) return outputs;
  if (outputs.some((o) => o.type === 'docker' && !o.dest)) return outputs;
  // A local or tar output is left alone, as push leaves it.
  if (outputs.some((o) => !['image', 'registry', 'oci', 'docker'].includes(o.type ?? ''))) return outputs;
  return [...outputs, { type: 'docker' }];
}

// The walks below (groups in groups, inherits, `target:` contexts) keep their own stacks instead of recursing: a
// bake file can chain as many targets as it holds (20000 inherits ran the JavaScript stack out, an internal error).

/** The config's targets and groups by name: a file may define tens of thousands, and a search of each list per name was quadratic. */
interface Index { targets: Map<string, TargetDef>; groups: Map<string, Config['groups'][number]> }

const indexes = new WeakMap<Config, Index>();
function indexOf(config: Config): Index {
  let index = indexes.get(config);
  if (!index) {
    index = { targets: new Map(config.targets.map((t) => [t.name, t])), groups: new Map(config.groups.map((g) => [g.name, g])) };
    indexes.set(config, index);
  }
  return index;
}

/**
 * A group's targets, groups expanded depth first (each group once), and the groups met, as buildx's Config.group:
 * a group that gives its caller no targets, because it is still being expanded (a group "default" that lists a
 * target "default", as `bake --print` writes a definition) or lists none, stands for the target of its name.
 */
function expandGroup(config: Config, name: string): { targets: string[]; groups: string[] } {
  const { groups: byName } = indexOf(config);
  const top = byName.get(name);
  if (!top) return { targets: [name], groups: [] };
  const targets: string[] = [];
  const groups = [name];
  // A frame per group being expanded (its own stack: groups nest as deep as the file makes them).
  const open = new Set([name]);
  const done = new Set<string>();
  const stack = [{ name, targets: top.targets, next: 0 }];
  for (let f = stack.at(-1); f !== undefined; f = stack.at(-1)) {
    const child = f.targets[f.next++];
    if (child === undefined) {
      stack.pop();
      open.delete(f.name);
      done.add(f.name);
      continue;
    }
    const g = byName.get(child);
    if (!g || open.has(child) || g.targets.length === 0) {
      targets.push(child);
      if (g && !open.has(child) && !done.has(child)) { groups.push(child); done.add(child); }
      continue;
    }
    if (done.has(child)) continue;   // its targets are in the list already
    open.add(child);
    groups.push(child);
    stack.push({ name: child, targets: g.targets, next: 0 });
  }
  return { targets, groups };
}

/**
 * buildx's Config.target: `name` with its inherits merged under it in order, then its --set overrides, normalized.
 * As buildx's `visited` map, each target is resolved once per call (inherits that fan out cost each target once,
 * where resolving each again cost 2^n) and one still being resolved is skipped where an inherit leads back to it.
 * `settled` keeps, across the calls of one resolveTargets, the targets resolved without such a skip ("cut"): they
 * resolve alike wherever the walk began, and a group of 20000 targets each inheriting the next is 20000
 * resolutions, not 2*10^8 (buildx's are: its visited map is per call).
 */
function resolveTarget(config: Config, name: string, overrides: Map<string, Map<string, Override>>, settled: Map<string, Target>): Target {
  const known = settled.get(name);
  if (known) return known;
  const { targets } = indexOf(config);
  const visited = new Map<string, { target?: Target; isCut: boolean }>();
  const stack: { def: TargetDef; next: number; isCut: boolean }[] = [];
  const enter = (n: string): void => {
    const def = targets.get(n);
    if (!def) throw bad(`failed to find target ${n}`, `the files define: ${config.targets.map((t) => t.name).join(', ') || 'no targets'}`);
    visited.set(n, { isCut: false });
    stack.push({ def, next: 0, isCut: false });
  };
  enter(name);
  for (let top = stack.at(-1); top !== undefined; top = stack.at(-1)) {
    const parents = top.def.target.inherits ?? [];
    const parent = parents[top.next++];
    if (parent !== undefined) {
      const settledParent = settled.get(parent);
      const v = visited.get(parent);
      if (settledParent) visited.set(parent, { target: settledParent, isCut: false });
      else if (!v) enter(parent);
      else if (v.target === undefined || v.isCut) top.isCut = true;
      continue;
    }
    stack.pop();
    let base: Target = {};
    for (const p of parents) {
      const t = visited.get(p)?.target;
      if (t) base = mergeTarget(base, t);
    }
    // A resolved target's inherits are spent (withDefaults drops them): kept, a chain of n targets held n²/2 names.
    const { inherits: _spent, ...own } = mergeTarget(base, top.def.target);
    const target = normalizeTarget(applyOverrides(top.def.name, own, overrides.get(top.def.name)));
    visited.set(top.def.name, { target, isCut: top.isCut });
    if (!top.isCut) settled.set(top.def.name, target);
    const user = stack.at(-1);
    if (user && top.isCut) user.isCut = true;
  }
  return visited.get(name)?.target ?? {};
}

/** ResolveTarget's last step: no inherits in the result, and buildx's defaults filled in. */
function withDefaults(t: Target): Target {
  const { inherits: _inherits, ...rest } = t;
  return { ...rest, context: rest.context ?? '.', dockerfile: rest.dockerfile || 'Dockerfile' };
}

/** Resolves the named targets (or groups, or glob patterns) with the `--set` values. */
export function resolveTargets(config: Config, names: string[], sets: string[], envLookup = true): Resolved {
  const wanted: string[] = [];
  // A compose service `web.app` is the target `web_app` (HCL names hold no dot), and buildx's ReadTargets reads the
  // command line's names the same way (sanitizeTargetName).
  for (const n of names.map((x) => x.replaceAll('.', '_'))) {
    if (!isGlob(n)) { wanted.push(n); continue; }
    const re = globRegExp(n);
    const matched = [...config.groups.map((g) => g.name), ...config.targets.map((t) => t.name)].filter((x) => re.test(x));
    if (matched.length === 0) throw bad(`could not find any target matching ${JSON.stringify(n)}`);
    for (const m of matched) wanted.push(m);
  }
  const unique = [...new Set(wanted)];
  const overrides = parseOverrides(config, sets, envLookup);
  const settled = new Map<string, Target>();
  const resolved: Resolved = { groups: {}, targets: {}, linked: new Set() };
  for (const name of unique) {
    const { targets, groups } = expandGroup(config, name);
    for (const t of [...new Set(targets)]) setKey(resolved.targets, t, withDefaults(resolveTarget(config, t, overrides, settled)));
    for (const g of groups) {
      const def = indexOf(config).groups.get(g);
      if (def) setKey(resolved.groups, g, { ...(def.description ? { description: def.description } : {}), targets: [...new Set(def.targets)] });
    }
  }
  // The command line's names form the default group (unless "default" is itself a group that was asked for).
  const named = unique.filter((n) => !(n === 'default' && indexOf(config).groups.has('default')));
  if (named.length > 0 || resolved.groups.default) {
    const g = resolved.groups.default ?? { targets: [] };
    resolved.groups.default = { ...g, targets: [...new Set([...g.targets, ...named])].sort() };
  }
  const loaded = new Set<string>();
  for (const name of Object.keys(resolved.targets)) loadLinks(config, name, resolved, overrides, loaded, settled);
  return resolved;
}

/**
 * buildx's loadLinks: the targets `name` uses as `target:NAME` contexts resolved (buildx builds them with only a cache
 * output), theirs before each is used, its entitlements inherited and its platforms checked. `loaded`: the targets
 * whose links are all loaded already, walked again for nothing (buildx walks them at every use, 2^n for targets that
 * each use the next twice); a cycle through one was refused when it was loaded.
 */
function loadLinks(config: Config, root: string, resolved: Resolved, overrides: Map<string, Map<string, Override>>, loaded: Set<string>, settled: Map<string, Target>): void {
  const targetOf = (n: string): Target | undefined => (Object.hasOwn(resolved.targets, n) ? resolved.targets[n] : undefined);
  const linksOf = (t: Target | undefined): string[] => Object.values(t?.contexts ?? {}).filter((v) => v.startsWith('target:')).map((v) => v.slice('target:'.length));
  const stack: { name: string; links: string[]; next: number }[] = [];
  const onPath = new Set<string>();
  const enter = (n: string): void => { stack.push({ name: n, links: linksOf(targetOf(n)), next: 0 }); onPath.add(n); };
  if (loaded.has(root)) return;
  enter(root);
  for (let top = stack.at(-1); top !== undefined; top = stack.at(-1)) {
    const dep = top.links[top.next];
    if (dep === undefined) {
      stack.pop();
      onPath.delete(top.name);
      loaded.add(top.name);
      const user = stack.at(-1);
      if (user) linked(user.name, top.name, resolved);
      if (user) user.next++;
      continue;
    }
    if (dep === top.name) throw bad(`target ${dep} cannot link to itself`);
    if (onPath.has(dep)) throw bad(`infinite loop from ${top.name} to ${dep}`);
    if (!targetOf(dep)) {
      setKey(resolved.targets, dep, { ...withDefaults(resolveTarget(config, dep, overrides, settled)), output: [{ type: 'cacheonly' }] });
      resolved.linked.add(dep);
    }
    if (loaded.has(dep)) {
      linked(top.name, dep, resolved);
      top.next++;
    } else enter(dep);
  }
}

/** After `dep`'s own links are loaded: `name`, which uses it as a context, inherits its entitlements and needs its platforms. */
function linked(name: string, dep: string, resolved: Resolved): void {
  const t = resolved.targets[name] as Target;
  const t2 = resolved.targets[dep] as Target;
  const has = new Set(t.entitlements ?? []);
  const added = (t2.entitlements ?? []).filter((e) => !has.has(e) && has.add(e));
  if (added.length) t.entitlements = [...(t.entitlements ?? []), ...added];
  const p1 = t.platforms ?? [];
  const p2 = t2.platforms ?? [];
  const inP2 = new Set(p2);
  if (p1.length > 1 && p2.length > 1 && !p1.every((p) => inP2.has(p))) {
    // buildx's wording, which names the using target's platforms first (loadLinks: t.Platforms, t2.Platforms).
    throw bad(`target ${dep} can't be used by ${name} because its platforms [${p1.join(' ')}] are not a subset of [${p2.join(' ')}]`);
  }
}

/**
 * buildx bake (commands/bake.go) passes SOURCE_DATE_EPOCH from the environment as a build arg of every target whose
 * args do not hold it; an arg the file sets, even to "", is kept (a presence test, not a value test).
 */
export function addSourceDateEpoch(resolved: Resolved, epoch: string | undefined): void {
  if (!epoch) return;
  for (const t of Object.values(resolved.targets)) if (!(t.args && 'SOURCE_DATE_EPOCH' in t.args)) t.args = { ...(t.args ?? {}), SOURCE_DATE_EPOCH: epoch };
}
