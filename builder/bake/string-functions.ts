import { bytesLeft, listBytes, spendBytes, stringBytes, treeBytes } from './eval-budget.js';
import { formatNumber, toBool, toNum, toStr, ValueError, type Value } from './value.js';

// The stdlib functions whose text can be much longer than what they are given (go-cty's format, formatlist, indent,
// replace, join, split, jsonencode): each works out how long its result will be and spends that from the evaluation's
// budget (eval-budget.ts) before making it, so `format("%500000000d", 1)` or `indent(1e8, text)` is the bake file's
// error, not half a gigabyte of spaces, or a fatal out-of-memory crash when a for expression asks for it 20 times.

/** Go's fmt refuses a width or precision past this (fmt/print.go tooLarge), as format's numeric verbs go through it. */
const GO_FMT_MAX = 1e6;

/** Go's fmt parsenum on the digits of a width or precision: false where it gives up (the number is too large). */
function goParsenum(digits: string): boolean {
  let n = 0;
  for (const d of digits) {
    if (n > GO_FMT_MAX) return false;
    n = n * 10 + Number(d);
  }
  return true;
}

/** The first `n` characters (code points) of `s`, without making an array of all of them. */
function firstChars(s: string, n: number): string {
  let end = 0;
  for (let count = 0; count < n && end < s.length; count++) end += (s.codePointAt(end) ?? 0) > 0xffff ? 2 : 1;
  return s.slice(0, end);
}

/** go-cty's format: `%d`, `%s`, `%q`, `%v`… with flags, width and precision. */
export function format(spec: string, args: Value[]): string {
  let k = 0;
  return spec.replace(/%([-+ #0]*)(\d*)(?:\.(\d+))?([%sdvqftbxXoeEgG])/g, (_m, flags: string, width: string, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    const v = args[k++] ?? fail('too few arguments for the format');
    // go-cty formats numbers with Go's fmt.Sprintf of the verb alone, and Go reads no width or precision past
    // about 10^7: the verb is then %!(NOVERB) and the number an extra argument.
    if ('dfxXob'.includes(verb) && !(goParsenum(width) && goParsenum(prec ?? ''))) {
      return `%!(NOVERB)%!(EXTRA *big.${verb === 'f' ? 'Float' : 'Int'}=${formatNumber(toNum(v))})`;
    }
    let s: string;
    switch (verb) {
      case 'd': s = formatNumber(Math.trunc(toNum(v))); break;
      case 'f': s = toNum(v).toFixed(prec === undefined ? 6 : Number(prec)); break;
      case 'q': s = JSON.stringify(toStr(v)); break;
      case 't': s = toBool(v) ? 'true' : 'false'; break;
      case 'x': s = Math.trunc(toNum(v)).toString(16); break;
      case 'X': s = Math.trunc(toNum(v)).toString(16).toUpperCase(); break;
      case 'o': s = Math.trunc(toNum(v)).toString(8); break;
      case 'b': s = Math.trunc(toNum(v)).toString(2); break;
      case 'v': s = typeof v === 'object' && v !== null ? jsonEncode(v) : toStr(v); break;
      case 's': s = toStr(v); break;
      default: return fail(`format verb %${verb} is not supported`);
    }
    if (prec !== undefined && verb === 's') s = firstChars(s, Number(prec));
    // cty pads strings itself (formatPadWidth: strings.Repeat), with no bound: the padding is spent first.
    const w = Number(width || 0);
    if (s.length < w) {
      spendBytes(w - s.length, 'format()\'s padding');
      s = flags.includes('-') ? s.padEnd(w) : s.padStart(w, flags.includes('0') ? '0' : ' ');
    }
    return s;
  });
}

/** go-cty's formatlist: format applied element by element of the list arguments. */
export function formatList(spec: string, rest: Value[]): Value[] {
  const n = rest.reduce<number | undefined>((len, v) => (Array.isArray(v) ? v.length : len), undefined);
  if (n === undefined) return [format(spec, rest)];
  spendBytes(listBytes(n), 'formatlist()');
  return Array.from({ length: n }, (_, i) => {
    const s = format(spec, rest.map((v) => (Array.isArray(v) ? (v[i] ?? null) : v)));
    spendBytes(stringBytes(s), 'formatlist()');
    return s;
  });
}

/** How often `search` (not empty) occurs in `s`, without making the pieces. */
function occurrences(s: string, search: string): number {
  let n = 0;
  for (let at = s.indexOf(search); at >= 0; at = s.indexOf(search, at + search.length)) n++;
  return n;
}

/** How many characters (code points) `s` has, without making an array of them. */
export function charCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i += (s.codePointAt(i) ?? 0) > 0xffff ? 2 : 1) n++;
  return n;
}

/** go-cty's indent: every line after the first indented by `spaces`. */
export function indent(spaces: number, s: string): string {
  if (!Number.isInteger(spaces) || spaces < 0) fail(`invalid number of spaces ${formatNumber(spaces)}`);
  spendBytes(occurrences(s, '\n') * spaces + s.length, 'indent()');
  return s.replaceAll('\n', () => `\n${' '.repeat(spaces)}`);
}

/**
 * go-cty's replace, Go's strings.Replace(s, search, replacement, -1): a plain substring replacement (Terraform's
 * /regex/ form is not in buildx's stdlib). An empty `search` matches at every character boundary, as in Go.
 */
export function replace(s: string, search: string, replacement: string): string {
  const matches = search === '' ? charCount(s) + 1 : occurrences(s, search);
  spendBytes(s.length + matches * Math.max(0, replacement.length - search.length), 'replace()');
  if (search !== '') return s.replaceAll(search, () => replacement);
  return s === '' ? replacement : `${replacement}${Array.from(s).join(replacement)}${replacement}`;
}

/** go-cty's join: the lists' elements as strings, `sep` between them. */
export function join(sep: string, lists: Value[][]): string {
  const items = lists.flat().map((v) => toStr(v, 'a list element'));
  spendBytes(items.reduce((n, x) => n + x.length, 0) + sep.length * Math.max(0, items.length - 1), 'join()');
  return items.join(sep);
}

/** go-cty's split; on "" it splits between characters as Go's strings.Split does (never inside a surrogate pair). */
export function split(sep: string, s: string): string[] {
  spendBytes(listBytes(sep === '' ? charCount(s) : occurrences(s, sep) + 1) * 3, 'split()');
  return sep === '' ? Array.from(s) : s.split(sep);
}

/** go-cty's jsonencode; a value that refers to one list many times is that list as many times in the text. */
export function jsonEncode(v: Value): string {
  spendBytes(treeBytes(v, bytesLeft()), 'jsonencode()');
  return JSON.stringify(v);
}

function fail(message: string): never {
  throw new ValueError(message);
}
