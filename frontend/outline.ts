import type { Instruction } from './ast.js';
import { expandInScope, globalArgScope, type GlobalArgOptions } from './compile/global-args.js';
import { parseMountSpec } from './compile/mounts.js';
import { findStage, targetIndex } from './compile/stage-plan.js';
import { parseWithSource } from './parser/parse-dockerfile.js';
import { processWord, ShellSyntaxError } from './shell/lex.js';
import { docComment } from './targets.js';

// `--call=outline` (BuildKit's outline subrequest, dockerfile2llb/outline.go): what a target takes from the person
// building it — the build args it uses with their values and doc comments, the secrets and SSH sockets its RUN steps
// mount — for the target stage and every stage it stands on or reads from. Text in, data out: nothing is resolved.
// As BuildKit counts them, a stage uses an ARG it declares and each global ARG its FROM line names (and the global
// ARGs those defaults name in turn); a stage ARG without a default that takes a global's value is the global one.

/** BuildKit's outline.Outline, Go's field order, empty fields left out when printed (outlineResult). */
export interface Outline {
  name: string;
  description: string;
  args: { name: string; description: string; value: string; line: number; endLine: number }[];
  secrets: { name: string; required: boolean; line: number; endLine: number }[];
  ssh: { name: string; required: boolean; line: number; endLine: number }[];
}

interface ArgInfo { name: string; description: string; value: string; line: number; endLine: number; deps: Set<string> }
interface Mounted { required: boolean; line: number; endLine: number }

/** One stage's view, as BuildKit's dispatch state keeps it (cloned from its base stage, or from the global scope). */
interface StageOutline {
  allArgs: Map<string, ArgInfo>;
  usedArgs: Set<string>;
  secrets: Map<string, Mounted>;
  ssh: Map<string, Mounted>;
  base?: number;
  deps: Set<number>;
}

const clone = (o: StageOutline): StageOutline => ({
  allArgs: new Map(o.allArgs), usedArgs: new Set(o.usedArgs), secrets: new Map(o.secrets), ssh: new Map(o.ssh), deps: new Set(),
});

/** The outline of `target` (default: the last stage). Throws DockerfileError as compile does for a missing target. */
export function outlineOf(text: string, opts: GlobalArgOptions = {}): Outline {
  const { dockerfile: df, src } = parseWithSource(text);
  const lines = text.split(/\r?\n/);
  const directiveLines = new Set(df.directives.map((d) => d.location.line));
  const buildArgs = opts.buildArgs ?? {};
  const expand = (word: string, env: Map<string, string>): { result: string; matched: Set<string> } => {
    try {
      return processWord(word, (n) => env.get(n), { escapeToken: df.escapeToken });
    } catch (err) {
      if (err instanceof ShellSyntaxError) return { result: word, matched: new Set() };
      throw err;
    }
  };
  const info = (inst: Instruction, name: string, value: string, deps = new Set<string>()): ArgInfo => ({
    name, value, deps, line: inst.location.line, endLine: inst.location.endLine, description: docComment(lines, inst.location.line, directiveLines, name),
  });

  // The global ARGs (before the first FROM), each with the ARGs its default names (buildMetaArgs).
  const scope = globalArgScope(df, opts);
  const globalEnv = new Map(scope);
  const global: StageOutline = { allArgs: new Map(), usedArgs: new Set(), secrets: new Map(), ssh: new Map(), deps: new Set() };
  const first = df.instructions.findIndex((i) => i.keyword === 'FROM');
  for (const inst of df.instructions.slice(0, first < 0 ? df.instructions.length : first)) {
    if (inst.keyword !== 'ARG') continue;
    for (const word of inst.args) {
      const eq = word.indexOf('=');
      const key = eq >= 0 ? word.slice(0, eq) : word;
      if (Object.hasOwn(buildArgs, key)) {
        global.allArgs.set(key, info(inst, key, buildArgs[key] ?? ''));
      } else if (eq >= 0) {
        const { result, matched } = expand(word.slice(eq + 1), globalEnv);
        const deps = new Set([...matched].filter((d) => d !== key));
        if (matched.has(key)) for (const d of global.allArgs.get(key)?.deps ?? []) deps.add(d);
        globalEnv.set(key, result);
        global.allArgs.set(key, info(inst, key, result, deps));
      } else {
        global.allArgs.set(key, info(inst, key, ''));
      }
    }
  }

  // Each stage from its base (a stage, or the global view), in file order as BuildKit dispatches them.
  const froms = df.instructions.map((inst, i) => ({ inst, i })).filter(({ inst }) => inst.keyword === 'FROM');
  const stages = froms.map(({ inst }, index) => ({ index, from: inst, baseName: '', instructions: [] as Instruction[], ...(inst.args.length === 3 ? { name: (inst.args[2] ?? '').toLowerCase() } : {}) }));
  froms.forEach(({ i }, k) => {
    const end = froms[k + 1]?.i ?? df.instructions.length;
    const stage = stages[k];
    if (stage) stage.instructions = df.instructions.slice(i + 1, end);
  });
  const outlines: StageOutline[] = [];
  for (const stage of stages) {
    const base = expandInScope(stage.from.args[0] ?? '', scope, df.escapeToken);
    const used = new Set(expand(stage.from.args[0] ?? '', scope).matched);
    const platform = stage.from.flags.find((f) => f.name === 'platform')?.value;
    if (platform !== undefined) for (const m of expand(platform, scope).matched) used.add(m);
    const baseIndex = stages.findLastIndex((s) => s.index < stage.index && s.name === base.toLowerCase());
    const o = baseIndex >= 0 ? clone(outlines[baseIndex] ?? global) : clone(global);
    if (baseIndex >= 0) o.base = baseIndex;
    for (const u of used) o.usedArgs.add(u);
    const env = new Map<string, string>();
    for (const inst of stage.instructions) {
      if (inst.keyword === 'ARG') {
        for (const word of inst.args) {
          const eq = word.indexOf('=');
          const key = eq >= 0 ? word.slice(0, eq) : word;
          let value: string | undefined;
          let inherited = false;
          if (Object.hasOwn(buildArgs, key)) value = buildArgs[key];
          else if (eq >= 0) value = expand(word.slice(eq + 1), env).result;
          else if (scope.has(key)) { value = scope.get(key); inherited = true; }
          if (value !== undefined) env.set(key, value);
          if (!inherited) o.allArgs.set(key, info(inst, key, value ?? ''));
          o.usedArgs.add(key);
        }
      } else if (inst.keyword === 'ENV') {
        for (const word of inst.args) {
          const eq = word.indexOf('=');
          if (eq > 0) env.set(word.slice(0, eq), expand(word.slice(eq + 1), env).result);
        }
      } else if (inst.keyword === 'COPY' || inst.keyword === 'RUN') {
        for (const flag of inst.flags) {
          if (flag.value === undefined) continue;
          if (inst.keyword === 'COPY' && flag.name === 'from') addDep(o, findStage(stages, flag.value), stage.index);
          if (inst.keyword !== 'RUN' || flag.name !== 'mount') continue;
          let spec;
          try { spec = parseMountSpec(flag.value, (v) => expand(v, env).result); } catch { continue; }   // compile reports a bad mount
          if (spec.from !== undefined) addDep(o, findStage(stages, spec.from), stage.index);
          const at = { required: /^(true|1)?$/i.test(spec.fields.get('required') ?? 'false'), line: inst.location.line, endLine: inst.location.endLine };
          if (spec.type === 'secret') {
            const target = spec.fields.get('target');
            const id = spec.fields.get('source') ?? spec.fields.get('id') ?? (target !== undefined ? target.split('/').filter(Boolean).pop() : undefined);
            if (id !== undefined && !o.secrets.has(id)) o.secrets.set(id, at);
          } else if (spec.type === 'ssh') {
            const id = spec.fields.get('id') ?? 'default';
            if (!o.ssh.has(id)) o.ssh.set(id, at);
          }
        }
      }
    }
    outlines.push(o);
  }

  const target = targetIndex(stages, opts.target, src);
  const stage = stages[target];
  const name = stage?.name ?? '';
  return {
    name,
    description: stage ? docComment(lines, stage.from.location.line, directiveLines, name) : '',
    args: byLine(collect(outlines, target, new Set(), (o) => {
      markAllUsed(o, o.usedArgs, new Set());
      return [...o.usedArgs].flatMap((k) => { const a = o.allArgs.get(k); return a ? [[k, { name: a.name, description: a.description, value: a.value, line: a.line, endLine: a.endLine }] as const] : []; });
    })),
    secrets: byLine(collect(outlines, target, new Set(), (o) => [...o.secrets].map(([k, v]) => [k, { name: k, ...v }] as const))),
    ssh: byLine(collect(outlines, target, new Set(), (o) => [...o.ssh].map(([k, v]) => [k, { name: k, ...v }] as const))),
  };
}

function addDep(o: StageOutline, dep: number | undefined, self: number): void {
  if (dep !== undefined && dep !== self) o.deps.add(dep);
}

/** Marks the global ARGs a used ARG's default named, and theirs (BuildKit's markAllUsed). */
function markAllUsed(o: StageOutline, names: Iterable<string>, visited: Set<string>): void {
  for (const k of [...names]) {
    if (visited.has(k)) continue;
    visited.add(k);
    const a = o.allArgs.get(k);
    if (a) markAllUsed(o, a.deps, visited);
    o.usedArgs.add(k);
  }
}

/** A stage's entries, then its base's and its dependencies' (each name once, the nearest stage's entry winning). */
function collect<T>(outlines: StageOutline[], index: number, visited: Set<string>, entries: (o: StageOutline) => (readonly [string, T])[], seen = new Set<number>()): T[] {
  const o = outlines[index];
  if (o === undefined || seen.has(index)) return [];
  seen.add(index);
  const out: T[] = [];
  for (const [k, v] of entries(o)) if (!visited.has(k)) { visited.add(k); out.push(v); }
  if (o.base !== undefined) out.push(...collect(outlines, o.base, visited, entries, seen));
  for (const d of o.deps) out.push(...collect(outlines, d, visited, entries, seen));
  return out;
}

const byLine = <T extends { line: number }>(items: T[]): T[] => [...items].sort((a, b) => a.line - b.line);

/** The outline as BuildKit's outline.Outline marshals (`format=json`): empty fields left out, the Dockerfile as source. */
export function outlineResult(o: Outline, text: string): Record<string, unknown> {
  const location = (x: { line: number; endLine: number }) => ({ location: { ranges: [{ start: { line: x.line }, end: { line: Math.max(x.line, x.endLine) } }] } });
  const list = <T>(items: T[], f: (t: T) => Record<string, unknown>) => (items.length > 0 ? items.map(f) : undefined);
  const json: Record<string, unknown> = {
    ...(o.name !== '' ? { name: o.name } : {}),
    ...(o.description !== '' ? { description: o.description } : {}),
    args: list(o.args, (a) => ({ name: a.name, ...(a.description !== '' ? { description: a.description } : {}), ...(a.value !== '' ? { value: a.value } : {}), ...location(a) })),
    secrets: list(o.secrets, (s) => ({ name: s.name, ...(s.required ? { required: true } : {}), ...location(s) })),
    ssh: list(o.ssh, (s) => ({ name: s.name, ...(s.required ? { required: true } : {}), ...location(s) })),
    sources: [Buffer.from(text, 'utf8').toString('base64')],
  };
  return Object.fromEntries(Object.entries(json).filter(([, v]) => v !== undefined));
}

/** The outline as buildx prints it (BuildKit's PrintOutline: tab-aligned tables, padding 1 for the header, 3 for the rest). */
export function formatOutline(o: Outline): string {
  let out = '';
  if (o.name !== '' || o.description !== '') {
    out += table([['TARGET:', o.name === '' ? '(default)' : o.name], ...(o.description !== '' ? [['DESCRIPTION:', o.description]] : [])], 1) + '\n';
  }
  if (o.args.length > 0) out += table([['BUILD ARG', 'VALUE', 'DESCRIPTION'], ...o.args.map((a) => [a.name, a.value, a.description])], 3) + '\n';
  if (o.secrets.length > 0) out += table([['SECRET', 'REQUIRED'], ...o.secrets.map((s) => [s.name, s.required ? 'true' : ''])], 3) + '\n';
  if (o.ssh.length > 0) out += table([['SSH', 'REQUIRED'], ...o.ssh.map((s) => [s.name, s.required ? 'true' : ''])], 3) + '\n';
  return out;
}

/**
 * Go's text/tabwriter with minwidth 0, padding `pad`, ' ' as padchar and no flags: each cell but a row's last is
 * padded to its column's widest cell plus `pad`; the last cell is written as it is (a trailing empty cell adds nothing).
 */
function table(rows: string[][], pad: number): string {
  const widths: number[] = [];
  for (const row of rows) row.slice(0, -1).forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length); });
  return rows.map((row) => row.map((c, i) => (i < row.length - 1 ? c.padEnd((widths[i] ?? 0) + pad) : c)).join('') + '\n').join('');
}
