/**
 * Values as a Go text/template sees them, so a template prints what it would print over buildx's Go types:
 * - `undefined`: the invalid value (a missing map key), printed `<no value>`;
 * - `null`: a nil interface (JSON null inside an `any`), printed `<nil>`;
 * - `bigint`: a Go integer (a typed `int`/`int64` field, a number literal, `len`), `number`: a float64 (any JSON
 *   number decoded into `any`), printed with `%g` as fmt does;
 * - arrays are slices, {@link GoMap} a map (printed and marshalled with sorted keys), {@link GoStruct} a struct with
 *   its Go field names, JSON names and `omitempty`, {@link GoNil} a typed nil slice/map/pointer, {@link GoTime} a
 *   `time.Time`, {@link GoDuration} a `time.Duration`.
 * A struct field may be lazy (a promise-returning getter): buildx's `.Provenance`/`.SBOM` methods, and `.Image`,
 * which is only fetched when a template reads it.
 */
import { goQuote } from '../../common/index.js';
export type GoValue = undefined | null | string | number | bigint | boolean | GoValue[] | GoMap | GoStruct | GoNil | GoTime | GoDuration;

/** A Go map with string keys. */
export class GoMap {
  /** `zero` is what `index` returns for a missing key: the element type's zero value (undefined for `any`, whose nil
   * interface a pipeline turns into the invalid value). */
  constructor(readonly entries: ReadonlyMap<string, GoValue>, readonly zero: GoValue = undefined) {}
  /** Keys in Go's order for printing and marshalling: sorted byte-wise. */
  sortedKeys(): string[] {
    return [...this.entries.keys()].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  }
}

/** One field of a {@link GoStruct}; `json` undefined means the encoder never writes it (a method). */
export interface GoField {
  name: string;
  json?: string;
  omitEmpty?: boolean;
  value: GoValue | (() => Promise<GoValue>);
}

/** A Go struct value: fields in declaration order, reached by their exact Go names. */
export class GoStruct {
  constructor(readonly typeName: string, readonly fields: readonly GoField[]) {}
  field(name: string): GoField | undefined {
    return this.fields.find((f) => f.name === name);
  }
}

/** A typed nil: a nil slice prints `[]`, a nil map `map[]`, a nil pointer `<nil>`; all marshal as `null`. */
export class GoNil {
  constructor(readonly kind: 'slice' | 'map' | 'pointer', readonly typeName: string = kind) {}
}

/** A `time.Time` parsed from RFC 3339 text, as encoding/json decodes it. */
export class GoTime {
  readonly #seconds: string;     // "2006-01-02T15:04:05"
  readonly #fraction: string;    // digits after the point, trailing zeros removed
  readonly #offsetMinutes: number;
  constructor(text: string) {
    const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/.exec(text);
    if (!m) throw new Error(`parsing time ${JSON.stringify(text)}: not RFC 3339`);
    this.#seconds = `${m[1] ?? ''}T${m[2] ?? ''}`;
    this.#fraction = (m[3] ?? '').replace(/0+$/, '');
    this.#offsetMinutes = m[4] !== undefined ? 0 : (m[5] === '-' ? -1 : 1) * (Number(m[6]) * 60 + Number(m[7]));
  }
  /** time.RFC3339Nano, what MarshalJSON writes: trailing fraction zeros dropped, a zero offset as `Z`. */
  rfc3339Nano(): string {
    return `${this.#seconds}${this.#fraction ? `.${this.#fraction}` : ''}${this.#offset(':') || 'Z'}`;
  }
  /** Time.String: `2006-01-02 15:04:05.999999999 -0700 MST`; a zero offset is UTC, another a zone without a name. */
  toGoString(): string {
    const offset = this.#offset('') || '+0000';
    const zone = this.#offsetMinutes === 0 ? 'UTC' : offset;
    return `${this.#seconds.replace('T', ' ')}${this.#fraction ? `.${this.#fraction}` : ''} ${offset} ${zone}`;
  }
  #offset(sep: string): string {
    if (this.#offsetMinutes === 0) return '';
    const abs = Math.abs(this.#offsetMinutes);
    return `${this.#offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${sep}${String(abs % 60).padStart(2, '0')}`;
  }
}

/**
 * A `time.Duration` (int64 nanoseconds): a template prints it as Duration.String does (`1.5s`, `2m3.004s`, `150ms`),
 * encoding/json writes the integer, and `eq`/`lt` compare it with integers as text/template compares int kinds.
 */
export class GoDuration {
  constructor(readonly nanoseconds: bigint) {}
  /** Go's Duration.String: `0s`; under a second in ns, µs or ms; else `[h]h[m]m` and seconds, fractions without trailing zeros. */
  toGoString(): string {
    const d = this.nanoseconds;
    const abs = d < 0n ? -d : d;
    const sign = d < 0n ? '-' : '';
    const frac = (v: bigint, unit: bigint): string => {
      const f = (v % unit).toString().padStart(unit.toString().length - 1, '0').replace(/0+$/, '');
      return `${v / unit}${f ? `.${f}` : ''}`;
    };
    if (abs === 0n) return '0s';
    if (abs < 1_000n) return `${sign}${abs}ns`;
    if (abs < 1_000_000n) return `${sign}${frac(abs, 1_000n)}µs`;
    if (abs < 1_000_000_000n) return `${sign}${frac(abs, 1_000_000n)}ms`;
    const hours = abs / 3_600_000_000_000n;
    const minutes = (abs / 60_000_000_000n) % 60n;
    const seconds = frac(abs % 60_000_000_000n, 1_000_000_000n);
    return `${sign}${hours > 0n ? `${hours}h` : ''}${hours > 0n || minutes > 0n ? `${minutes}m` : ''}${seconds}s`;
  }
}

/** A JSON document decoded into Go's `any`: objects become map[string]interface{}, numbers float64. */
export function fromJsonAny(value: unknown): GoValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(fromJsonAny);
  if (typeof value === 'object') return new GoMap(new Map(Object.entries(value).map(([k, v]) => [k, fromJsonAny(v)])));
  throw new Error(`not a JSON value: ${typeof value}`);
}

/** Go's reflect-ish type name, for error messages. */
export function goTypeName(value: GoValue): string {
  if (value === undefined) return '<invalid>';
  if (value === null) return 'interface {}';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'float64';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return '[]interface {}';
  if (value instanceof GoMap) return 'map[string]interface {}';
  if (value instanceof GoStruct) return value.typeName;
  if (value instanceof GoTime) return 'time.Time';
  if (value instanceof GoDuration) return 'time.Duration';
  return value.typeName;
}

/** Go's text/template truth: false, zero numbers, empty strings/slices/maps and nil are false; structs are true. */
export function isTrue(value: GoValue): boolean {
  if (value === undefined || value === null || value instanceof GoNil) return false;
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'bigint') return value !== 0n;
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof GoMap) return value.entries.size > 0;
  if (value instanceof GoDuration) return value.nanoseconds !== 0n;
  return true;
}

/** fmt's `%v` of a float64, strconv's shortest `%g`: an exponent (two digits at least) below 1e-4 and from 1e6. */
export function formatFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mantissa = '', expText = '0'] = n.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);   // between 1e-4 and 1e6 ES prints the same shortest digits without an exponent
}

/** fmt's `%v`: strings bare, slices `[a b]`, maps `map[k:v]` with sorted keys, structs `{a b}`, nil `<nil>`. */
export function formatValue(value: GoValue): string {
  if (value === undefined) return '<no value>';
  if (value === null) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatFloat(value);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => formatValue(v)).join(' ')}]`;
  if (value instanceof GoMap) return `map[${value.sortedKeys().map((k) => `${k}:${formatValue(value.entries.get(k))}`).join(' ')}]`;
  if (value instanceof GoTime || value instanceof GoDuration) return value.toGoString();
  if (value instanceof GoNil) return value.kind === 'slice' ? '[]' : value.kind === 'map' ? 'map[]' : '<nil>';
  // Lazy fields print as <nil>: Go would print their pointer; a template that wants them names them.
  const fields = value.fields.filter((f) => f.json !== undefined || typeof f.value !== 'function');
  return `{${fields.map((f) => (typeof f.value === 'function' ? '<nil>' : formatValue(f.value))).join(' ')}}`;
}

/** Resolves every lazy field a marshal will write (not methods: encoding/json never calls them). */
export async function materialize(value: GoValue): Promise<GoValue> {
  if (Array.isArray(value)) return await Promise.all(value.map(materialize));
  if (value instanceof GoMap) {
    const out = new Map<string, GoValue>();
    for (const [k, v] of value.entries) out.set(k, await materialize(v));
    return new GoMap(out, value.zero);
  }
  if (!(value instanceof GoStruct)) return value;
  const fields: GoField[] = [];
  for (const f of value.fields) {
    if (f.json === undefined) continue;
    fields.push({ ...f, value: await materialize(typeof f.value === 'function' ? await f.value() : f.value) });
  }
  return new GoStruct(value.typeName, fields);
}

function isEmpty(value: GoValue): boolean {
  if (value === undefined || value === null || value instanceof GoNil) return true;
  if (value === '' || value === 0 || value === 0n || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (value instanceof GoMap) return value.entries.size === 0;
  if (value instanceof GoDuration) return value.nanoseconds === 0n;
  return false;
}


/** json.MarshalIndent(v, "", "  ") of a materialized value. */
export function marshalIndent(value: GoValue, indent = ''): string {
  const next = `${indent}  `;
  if (value === undefined || value === null || value instanceof GoNil) return 'null';
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`json: unsupported value: ${formatFloat(value)}`);
    return String(value);   // ES number-to-string is Go's float64 encoding: exponents below 1e-6 and from 1e21
  }
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof GoTime) return goQuote(value.rfc3339Nano());
  if (value instanceof GoDuration) return String(value.nanoseconds);
  const block = (open: string, close: string, items: string[]): string =>
    items.length === 0 ? `${open}${close}` : `${open}\n${items.map((i) => `${next}${i}`).join(',\n')}\n${indent}${close}`;
  if (Array.isArray(value)) return block('[', ']', value.map((v) => marshalIndent(v, next)));
  if (value instanceof GoMap) return block('{', '}', value.sortedKeys().map((k) => `${goQuote(k)}: ${marshalIndent(value.entries.get(k), next)}`));
  const items: string[] = [];
  for (const f of value.fields) {
    if (f.json === undefined) continue;
    if (typeof f.value === 'function') throw new Error(`field ${f.name} was not materialized before marshalling`);
    if (f.omitEmpty === true && isEmpty(f.value)) continue;
    items.push(`${goQuote(f.json)}: ${marshalIndent(f.value, next)}`);
  }
  return block('{', '}', items);
}
