import type { Attribute, Block, Body, Expr, Pos } from './hcl-ast.js';
import { BakeFileError, BakeLimitError, spanAt, type Range } from './errors.js';
import { BudgetExceeded, mapBytes, spendBytes, spendSteps, withBudget } from './eval-budget.js';
import { fullRange, mismatchMessage, nameSuggestion, unsuitableValue } from './hcl-diagnostics.js';
import { evaluate, Scope, type UserFunction } from './hcl-eval.js';
import { isStdlibFunction } from './functions.js';
import { parseHcl, parseHclExpression } from './hcl-parser.js';
import { parseComposeFiles } from './compose.js';
import { attributeType, isTargetAttribute, mergeTarget, targetSize, REFUSED_KEYS, setAttribute, TARGET_KEYS, type Target } from './target.js';
import { isObject, toBool, toList, toStr, ValueError, type Value } from './value.js';
import { findOverride, overrideValue } from './variable-override.js';
import { constraintName, convertValue, friendlyName, parseVarType, type VarType } from './variable-type.js';

// Bake files → targets and groups, as buildx's bake.ParseFiles does for HCL and JSON files: every file's variables,
// functions and top-level attributes share one namespace (a later file's definition wins), each target block is
// evaluated on its own (once per combination of its `matrix`), and blocks of the same target merge in file order.

/** A bake file's name and text. */
export interface BakeFile { name: string; text: string }

/** A target as the files define it, before inherits, overrides and defaults. */
export interface TargetDef { name: string; pos: Pos; target: Target }

/** The files' definitions, in the order buildx keeps them. */
export interface Config {
  /** Every variable with its resolved value (for `--list variables`), in file order. */
  variables: { name: string; description?: string; type?: string; value: Value }[];
  targets: TargetDef[];
  groups: { name: string; pos: Pos; description?: string; targets: string[] }[];
}

/** What variables see from outside the files. */
export interface ConfigOptions {
  /** Variable overrides (buildx: the environment). */
  lookupVar: (name: string) => string | undefined;
  /** Built-in variables that cannot be overridden: BAKE_CMD_CONTEXT, BAKE_LOCAL_PLATFORM. */
  builtins: Record<string, string>;
  /** The working directory's `.env`, which compose files also interpolate from (the environment wins). */
  dotEnv?: Record<string, string>;
}

/** A compose file by its name, as buildx tells them apart. */
export function isComposeFile(file: { name: string; text: string }): boolean {
  if (/\.ya?ml$/i.test(file.name)) return true;
  if (/\.(json|hcl)$/i.test(file.name)) return false;
  // Any other name (`-f -`, `compose.prod`) is compose when it reads as one, as buildx's validateComposeFile tries
  // compose first: a YAML mapping with a top-level `services:` key.
  return /^services:[ \t]*(#.*)?$/m.test(file.text);
}

const BLOCK_TYPES = new Set(['variable', 'target', 'group', 'function']);
const TARGET_NAME = /^[a-zA-Z0-9_-]+$/;

/** Parses and evaluates HCL and JSON bake files into one Config, within one evaluation budget (eval-budget.ts). */
export function parseBakeFiles(files: BakeFile[], opts: ConfigOptions): Config {
  return withBudget(() => parseWithinBudget(files, opts));
}

function parseWithinBudget(files: BakeFile[], opts: ConfigOptions): Config {
  // Compose files are read first, whatever their place among -f: bake files then add to their targets (buildx).
  const composeFiles = files.filter((f) => isComposeFile(f));
  const compose = composeFiles.length ? parseComposeFiles(composeFiles, (k) => opts.lookupVar(k) ?? opts.dotEnv?.[k]) : { targets: [], groups: [] };
  const bodies = files.filter((f) => !isComposeFile(f)).map((f) => (isJsonFile(f) ? jsonBody(f) : parseHcl(f.text, f.name)));
  const variables = new Map<string, Block>();
  const attrs = new Map<string, Attribute>();
  const functions = new Map<string, UserFunction>();
  const blocks: Block[] = [];
  for (const body of bodies) {
    for (const a of body.attributes) {
      if (BLOCK_TYPES.has(a.name)) throw new BakeFileError(a.pos, `${JSON.stringify(a.name)} is a block type, not an attribute`);
      attrs.set(a.name, a);
    }
    for (const b of body.blocks) {
      if (!BLOCK_TYPES.has(b.type)) throw new BakeFileError(b.pos, `unknown block type ${JSON.stringify(b.type)}`, 'a bake file has variable, target, group and function blocks');
      if (b.labels.length !== 1 || !b.labels[0]) throw new BakeFileError(b.pos, `a ${b.type} block takes one name: ${b.type} "NAME" { … }`);
      const name = b.labels[0];
      if (b.type === 'variable') variables.set(name, b);
      else if (b.type === 'function') functions.set(name, userFunction(b));
      else blocks.push(b);
    }
  }
  // `target.NAME.ATTR` reads another target block's own attribute: buildx evaluates that block on demand, once
  // (resolveBlock keeps its blockValues). Evaluated again at each reference, a chain of targets that each read the
  // next twice cost 2^n evaluations; the `target` object, made again at each reference, cost every block.
  const evaluating = new Set<string>();
  const evaluated = new Map<string, Value>();
  let refs: { [k: string]: Value } | undefined;
  let refPos: Pos | undefined;
  const targetRef = (name: string, pos: Pos, root: Scope): Value | undefined => {
    if (name !== 'target') return undefined;
    // Where `target` was last read: the getter below runs as that reference's `.NAME` is read.
    refPos = pos;
    if (refs) return refs;
    refs = {};
    for (const b of blocks) {
      const label = b.labels[0] ?? '';
      if (b.type !== 'target' || Object.hasOwn(refs, label)) continue;
      Object.defineProperty(refs, label, {
        enumerable: true,
        get: () => {
          const known = evaluated.get(label);
          if (known !== undefined) return known;
          if (evaluating.has(label)) throw new BakeFileError(refPos ?? b.pos, `target ${JSON.stringify(label)} refers to itself through target.${label}`);
          evaluating.add(label);
          try {
            const v = targetValue(evalTarget(b, label, root)[0]?.target ?? {});
            evaluated.set(label, v);
            return v;
          } finally {
            evaluating.delete(label);
          }
        },
      });
    }
    return refs;
  };
  const scope = variableScope(variables, attrs, functions, opts, targetRef);
  const config: Config = { variables: [], targets: compose.targets, groups: compose.groups };
  for (const [name, b] of variables) {
    const description = attribute(b, 'description');
    const type = declaredType(b);
    config.variables.push({
      name, value: scope.get(name, b.pos),
      ...(description ? { description: toStr(evaluate(description.expr, scope), 'description') } : {}),
      ...(type ? { type: constraintName(type) } : {}),
    });
  }
  // By name, where each block's definition goes (a search of the lists per block was quadratic in the blocks).
  const groupAt = new Map(config.groups.map((g, i) => [g.name, i]));
  const targetOf = new Map(config.targets.map((t) => [t.name, t]));
  const putGroup = (g: Config['groups'][number]): void => {
    const i = groupAt.get(g.name);
    if (i !== undefined) config.groups[i] = g;
    else { groupAt.set(g.name, config.groups.length); config.groups.push(g); }
  };
  for (const b of blocks) {
    const label = b.labels[0] ?? '';
    if (b.type === 'group') {
      putGroup(evalGroup(b, label, scope));
      continue;
    }
    const defs = evalTarget(b, label, scope);
    const names = defs.map((d) => d.name);
    for (const def of defs) {
      const prev = targetOf.get(def.name);
      if (!prev) { targetOf.set(def.name, def); config.targets.push(def); continue; }
      // A merge copies the target so far: 5000 blocks of one target, each adding an arg, took 8 s of copying, 50000
      // would take 14 minutes. The copying is counted as evaluation steps.
      withinLimit(b.pos, () => spendSteps(targetSize(prev.target) + targetSize(def.target), `merging the blocks of target ${JSON.stringify(def.name)}`));
      prev.target = mergeTarget(prev.target, def.target);
    }
    // A matrix target's block name becomes a group of the targets it expands to (buildx: the "renamed" groups).
    if (names.length !== 1 || names[0] !== label) putGroup({ name: label, pos: b.pos, targets: [...new Set(names)] });
  }
  return config;
}

function isJsonFile(f: BakeFile): boolean {
  return f.name.endsWith('.json') || (!f.name.endsWith('.hcl') && f.text.trimStart().startsWith('{'));
}

/** HCL's JSON syntax: the top object's `variable`/`target`/`group`/`function` keys hold blocks by name. */
function jsonBody(f: BakeFile): Body {
  const top = parseHclExpression(f.text, f.name);
  if (top.kind !== 'object') throw new BakeFileError(top.pos, 'a JSON bake file must be one object');
  const body: Body = { attributes: [], blocks: [] };
  const keyOf = (e: Expr): string => {
    if (e.kind === 'template' && e.parts.every((p) => p.kind === 'text')) return e.parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
    throw new BakeFileError(e.pos, 'a JSON key must be a plain string');
  };
  for (const item of top.items) {
    const key = keyOf(item.key);
    if (!BLOCK_TYPES.has(key)) { body.attributes.push({ name: key, expr: item.value, pos: item.key.pos }); continue; }
    if (item.value.kind !== 'object') throw new BakeFileError(item.value.pos, `"${key}" must be an object of ${key}s by name`);
    for (const block of item.value.items) {
      const inner = block.value;
      if (inner.kind !== 'object') throw new BakeFileError(inner.pos, `${key} ${JSON.stringify(keyOf(block.key))} must be an object`);
      body.blocks.push({
        type: key, labels: [keyOf(block.key)], pos: block.key.pos, open: inner.pos,
        body: { attributes: inner.items.map((a) => ({ name: keyOf(a.key), expr: a.value, pos: a.key.pos })), blocks: [] },
      });
    }
  }
  return body;
}

function attribute(b: Block, name: string): Attribute | undefined {
  return b.body.attributes.find((a) => a.name === name);
}

function userFunction(b: Block): UserFunction {
  const name = b.labels[0] ?? '';
  if (isStdlibFunction(name)) throw new BakeFileError(b.pos, `function ${JSON.stringify(name)} would replace the built-in function of that name`);
  const params = attribute(b, 'params');
  const result = attribute(b, 'result');
  if (!params || !result) throw new BakeFileError(b.pos, `function ${JSON.stringify(name)} needs params and result`);
  const names = (e: Expr): string[] => {
    if (e.kind !== 'tuple' || e.items.some((i) => i.kind !== 'variable')) throw new BakeFileError(e.pos, 'params must be a list of names: params = [a, b]');
    return e.items.map((i) => (i.kind === 'variable' ? i.name : ''));
  };
  const variadic = attribute(b, 'variadic_params');
  const v = variadic ? names(variadic.expr) : [];
  return { params: names(params.expr), ...(v[0] ? { variadic: v[0] } : {}), result: result.expr };
}

/** The root scope: variables and top-level attributes, each evaluated once when first used (cycles are errors). */
function variableScope(variables: Map<string, Block>, attrs: Map<string, Attribute>, functions: Map<string, UserFunction>, opts: ConfigOptions,
  other: (name: string, pos: Pos, scope: Scope) => Value | undefined): Scope {
  const done = new Map<string, Value>();
  const inProgress = new Set<string>();
  let scope: Scope;
  const resolve = (name: string, pos: Pos): Value | undefined => {
    if (done.has(name)) return done.get(name) ?? null;
    if (Object.hasOwn(opts.builtins, name)) return opts.builtins[name] ?? '';
    const attr = attrs.get(name);
    const block = variables.get(name);
    // The scope is passed: a variable's default may read `target.NAME` while this function is still resolving them.
    if (!attr && !block) return other(name, pos, scope);
    if (inProgress.has(name)) throw new BakeFileError(pos, `variable cycle not allowed for ${name}`);
    inProgress.add(name);
    try {
      const v = attr ? evaluate(attr.expr, scope) : variableValue(name, block as Block, scope, opts, (n) => variables.has(n));
      done.set(name, v);
      return v;
    } finally {
      inProgress.delete(name);
    }
  };
  scope = new Scope(undefined, new Map(), resolve, functions, () => [...variables.keys(), ...attrs.keys(), ...Object.keys(opts.builtins)]);
  // Every variable is resolved, then every validation block runs, whether or not a target uses the variable, as
  // buildx's Parse does (validateVariables), with its diagnostics at the condition.
  for (const [name, block] of variables) resolve(name, block.pos);
  for (const block of variables.values()) {
    for (const v of block.body.blocks.filter((x) => x.type === 'validation')) {
      const cond = attribute(v, 'condition');
      const msg = attribute(v, 'error_message');
      if (!cond || !msg) throw new BakeFileError(v.pos, `Missing required argument; The argument "${cond ? 'error_message' : 'condition'}" is required, but no definition was found.`);
      const ok = evaluate(cond.expr, scope);
      const at = fullRange(cond.expr);
      if (ok === null) throw new BakeFileError(at, 'Invalid condition result; Condition expression must return either true or false, not null.');
      const invalid = mismatchMessage(ok, 'bool');
      if (invalid) throw new BakeFileError(at, `Invalid condition result; Invalid condition result value: ${invalid}`);
      if (!toBool(ok)) {
        const text = evaluate(msg.expr, scope);
        throw new BakeFileError(at, `Validation failed; ${text === null ? 'This check failed, but has an invalid error message.' : toStr(text, 'error_message')}`);
      }
    }
  }
  return scope;
}

/** A variable's declared type; `type = null` declares none (buildx's typeConstraint). */
function declaredType(block: Block): VarType | undefined {
  const type = attribute(block, 'type');
  if (!type || (type.expr.kind === 'literal' && type.expr.value === null)) return undefined;
  return parseVarType(type.expr);
}

/**
 * A variable's value as buildx's resolveValue makes it: the default converted to the declared type (no default: ""
 * untyped, null typed), replaced by an override from the environment or --var read by that type, or by the
 * default's (variable-override.ts). A failure that is not the default expression's own is reported, as buildx
 * reports it, at the start of the variable's body ("Invalid value").
 */
function variableValue(name: string, block: Block, scope: Scope, opts: ConfigOptions, isVariable: (n: string) => boolean): Value {
  const def = attribute(block, 'default');
  const type = declaredType(block);
  const invalid = (message: string): BakeFileError => new BakeFileError(spanAt(block.open, 0), `Invalid value; ${message}`,
    `variable ${JSON.stringify(name)}: give it a value of ${type ? `type ${constraintName(type)}` : 'its default\'s type'}`);
  let value: Value = def ? evaluate(def.expr, scope) : type ? null : '';
  if (def && type) {
    try {
      value = convertValue(value, type);
    } catch (err) {
      if (err instanceof ValueError) throw invalid(`invalid type ${friendlyName(type)} for variable ${name} default value: ${err.message}`);
      throw err;
    }
  }
  const override = findOverride(name, type !== undefined, opts.lookupVar, (n) => isVariable(n) || Object.hasOwn(opts.builtins, n));
  if (!override) return value;
  try {
    return overrideValue(name, override, type, def ? value : undefined);
  } catch (err) {
    if (err instanceof ValueError) throw invalid(err.message);
    throw err;
  }
}

function evalGroup(b: Block, label: string, scope: Scope): Config['groups'][number] {
  const g: Config['groups'][number] = { name: label, pos: b.pos, targets: [] };
  for (const a of b.body.attributes) {
    const v = evaluate(a.expr, scope);
    try {
      if (a.name === 'targets') g.targets = toList(v, 'targets').map((t) => toStr(t, 'a group target'));
      else if (a.name === 'description') { if (v !== null) g.description = toStr(v, 'description'); }
      else if (a.name === 'matrix') throw new ValueError('matrix is not supported for groups');
      else throw new ValueError(`unsupported attribute ${JSON.stringify(a.name)} in a group`);
    } catch (err) {
      if (err instanceof ValueError) throw new BakeFileError(a.pos, err.message);
      throw err;
    }
  }
  return g;
}

/** A target as the value `target.NAME` gives: every attribute, null when the block does not set it. */
function targetValue(t: Target): Value {
  const out: { [k: string]: Value } = {};
  for (const key of TARGET_KEYS) out[key] = (t[key] as Value | undefined) ?? null;
  return out;
}

/** A target block's definitions: one, or one per combination of its matrix. */
function evalTarget(b: Block, label: string, scope: Scope): TargetDef[] {
  if (!TARGET_NAME.test(label)) throw new BakeFileError(b.pos, `invalid target name ${JSON.stringify(label)}`, 'a name has only letters, digits, "_" and "-"');
  const matrix = attribute(b, 'matrix');
  const scopes = matrix ? matrixScopes(matrix, scope) : [scope];
  const seen = new Set<string>();
  return scopes.map((s) => {
    const nameAttr = attribute(b, 'name');
    const name = nameAttr ? toStr(evaluate(nameAttr.expr, s), 'name') : label;
    if (!TARGET_NAME.test(name)) throw new BakeFileError((nameAttr ?? b).pos, `invalid target name ${JSON.stringify(name)}`, 'a name has only letters, digits, "_" and "-" (sanitize() makes one)');
    if (matrix && seen.has(name)) throw new BakeFileError((nameAttr ?? b).pos, `the matrix gives two targets the name ${JSON.stringify(name)}`, 'set name = "…-${key}" from the matrix keys');
    seen.add(name);
    const target: Target = {};
    for (const a of b.body.attributes) {
      if (a.name === 'name' || a.name === 'matrix') continue;
      if (Object.hasOwn(REFUSED_KEYS, a.name)) throw new BakeFileError(spanAt(a.pos, a.name.length), `target ${JSON.stringify(name)}: attribute ${JSON.stringify(a.name)} is not supported by tsbuild bake: ${REFUSED_KEYS[a.name]}`);
      // hclsyntax's Body.Content refuses an attribute the schema lacks, at its name, before any value is evaluated.
      if (!isTargetAttribute(a.name)) {
        const like = nameSuggestion(a.name, TARGET_KEYS);
        throw new BakeFileError(spanAt(a.pos, a.name.length), `Unsupported argument; An argument named ${JSON.stringify(a.name)} is not expected here.${like ? ` Did you mean ${JSON.stringify(like)}?` : ''}`,
          `target ${JSON.stringify(name)}: see https://docs.docker.com/build/bake/reference/#target for a target's attributes`);
      }
      const v = evaluate(a.expr, s);
      // A value that does not decode is gohcl's "Unsuitable value type" at the start of the expression.
      const hint = `target ${JSON.stringify(name)} sets ${a.name} here`;
      const want = attributeType(a.name);
      const mismatch = want && mismatchMessage(v, want);
      if (mismatch) throw unsuitableValue(a.expr, mismatch, `${hint}: give it a ${want}`);
      try {
        setAttribute(target, a.name, v);
      } catch (err) {
        if (err instanceof ValueError) throw unsuitableValue(a.expr, err.message, hint);
        throw err;
      }
    }
    // hclsyntax Body.Content: a target has no blocks; `args { … }` is most likely `args = { … }`.
    for (const inner of b.body.blocks) {
      const asArgument = isTargetAttribute(inner.type) ? ` Did you mean to define argument ${JSON.stringify(inner.type)}? If so, use the equals sign to assign it a value.` : '';
      throw new BakeFileError(spanAt(inner.pos, inner.type.length), `Unsupported block type; Blocks of type ${JSON.stringify(inner.type)} are not expected here.${asArgument}`);
    }
    return { name, pos: b.pos, target };
  });
}

/** Runs `f`, which spends from the evaluation's budget, placing its refusal at `at`. */
function withinLimit(at: Pos | Range, f: () => void): void {
  try {
    f();
  } catch (err) {
    if (err instanceof BudgetExceeded) throw new BakeLimitError(at, err.message, err.hint);
    throw err;
  }
}

/** buildx's matrix expansion order: for each key (sorted), each value, each combination so far. */
function matrixScopes(matrix: Attribute, scope: Scope): Scope[] {
  const m = evaluate(matrix.expr, scope);
  if (!isObject(m)) throw new BakeFileError(matrix.pos, 'matrix must be a map');
  let combos: Record<string, Value>[] = [{}];
  const keys = Object.keys(m).sort();
  for (const key of keys) {
    const values = m[key] ?? null;
    if (!Array.isArray(values)) throw new BakeFileError(matrix.pos, 'matrix values must be a list');
    // Spent before they are made: three keys of 1024 values are a billion combinations.
    withinLimit(fullRange(matrix.expr), () => spendBytes(values.length * combos.length * mapBytes(keys.length), `the matrix's ${values.length * combos.length} combinations`));
    const next: Record<string, Value>[] = [];
    for (const v of values) for (const c of combos) next.push({ ...c, [key]: v });
    combos = next;
  }
  return combos.map((c) => scope.child(c));
}
