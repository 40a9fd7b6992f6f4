import { editDistance } from '../../frontend/index.js';
import type { Expr, Pos } from './hcl-ast.js';
import { BakeFileError, rangeOf, spanAt, type Range } from './errors.js';
import { isObject, typeName, type Value } from './value.js';

// The HCL diagnostics buildx prints for the mistakes bake files most often hold, in hcl's words (`Summary; Detail`,
// hcl.Diagnostic.Error) at hcl's ranges: an unknown function or variable (hclsyntax FunctionCallExpr.Value,
// hcl.Traversal.TraverseAbs) and a value of the wrong type for a target's attribute (buildx's gohcl
// DecodeExpression, with go-cty's convert.MismatchMessage).

/** hclsyntax's nameSuggestion: a candidate less than 3 edits away (the first of them in name order). */
export function nameSuggestion(given: string, candidates: Iterable<string>): string | undefined {
  return [...candidates].sort().find((c) => editDistance(given, c) < 3);
}

const didYouMean = (s: string | undefined): string => (s === undefined ? '' : ` Did you mean ${JSON.stringify(s)}?`);

/** `Call to unknown function` at the function's name. */
export function unknownFunction(name: string, pos: Pos, available: Iterable<string>): BakeFileError {
  return new BakeFileError(spanAt(pos, name.length), `Call to unknown function; There is no function named ${JSON.stringify(name)}.${didYouMean(nameSuggestion(name, available))}`,
    'see https://docs.docker.com/build/bake/stdlib/ for the functions bake files can call, or declare it: function "NAME" { params = […] result = … }');
}

/** `Unknown variable` at the variable's name. */
export function unknownVariable(name: string, pos: Pos, available: Iterable<string>): BakeFileError {
  return new BakeFileError(spanAt(pos, name.length), `Unknown variable; There is no variable named ${JSON.stringify(name)}.${didYouMean(nameSuggestion(name, available))}`,
    'declare it with a variable block: variable "NAME" { default = "…" }');
}

/** The types a target's attributes decode to, by go-cty's friendly names. */
export type AttributeType = 'string' | 'bool' | 'list of string' | 'map of string';

/**
 * go-cty's conversion error for `v` as `want` (convert.MismatchMessage, and the primitive conversions' own value
 * errors), or undefined when `v` converts. A list or map holding a null converts; the attribute drops it.
 */
export function mismatchMessage(v: Value, want: AttributeType): string | undefined {
  if (v === null) return undefined;
  const have = typeName(v);
  const isPrimitive = typeof v !== 'object';
  switch (want) {
    case 'string':
      return isPrimitive ? undefined : `string required, but have ${have}`;
    case 'bool':
      if (typeof v === 'boolean') return undefined;
      if (typeof v === 'string') {
        if (['true', 'false', '1', '0'].includes(v)) return undefined;
        const lower = v.toLowerCase();
        return lower === 'true' || lower === 'false' ? `a bool is required; to convert from string, use lowercase "${lower}"` : 'a bool is required';
      }
      return `bool required, but have ${have}`;
    case 'list of string': {
      if (isPrimitive) return `list of string required, but have ${have}`;
      if (!Array.isArray(v)) return 'list of string required';
      const i = v.findIndex((x) => mismatchMessage(x, 'string') !== undefined);
      return i < 0 ? undefined : `element ${i}: ${mismatchMessage(v[i] ?? null, 'string') ?? ''}`;
    }
    case 'map of string': {
      if (isPrimitive) return `map of string required, but have ${have}`;
      if (!isObject(v)) return 'map of string required';
      const k = Object.keys(v).sort().find((x) => mismatchMessage(v[x] ?? null, 'string') !== undefined);
      return k === undefined ? undefined : `element ${JSON.stringify(k)}: ${mismatchMessage(v[k] ?? null, 'string') ?? ''}`;
    }
  }
}

/** `Unsuitable value type` at the start of the attribute's expression, as gohcl reports a value it cannot decode. */
export function unsuitableValue(expr: Expr, detail: string, hint?: string): BakeFileError {
  return new BakeFileError(startRange(expr), `Unsuitable value type; Unsuitable value: ${detail}`, hint);
}

/** The expression's range from its leftmost character (a traversal or an operator starts at its first operand). */
export function fullRange(e: Expr): Range {
  let first = e;
  for (;;) {
    if (first.kind === 'getattr' || first.kind === 'index' || first.kind === 'splat') first = first.object;
    else if (first.kind === 'binary') first = first.left;
    else if (first.kind === 'conditional') first = first.cond;
    else break;
  }
  return { ...first.pos, endLine: e.end.line, endColumn: e.end.column };
}

/** hclsyntax's StartRange: the opening bracket of a list, map or for; a call's name and "("; a string's first part. */
export function startRange(e: Expr): Range {
  switch (e.kind) {
    case 'tuple': case 'object': case 'for': case 'index': case 'unary': return spanAt(e.pos, 1);
    case 'call': return spanAt(e.pos, e.name.length + 1);
    case 'conditional': return startRange(e.cond);
    case 'binary': return startRange(e.left);
    case 'template': {
      const [first] = e.parts;
      // A template that is one interpolation is hcl's TemplateWrapExpr: its whole range.
      if (first === undefined || e.parts.length === 1 && first.kind === 'interp') return rangeOf(e);
      if (first.kind === 'interp') return startRange(first.expr);
      if (first.kind === 'text') return spanAt({ ...e.pos, column: e.pos.column + 1 }, first.text.split('\n')[0]?.length ?? 0);
      return rangeOf(e);
    }
    default: return fullRange(e);
  }
}
