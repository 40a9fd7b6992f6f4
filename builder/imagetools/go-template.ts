import { TemplateError, parseTemplate, templateError, type Arg, type Command, type Node, type Pipe, type Template } from './go-template-parse.js';
import { GoDuration, GoMap, GoNil, GoStruct, formatFloat, formatValue, goTypeName, isTrue, marshalIndent, materialize, type GoValue } from './go-value.js';

export { TemplateError, parseTemplate, type Template } from './go-template-parse.js';

type ControlNode = Exclude<Node, { kind: 'text' | 'action' }>;

interface Scope { vars: { name: string; value: GoValue }[] }

/** An argument that was not given to a function (Go's "final" value of a pipeline). */
const MISSING = Symbol('missing');

/**
 * Runs a parsed template over `data` as Go's text/template does with buildx's one extra function, `json`
 * (json.MarshalIndent with two spaces). Missing map keys print `<no value>`; errors name the template position and
 * carry what was written before them (TemplateError.output).
 */
export async function executeTemplate(template: Template, data: GoValue): Promise<string> {
  const out: string[] = [];
  try {
    await new Run(template, data, out).list(template.root, data, { vars: [{ name: '$', value: data }] });
  } catch (err) {
    if (err instanceof TemplateError) err.output = out.join('');
    throw err;
  }
  return out.join('');
}

/** Parses and runs a template in one step. */
export async function renderTemplate(source: string, data: GoValue): Promise<string> {
  return await executeTemplate(parseTemplate(source), data);
}

class Run {
  constructor(readonly template: Template, readonly data: GoValue, readonly out: string[]) {}

  fail(pos: number, message: string): never {
    throw templateError(this.template.source, pos, message);
  }

  async list(nodes: Node[], dot: GoValue, scope: Scope): Promise<void> {
    for (const node of nodes) await this.node(node, dot, scope);
  }

  async node(node: Node, dot: GoValue, scope: Scope): Promise<void> {
    const mark = scope.vars.length;
    try {
      switch (node.kind) {
        case 'text': this.out.push(node.text); return;
        case 'action': {
          const value = await this.pipe(node.pipe, dot, scope);
          // A nil interface becomes the invalid value when a pipeline ends (text/template's evalPipeline).
          if (node.pipe.decl.length === 0) this.out.push(value === null ? '<no value>' : formatValue(value));
          return;
        }
        case 'if':
        case 'with': {
          const value = await this.pipe(node.pipe, dot, scope);
          if (isTrue(value)) await this.list(node.list, node.kind === 'with' ? value : dot, scope);
          else if (node.elseList) await this.list(node.elseList, dot, scope);
          return;
        }
        case 'range': return await this.range(node, dot, scope);
      }
    } finally {
      // Variables live until the end of the control structure that declared them; an action's stay in its list.
      if (node.kind !== 'action') scope.vars.length = mark;
    }
  }

  async range(node: ControlNode, dot: GoValue, scope: Scope): Promise<void> {
    const pipe: Pipe = { ...node.pipe, decl: [] };
    const value = await this.pipe(pipe, dot, scope);
    let items: [GoValue, GoValue][];
    if (Array.isArray(value)) items = value.map((v, i) => [BigInt(i), v]);
    else if (value instanceof GoMap) items = value.sortedKeys().map((key) => [key, value.entries.get(key)]);
    else if (value === undefined || value === null || value instanceof GoNil) items = [];
    else if (typeof value === 'bigint') items = Array.from({ length: Number(value) }, (_, i) => [BigInt(i), BigInt(i)]);
    else this.fail(node.pos, `range can't iterate over ${formatValue(value)}`);
    if (items.length === 0) {
      if (node.elseList) await this.list(node.elseList, dot, scope);
      return;
    }
    const mark = scope.vars.length;
    for (const [key, item] of items) {
      scope.vars.length = mark;
      const [first, second] = node.pipe.decl;
      if (first !== undefined && second === undefined) scope.vars.push({ name: first, value: item });
      if (first !== undefined && second !== undefined) scope.vars.push({ name: first, value: key }, { name: second, value: item });
      await this.list(node.list, item, scope);
    }
  }

  async pipe(pipe: Pipe, dot: GoValue, scope: Scope): Promise<GoValue> {
    let value: GoValue | typeof MISSING = MISSING;
    for (const cmd of pipe.cmds) value = await this.command(cmd, dot, scope, value);
    const result = value === MISSING ? undefined : value;
    if (pipe.isAssign) {
      for (const name of pipe.decl) {
        const found = [...scope.vars].reverse().find((v) => v.name === name);
        if (!found) this.fail(pipe.pos, `undefined variable: ${name}`);
        found.value = result;
      }
    } else {
      for (const name of pipe.decl) scope.vars.push({ name, value: result });
    }
    return result;
  }

  async command(cmd: Command, dot: GoValue, scope: Scope, final: GoValue | typeof MISSING): Promise<GoValue> {
    const [head, ...rest] = cmd.args;
    if (!head) this.fail(cmd.pos, 'empty command');
    if (head.kind === 'function') {
      const args: Arg[] = rest;
      return await this.call(head.name, head.pos, args, dot, scope, final);
    }
    if (rest.length > 0 || final !== MISSING) this.fail(head.pos, `can't give argument to non-function ${argText(head)}`);
    if (head.kind === 'nil') this.fail(head.pos, 'nil is not a command');
    return await this.arg(head, dot, scope);
  }

  async arg(arg: Arg, dot: GoValue, scope: Scope): Promise<GoValue> {
    switch (arg.kind) {
      case 'dot': return dot;
      case 'nil': return null;
      case 'literal': return arg.value;
      case 'field': return await this.fields(dot, arg.names, arg.pos);
      case 'variable': {
        const found = [...scope.vars].reverse().find((v) => v.name === arg.name);
        if (!found) this.fail(arg.pos, `undefined variable "${arg.name}"`);
        return await this.fields(found.value, arg.names, arg.pos);
      }
      case 'pipe': return await this.fields(await this.pipe(arg.pipe, dot, scope), arg.names, arg.pos);
      case 'function': return await this.call(arg.name, arg.pos, [], dot, scope, MISSING);
    }
  }

  /** `.A.B.C` from `receiver`: struct fields by Go name, map keys exactly, as text/template's evalField. */
  async fields(receiver: GoValue, names: string[], pos: number): Promise<GoValue> {
    let value = receiver;
    for (const name of names) {
      if (value === undefined) return undefined;   // a missing key's fields are missing too (missingkey=default)
      if (value instanceof GoStruct) {
        const field = value.field(name);
        if (!field) this.fail(pos, `can't evaluate field ${name} in type ${value.typeName}`);
        value = typeof field.value === 'function' ? await field.value() : field.value;
      } else if (value instanceof GoMap) {
        value = value.entries.get(name);
      } else if (value instanceof GoNil && value.kind === 'map') {
        value = undefined;
      } else if (value === null || value instanceof GoNil) {
        this.fail(pos, `nil pointer evaluating ${goTypeName(value)}.${name}`);
      } else {
        this.fail(pos, `can't evaluate field ${name} in type ${goTypeName(value)}`);
      }
    }
    return value;
  }

  async call(name: string, pos: number, argNodes: Arg[], dot: GoValue, scope: Scope, final: GoValue | typeof MISSING): Promise<GoValue> {
    const evalAll = async (): Promise<GoValue[]> => {
      const values: GoValue[] = [];
      for (const a of argNodes) values.push(await this.arg(a, dot, scope));
      if (final !== MISSING) values.push(final);
      return values;
    };
    const want = (n: number, values: GoValue[]): void => {
      if (values.length !== n) this.fail(pos, `wrong number of args for ${name}: want ${n} got ${values.length}`);
    };
    // and/or evaluate their arguments only as far as needed (Go 1.18 and later).
    if (name === 'and' || name === 'or') {
      const count = argNodes.length + (final !== MISSING ? 1 : 0);
      if (count < 1) this.fail(pos, `wrong number of args for ${name}: want at least 1 got 0`);
      let value: GoValue = undefined;
      for (let i = 0; i < count; i++) {
        const node = argNodes[i];
        value = node ? await this.arg(node, dot, scope) : (final as GoValue);
        if (isTrue(value) === (name === 'or')) return value;
      }
      return value;
    }
    const values = await evalAll();
    switch (name) {
      case 'not': want(1, values); return !isTrue(values[0]);
      case 'len': {
        want(1, values);
        const v = values[0];
        if (typeof v === 'string') return BigInt(Buffer.byteLength(v));
        if (Array.isArray(v)) return BigInt(v.length);
        if (v instanceof GoMap) return BigInt(v.entries.size);
        if (v instanceof GoNil && v.kind !== 'pointer') return 0n;
        return this.fail(pos, `error calling len: len of type ${goTypeName(v)}`);
      }
      case 'index': return this.index(pos, values);
      case 'print': return sprint(values);
      case 'println': return `${values.map(printArg).join(' ')}\n`;
      case 'printf': return this.printf(pos, values);
      case 'json': {
        want(1, values);
        return marshalIndent(await materialize(values[0] ?? null));
      }
      default: return this.compare(name, pos, values);
    }
  }

  index(pos: number, values: GoValue[]): GoValue {
    const [item, ...keys] = values;
    if (values.length === 0) this.fail(pos, 'wrong number of args for index: want at least 1 got 0');
    let value = item;
    for (const key of keys) {
      if (value instanceof GoMap) {
        if (typeof key !== 'string') this.fail(pos, `error calling index: value has type ${goTypeName(key)}; should be string`);
        value = value.entries.has(key) ? value.entries.get(key) : value.zero;
      } else if (Array.isArray(value) || typeof value === 'string') {
        if (typeof key !== 'bigint') this.fail(pos, `error calling index: cannot index slice/array with type ${goTypeName(key)}`);
        if (key < 0n || key >= BigInt(value.length)) this.fail(pos, `error calling index: index out of range: ${key}`);
        value = typeof value === 'string' ? BigInt(Buffer.from(value)[Number(key)] ?? 0) : value[Number(key)];
      } else if (value instanceof GoNil && value.kind === 'map') {
        value = undefined;
      } else {
        this.fail(pos, `error calling index: can't index item of type ${goTypeName(value)}`);
      }
    }
    return value;
  }

  printf(pos: number, values: GoValue[]): string {
    const [format, ...args] = values;
    if (typeof format !== 'string') this.fail(pos, 'printf: the format must be a string');
    let n = 0;
    const out = format.replace(/%([-+# 0]*\d*(?:\.\d+)?)([a-zA-Z%])/g, (all, _flags: string, verb: string) => {
      if (verb === '%') return '%';
      if (n >= args.length) return `%!${verb}(MISSING)`;
      const arg = printArgValue(args[n++]);
      switch (verb) {
        case 's': case 'v': return printArg(arg);
        case 'd': return typeof arg === 'bigint' ? String(arg) : `%!d(${goTypeName(arg)}=${printArg(arg)})`;
        case 'q': return typeof arg === 'string' ? JSON.stringify(arg) : `%!q(${goTypeName(arg)}=${printArg(arg)})`;
        case 't': return typeof arg === 'boolean' ? String(arg) : `%!t(${goTypeName(arg)}=${printArg(arg)})`;
        case 'f': return typeof arg === 'number' ? arg.toFixed(6) : `%!f(${goTypeName(arg)}=${printArg(arg)})`;
        case 'g': return typeof arg === 'number' ? formatFloat(arg) : `%!g(${goTypeName(arg)}=${printArg(arg)})`;
        default: return all;
      }
    });
    return n < args.length ? `${out}%!(EXTRA ${args.slice(n).map((a) => `${goTypeName(a)}=${printArg(a)}`).join(', ')})` : out;
  }

  compare(name: string, pos: number, given: GoValue[]): boolean {
    // A time.Duration is an int64 kind: compared with integers by value (text/template's basicKind).
    const values = given.map((v) => (v instanceof GoDuration ? v.nanoseconds : v));
    const [a, ...rest] = values;
    if (values.length < 2 || (name !== 'eq' && values.length !== 2)) this.fail(pos, `wrong number of args for ${name}: want 2 got ${values.length}`);
    const basic = (v: GoValue): v is string | number | bigint | boolean => ['string', 'number', 'bigint', 'boolean'].includes(typeof v);
    const cmp = (b: GoValue): number => {
      if (!basic(a) || !basic(b)) {
        if ((name === 'eq' || name === 'ne') && (a === null || a === undefined || b === null || b === undefined)) return (a ?? null) === (b ?? null) ? 0 : 1;
        this.fail(pos, `error calling ${name}: invalid type for comparison`);
      }
      if (typeof a !== typeof b) this.fail(pos, `error calling ${name}: incompatible types for comparison`);
      if (typeof a === 'boolean' && name !== 'eq' && name !== 'ne') this.fail(pos, `error calling ${name}: invalid type for comparison`);
      return a === b ? 0 : a < b ? -1 : 1;
    };
    switch (name) {
      case 'eq': return rest.some((b) => cmp(b) === 0);
      case 'ne': return cmp(rest[0]) !== 0;
      case 'lt': return cmp(rest[0]) < 0;
      case 'le': return cmp(rest[0]) <= 0;
      case 'gt': return cmp(rest[0]) > 0;
      case 'ge': return cmp(rest[0]) >= 0;
      default: return this.fail(pos, `function "${name}" not defined`);
    }
  }
}

/** A value handed to a `...any` parameter: the invalid value arrives as a nil interface. */
const printArgValue = (v: GoValue): GoValue => (v === undefined ? null : v);
const printArg = (v: GoValue): string => formatValue(printArgValue(v));

/** fmt.Sprint: a space between two operands when neither is a string. */
function sprint(values: GoValue[]): string {
  let out = '';
  values.forEach((v, i) => {
    if (i > 0 && typeof v !== 'string' && typeof values[i - 1] !== 'string') out += ' ';
    out += printArg(v);
  });
  return out;
}

function argText(arg: Arg): string {
  switch (arg.kind) {
    case 'dot': return '.';
    case 'field': return `.${arg.names.join('.')}`;
    case 'variable': return `${arg.name}${arg.names.map((n) => `.${n}`).join('')}`;
    case 'literal': return arg.text;
    default: return arg.kind;
  }
}

export { GoDuration, GoMap, GoNil, GoStruct, GoTime, fromJsonAny, type GoField, type GoValue } from './go-value.js';
