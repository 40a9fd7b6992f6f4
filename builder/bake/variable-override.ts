import { csvFields, CsvError } from '../../common/index.js';
import { goBool } from './target.js';
import { checkJsonDepth, setKey, ValueError, type Value } from './value.js';
import { convertValue, friendlyName, isPrimitive, type VarType } from './variable-type.js';

// A variable's value from the environment (or --var), read as buildx's resolveValue reads it
// (bake/hclparser/hclparser.go): by the declared type if there is one, else by the default's type. A typed
// variable also reads NAME_JSON, as JSON of its type, in preference to NAME (valueHasOverride); a list, set,
// tuple or map of primitives reads NAME as CSV (valueFromCSV, a map's entries KEY:VALUE); a primitive as Go's
// strconv reads it. Errors are buildx's words (ValueError; the caller places them).

/** The suffix of the variable that carries a typed variable's value as JSON. */
export const JSON_SUFFIX = '_JSON';

/** The override of a variable: its text, and whether it is NAME_JSON's. */
export interface Override { text: string; isJson: boolean }

/**
 * valueHasOverride: NAME, or NAME_JSON when NAME is unset or the variable is typed (favorJSON), unless NAME_JSON is
 * itself a variable of the files or a built-in.
 */
export function findOverride(name: string, isTyped: boolean, lookup: (n: string) => string | undefined, isDeclared: (n: string) => boolean): Override | undefined {
  const plain = lookup(name);
  if (plain === undefined || isTyped) {
    const jsonName = name + JSON_SUFFIX;
    const json = isDeclared(jsonName) ? undefined : lookup(jsonName);
    if (json !== undefined) return { text: json, isJson: true };
  }
  return plain === undefined ? undefined : { text: plain, isJson: false };
}

/** convertPrimitive: Go's strconv for bool and number (NaN and infinities refused), the text for a string. */
export function convertPrimitive(name: string, text: string, t: VarType): Value {
  switch (t.kind) {
    case 'string': return text;
    case 'bool':
      try {
        return goBool(text);
      } catch {
        throw new ValueError(`failed to parse ${name} as bool: strconv.ParseBool: parsing ${JSON.stringify(text)}: invalid syntax`);
      }
    case 'number': {
      // strconv.ParseFloat's decimal syntax (it also reads "inf" and "nan", which buildx then refuses).
      if (/^[+-]?(inf|infinity|nan)$/i.test(text)) throw new ValueError(`failed to parse ${name} as number: invalid number value`);
      if (!/^[+-]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text) || text.includes('_')) throw new ValueError(`failed to parse ${name} as number: strconv.ParseFloat: parsing ${JSON.stringify(text)}: invalid syntax`);
      const n = Number(text);
      if (!Number.isFinite(n)) throw new ValueError(`failed to parse ${name} as number: strconv.ParseFloat: parsing ${JSON.stringify(text)}: value out of range`);
      return n;
    }
    default: throw new ValueError(`${name} of type ${friendlyName(t)} is not a primitive`);
  }
}

/** csvvalue.Fields, whose empty line is io.EOF. */
function fields(text: string, comma: string, what: string): string[] {
  try {
    if (text === '') throw new ValueError('EOF');
    return csvFields(text, comma);
  } catch (err) {
    if (err instanceof ValueError || err instanceof CsvError) throw new ValueError(`failed to parse ${what} as CSV: ${err.message}`);
    throw err;
  }
}

/** valueFromCSV: a list, set, tuple or map of primitives from CSV text. */
function valueFromCsv(name: string, text: string, t: VarType): Value {
  const parts = fields(text, ',', text);
  const unsupported = (): ValueError => new ValueError(`unsupported type ${friendlyName(t)} for CSV specification`);
  const element = (f: string, et: VarType, noun: string): Value => {
    try {
      return convertPrimitive(name, f, et);
    } catch (err) {
      if (err instanceof ValueError) throw new ValueError(`failed to parse ${noun} ${friendlyName(t)}: ${err.message}`);
      throw err;
    }
  };
  switch (t.kind) {
    case 'list': case 'set': {
      if (!isPrimitive(t.element)) throw unsupported();
      return convertValue(parts.map((f) => element(f, t.element, 'element of type')), t);
    }
    case 'tuple': {
      if (t.elements.length !== parts.length) throw new ValueError(`${friendlyName(t)} expects ${t.elements.length} elements but only ${parts.length} provided`);
      return parts.map((f, i) => {
        const et = t.elements[i] ?? { kind: 'any' };
        if (!isPrimitive(et)) throw unsupported();
        return element(f, et, 'element of type');
      });
    }
    case 'map': {
      if (!isPrimitive(t.element)) throw unsupported();
      const out: { [k: string]: Value } = {};
      for (const f of parts) {
        let kv: string[];
        try {
          kv = fields(f, ':', f);
        } catch (err) {
          if (err instanceof ValueError) throw new ValueError(`${err.message.replace(/ as CSV: /, ` as k/v for variable ${name}: `)}`);
          throw err;
        }
        if (kv.length !== 2) throw new ValueError(`expected one k/v pair but got ${kv.length} pieces from ${f}`);
        setKey(out, kv[0] ?? '', element(kv[1] ?? '', t.element, 'element from type'));
      }
      return convertValue(out, t);
    }
    default: throw unsupported();
  }
}

const isCsvType = (t: VarType): boolean => t.kind === 'list' || t.kind === 'set' || t.kind === 'tuple' || t.kind === 'map';

/**
 * The value of variable `name` given `override`: `type` is the declared type (undefined when none); `fallback` is
 * the default's value, which types an untyped variable (undefined when there is no default).
 */
export function overrideValue(name: string, override: Override, type: VarType | undefined, fallback: Value | undefined): Value {
  const { text } = override;
  if (type && override.isJson) {
    let parsed: unknown;
    try {
      checkJsonDepth(text);
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ValueError(`failed to convert variable ${name} from JSON: ${(err as Error).message}`);
    }
    try {
      return convertValue(parsed as Value, type);
    } catch (err) {
      if (err instanceof ValueError) throw new ValueError(`failed to convert variable ${name} from JSON: ${err.message}`);
      throw err;
    }
  }
  if (type && isCsvType(type)) {
    try {
      return valueFromCsv(name, text, type);
    } catch (err) {
      if (err instanceof ValueError) throw new ValueError(`failed to convert variable ${name} from CSV: ${err.message}`);
      throw err;
    }
  }
  if (type && isPrimitive(type)) return convertPrimitive(name, text, type);
  // An object, or `any`: there is no text form to read (an object only from NAME_JSON).
  if (type) throw new ValueError(`unsupported type ${friendlyName(type)} for variable ${name}`);
  if (fallback === undefined || fallback === null) return text;
  if (typeof fallback !== 'object') return convertPrimitive(name, text, { kind: typeof fallback === 'boolean' ? 'bool' : typeof fallback === 'number' ? 'number' : 'string' });
  throw new ValueError(`unsupported type ${Array.isArray(fallback) ? 'tuple' : 'object'} for variable ${name}`);
}
