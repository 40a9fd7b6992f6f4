import type { Expr, Pos, TemplatePart } from './hcl-ast.js';
import { BakeFileError, BakeLimitError, type Range } from './errors.js';
import { BudgetExceeded, bytesSpent, equalSpending, listBytes, mapBytes, shallowBytes, spendBytes, spendOnArguments, spendStep, stringBytes } from './eval-budget.js';
import { fullRange, startRange, unknownFunction, unknownVariable } from './hcl-diagnostics.js';
import { callFunction, FUNCTION_NAMES, isStdlibFunction } from './functions.js';
import { convertValue, parseVarType } from './variable-type.js';
import { ValueError, formatNumber, isObject, setKey, toBool, toList, toMap, toNum, toStr, typeName, type Value } from './value.js';

// Evaluates HCL expressions to plain values. Names resolve through a chain of scopes: a `for` or `matrix` binding,
// then the file's variables, which the bake file loader resolves lazily (a variable may use another).

/** A `function "name" { params = […]  result = … }` block of the bake file. */
export interface UserFunction { params: string[]; variadic?: string; result: Expr }

/** Where names and user functions are looked up. */
export class Scope {
  constructor(
    readonly parent: Scope | undefined,
    readonly vars: Map<string, Value> = new Map(),
    /** Names resolved on demand (the file's variables); undefined when the name is not one. */
    readonly lookup?: (name: string, pos: Pos) => Value | undefined,
    readonly functions: Map<string, UserFunction> = parent?.functions ?? new Map(),
    /** The names `lookup` knows, for "did you mean" (hcl suggests from every name in scope). */
    readonly known: () => Iterable<string> = () => [],
  ) {}

  child(vars: Record<string, Value>): Scope {
    return new Scope(this, new Map(Object.entries(vars)), undefined, this.functions);
  }

  #names(): string[] {
    const out: string[] = [];
    // Not push(...names): a file's tens of thousands of names would be as many arguments, past what a call takes.
    for (let s: Scope | undefined = this; s; s = s.parent) for (const n of [...s.vars.keys(), ...s.known()]) out.push(n);
    return out;
  }

  get(name: string, pos: Pos): Value {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      if (s.vars.has(name)) return s.vars.get(name) ?? null;
      const v = s.lookup?.(name, pos);
      if (v !== undefined) return v;
    }
    throw unknownVariable(name, pos, this.#names());
  }
}

/**
 * How deep evaluation may nest: a level per expression being evaluated, inside one expression and through the
 * variables, `target.NAME` references and user functions that expressions use. It recurses on the JavaScript stack
 * (about 1 MB: a chain of about 1100 variables ran it out, an internal error), where Go's stack grows to 1 GB and
 * hcl has no bound; bake files nest tens of levels.
 */
const MAX_EVAL_DEPTH = 500;
let evalDepth = 0;

const CHAIN_HINT = 'a chain of variables, target.NAME references or functions that use one another this long is more than bake files need: shorten it';

/** Evaluates `expr` in `scope`; a type or name error is a BakeFileError at the expression. */
export function evaluate(expr: Expr, scope: Scope): Value {
  if (evalDepth >= MAX_EVAL_DEPTH) throw new BakeFileError(fullRange(expr), `evaluation nested more than ${MAX_EVAL_DEPTH} levels deep`, CHAIN_HINT);
  evalDepth++;
  try {
    spendStep();
    return evalExpr(expr, scope);
  } catch (err) {
    if (err instanceof BudgetExceeded) throw new BakeLimitError(fullRange(expr), err.message, err.hint);
    if (err instanceof ValueError) throw new BakeFileError(fullRange(expr), err.message, err.hint);
    // What still runs out of stack (a deep value compared with ==) is this expression's error. Made in a frame too
    // near the stack's end, the error itself overflows, and a caller's frame reports it instead.
    if (isStackOverflow(err)) throw new BakeFileError(fullRange(expr), 'too deeply nested to evaluate: the stack ran out', CHAIN_HINT);
    throw err;
  } finally {
    evalDepth--;
  }
}

const isStackOverflow = (err: unknown): boolean => err instanceof RangeError && err.message === 'Maximum call stack size exceeded';

function at<T>(pos: Range, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof ValueError) throw new BakeFileError(pos, err.message, err.hint);
    throw err;
  }
}

function evalExpr(e: Expr, scope: Scope): Value {
  switch (e.kind) {
    case 'literal': return e.value;
    case 'template': return template(e.parts, scope, e.pos);
    case 'variable': return scope.get(e.name, e.pos);
    case 'getattr': {
      const obj = evaluate(e.object, scope);
      if (Array.isArray(obj)) {
        spendBytes(listBytes(obj.length), 'this attribute of each element');
        return obj.map((o) => at(fullRange(e), () => getAttr(o, e.name)));
      }
      return at(fullRange(e), () => getAttr(obj, e.name));
    }
    case 'index': {
      const obj = evaluate(e.object, scope);
      const key = evaluate(e.key, scope);
      return at(fullRange(e), () => index(obj, key));
    }
    case 'splat': {
      const obj = evaluate(e.object, scope);
      const items = obj === null ? [] : Array.isArray(obj) ? obj : [obj];
      spendBytes(listBytes(items.length), 'this splat');
      return items.map((item) => e.steps.reduce<Value>((v, s) => at(fullRange(e), () => ('attr' in s ? getAttr(v, s.attr) : index(v, evaluate(s.index, scope)))), item));
    }
    case 'call': return call(e, scope);
    case 'tuple': {
      spendBytes(listBytes(e.items.length), 'this list');
      return e.items.map((i) => evaluate(i, scope));
    }
    case 'object': {
      spendBytes(mapBytes(e.items.length), 'this map');
      const out: { [k: string]: Value } = {};
      for (const item of e.items) setKey(out, at(fullRange(item.key), () => toStr(evaluate(item.key, scope), 'object key')), evaluate(item.value, scope));
      return out;
    }
    case 'conditional': return at(fullRange(e), () => toBool(evaluate(e.cond, scope), 'the condition')) ? evaluate(e.then, scope) : evaluate(e.else, scope);
    case 'unary': {
      const v = evaluate(e.operand, scope);
      return at(fullRange(e), () => (e.op === '!' ? !toBool(v, 'the operand of !') : -toNum(v, 'the operand of -')));
    }
    case 'binary': return binary(e.op, e.left, e.right, scope, fullRange(e));
    case 'for': return forExpr(e, scope);
  }
}

function getAttr(obj: Value, name: string): Value {
  if (!isObject(obj)) throw new ValueError(`cannot read attribute ${JSON.stringify(name)} of a ${typeName(obj)}`);
  if (!Object.hasOwn(obj, name)) throw new ValueError(`this object has no attribute ${JSON.stringify(name)}`);
  return obj[name] ?? null;
}

function index(obj: Value, key: Value): Value {
  if (Array.isArray(obj)) {
    const i = toNum(key, 'the index');
    if (!Number.isInteger(i) || i < 0 || i >= obj.length) throw new ValueError(`index ${formatNumber(i)} is out of range for a list of ${obj.length}`);
    return obj[i] ?? null;
  }
  if (isObject(obj)) {
    const k = toStr(key, 'the key');
    if (!Object.hasOwn(obj, k)) throw new ValueError(`this map has no element for the key ${JSON.stringify(k)}`);
    return obj[k] ?? null;
  }
  throw new ValueError(`cannot index a ${typeName(obj)}`);
}

function template(parts: TemplatePart[], scope: Scope, pos: Pos): Value {
  // A template that is a single interpolation keeps its value's type (HCL: "${list}" is the list).
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only?.kind === 'interp') return evaluate(only.expr, scope);
  // Plain text is the file's own string, which evaluating it does not copy.
  if (only?.kind === 'text') return only.text;
  let out = '';
  // Each piece added is charged as it is added (the string is only a rope of them until it is read).
  const add = (s: string): void => {
    spendBytes(stringBytes(s), 'this string template');
    out += s;
  };
  for (const p of parts) {
    switch (p.kind) {
      case 'text': add(p.text); break;
      case 'interp': { const v = evaluate(p.expr, scope); add(at(fullRange(p.expr), () => toStr(v, 'the interpolated value'))); break; }
      case 'if': add(toStr(template(at(fullRange(p.cond), () => toBool(evaluate(p.cond, scope), 'the %{if} condition')) ? p.then : p.else, scope, pos))); break;
      case 'for': {
        const coll = evaluate(p.coll, scope);
        for (const [k, v] of entries(coll, fullRange(p.coll))) add(toStr(template(p.body, scope.child({ [p.valueVar]: v, ...(p.keyVar ? { [p.keyVar]: k } : {}) }), pos)));
        break;
      }
    }
  }
  return out;
}

function entries(coll: Value, pos: Range): [Value, Value][] {
  if (Array.isArray(coll)) return coll.map((v, i) => [i, v]);
  if (isObject(coll)) return Object.keys(coll).sort().map((k) => [k, coll[k] ?? null]);
  throw new BakeFileError(pos, `cannot iterate over a ${typeName(coll)}`);
}

function forExpr(e: Extract<Expr, { kind: 'for' }>, scope: Scope): Value {
  const coll = evaluate(e.coll, scope);
  const isObjectResult = e.keyExpr !== undefined;
  const list: Value[] = [];
  const obj: { [k: string]: Value } = {};
  for (const [k, v] of entries(coll, fullRange(e.coll))) {
    const s = scope.child({ [e.valueVar]: v, ...(e.keyVar ? { [e.keyVar]: k } : {}) });
    if (e.cond && !at(fullRange(e.cond as Expr), () => toBool(evaluate(e.cond as Expr, s), 'the for condition'))) continue;
    spendBytes(isObjectResult ? mapBytes(1) : listBytes(1), 'this for expression');
    const value = evaluate(e.valueExpr, s);
    if (!isObjectResult) { list.push(value); continue; }
    const key = at(fullRange(e), () => toStr(evaluate(e.keyExpr as Expr, s), 'the for key'));
    if (e.isGrouped && Object.hasOwn(obj, key)) (obj[key] as Value[]).push(value);
    else if (e.isGrouped) setKey(obj, key, [value]);
    else if (Object.hasOwn(obj, key)) throw new BakeFileError(fullRange(e), `duplicate key ${JSON.stringify(key)} in the for expression`, 'add ... after the value to group them');
    else setKey(obj, key, value);
  }
  return isObjectResult ? obj : list;
}

function binary(op: string, l: Expr, r: Expr, scope: Scope, pos: Range): Value {
  // && and || evaluate both sides in HCL (no short circuit), but an error on the unused side is rare; we do as HCL.
  const a = evaluate(l, scope);
  const b = evaluate(r, scope);
  return at(pos, () => {
    switch (op) {
      case '==': return equalSpending(a, b);
      case '!=': return !equalSpending(a, b);
      case '&&': return toBool(a, 'the left of &&') && toBool(b, 'the right of &&');
      case '||': return toBool(a, 'the left of ||') || toBool(b, 'the right of ||');
      case '>': return toNum(a) > toNum(b);
      case '>=': return toNum(a) >= toNum(b);
      case '<': return toNum(a) < toNum(b);
      case '<=': return toNum(a) <= toNum(b);
      case '+': return toNum(a, 'the left of +') + toNum(b, 'the right of +');
      case '-': return toNum(a) - toNum(b);
      case '*': return toNum(a) * toNum(b);
      case '/': return toNum(a) / toNum(b);
      case '%': return toNum(a) % toNum(b);
      default: throw new ValueError(`unknown operator ${op}`);
    }
  });
}

function call(e: Extract<Expr, { kind: 'call' }>, scope: Scope): Value {
  // try() and can() take their arguments unevaluated: an argument's error is their answer.
  if (e.name === 'try' || e.name === 'can') {
    for (const arg of e.args) {
      try {
        const v = evaluate(arg, scope);
        return e.name === 'can' ? true : v;
      } catch (err) {
        if (!(err instanceof BakeFileError) || err instanceof BakeLimitError) throw err;
      }
    }
    if (e.name === 'can') return false;
    throw new BakeFileError(fullRange(e), 'no argument of try() could be evaluated');
  }
  // convert(value, type) takes a type expression (hcl typeexpr.ConvertFunc), which is not a value.
  if (e.name === 'convert' && !scope.functions.has('convert')) {
    const [valueExpr, typeExpr] = e.args;
    if (!valueExpr || !typeExpr || e.args.length !== 2) throw new BakeFileError(startRange(e), `Error in function call; Call to function "convert" failed: convert() takes 2 arguments, got ${e.args.length}.`);
    const value = evaluate(valueExpr, scope);
    const type = parseVarType(typeExpr);
    try {
      return convertValue(value, type);
    } catch (err) {
      if (err instanceof ValueError) throw new BakeFileError(fullRange(valueExpr), `Invalid function argument; Invalid value for "value" parameter: ${err.message}.`);
      throw err;
    }
  }
  // hclsyntax looks the function up before it evaluates the arguments.
  if (!scope.functions.has(e.name) && !isStdlibFunction(e.name)) throw unknownFunction(e.name, e.pos, [...FUNCTION_NAMES, ...scope.functions.keys()]);
  let args = e.args.map((a) => evaluate(a, scope));
  if (e.expandFinal) {
    const last = args.pop() ?? null;
    args = [...args, ...at(fullRange(e), () => toList(last, `the last argument of ${e.name}(…)`))];
  }
  const user = scope.functions.get(e.name);
  if (user) {
    const fixed = user.params.length;
    if (args.length < fixed || (args.length > fixed && !user.variadic)) throw new BakeFileError(fullRange(e), `function ${e.name} takes ${fixed} argument${fixed === 1 ? '' : 's'}, got ${args.length}`);
    const vars: Record<string, Value> = {};
    user.params.forEach((p, i) => setKey(vars, p, args[i] ?? null));
    if (user.variadic) setKey(vars, user.variadic, args.slice(fixed));
    // A user function sees its parameters and the file's variables, not the caller's for/matrix bindings.
    let root = scope;
    while (root.parent) root = root.parent;
    // A function that calls itself (HCL has no way to end such a call) would overflow the stack.
    if (userDepth >= MAX_USER_DEPTH) throw new BakeFileError(fullRange(e), `function ${e.name} calls functions more than ${MAX_USER_DEPTH} deep (does it call itself?)`);
    userDepth++;
    try {
      return evaluate(user.result, root.child(vars));
    } finally {
      userDepth--;
    }
  }
  try {
    // A builtin's result is charged for itself (a new string, or a new list or map of existing values); one that
    // makes more (setproduct's lists, jsondecode's tree) or could make too much before it returns (format's padding,
    // join's text) spends as it goes, and that is not charged again.
    const before = bytesSpent();
    spendOnArguments(e.name, args, TOUCHES_ONLY.has(e.name) || (e.name === 'length' && typeof args[0] !== 'string'));
    const result = callFunction(e.name, args, e.pos);
    if (!RETURNS_ITS_ARGUMENT.has(e.name)) spendBytes(Math.max(0, shallowBytes(result) - (bytesSpent() - before)), `${e.name}()`);
    return result;
  } catch (err) {
    if (err instanceof BudgetExceeded) throw new BakeLimitError(startRange(e), `Error in function call; Call to function ${JSON.stringify(e.name)} failed: ${err.message}.`, err.hint);
    // What a builtin's own machinery throws for an argument (a RangeError from a negative or huge count) is the
    // bake file's error, not tsbuild's; hclsyntax reports a function's error at its name and "(".
    if (err instanceof ValueError || err instanceof SyntaxError || err instanceof RangeError || err instanceof TypeError) {
      const message = err.message.replace(new RegExp(`^${e.name}(\\(\\))?: `), '');
      throw new BakeFileError(startRange(e), `Error in function call; Call to function ${JSON.stringify(e.name)} failed: ${message}.`, err instanceof ValueError ? err.hint : undefined);
    }
    throw err;
  }
}

/** The builtins whose result is one of their arguments or a part of one, which makes nothing new. */
const RETURNS_ITS_ARGUMENT = new Set(['coalesce', 'coalescelist', 'element', 'lookup']);

/** The builtins that read one element or entry of what they are given (length: of a list or map; a string is counted). */
const TOUCHES_ONLY = new Set([...RETURNS_ITS_ARGUMENT, 'hasindex']);

/** How deep user functions may call each other; evaluation is synchronous, so one counter serves. */
const MAX_USER_DEPTH = 64;
let userDepth = 0;

export { toStr, toList, toMap, toBool, toNum };
