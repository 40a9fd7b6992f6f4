import { TsbuildError, type ErrorCode } from '../../common/index.js';

/** An argument of a command: what Go's text/template/parse calls a node in a command. */
export type Arg =
  | { kind: 'dot'; pos: number }
  | { kind: 'field'; pos: number; names: string[] }                    // .A.B
  | { kind: 'variable'; pos: number; name: string; names: string[] }   // $x.A.B; `$` is the data
  | { kind: 'function'; pos: number; name: string }
  | { kind: 'literal'; pos: number; value: string | bigint | number | boolean; text: string }
  | { kind: 'nil'; pos: number }
  | { kind: 'pipe'; pos: number; pipe: Pipe; names: string[] };       // (pipeline).A.B

/** One command of a pipeline: a function and its arguments, or a single value. */
export interface Command { pos: number; args: Arg[] }
/** `$a, $b := cmd | cmd`: declared (or, with isAssign, assigned) variables and the commands. */
export interface Pipe { pos: number; decl: string[]; isAssign: boolean; cmds: Command[] }

/** A node of the template tree. */
export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pos: number; pipe: Pipe }
  | { kind: 'if' | 'with' | 'range'; pos: number; pipe: Pipe; list: Node[]; elseList?: Node[] };

/** A parsed template: its tree and the source, for positions in errors. */
export interface Template { source: string; root: Node[] }

/** The functions a template may call; anything else is refused when parsing, as Go does. */
export const FUNCTIONS = new Set(['and', 'or', 'not', 'len', 'index', 'print', 'printf', 'println', 'json', 'eq', 'ne', 'lt', 'le', 'gt', 'ge']);

/** `line:column` (both from 1) of an offset in the template. */
export function position(source: string, pos: number): string {
  const before = source.slice(0, pos);
  const line = before.split('\n').length;
  return `${line}:${pos - (before.lastIndexOf('\n') + 1) + 1}`;
}

/**
 * A template the user wrote does not parse or fails while it runs, the position named. Exit status 1 for both, as
 * buildx's imagetools inspect returns either error as it comes (util/imagetools/printers.go: Parse, then Execute).
 * `output` is what a failed run wrote first: Go's Execute writes as it goes, and buildx prints that part.
 */
export class TemplateError extends TsbuildError {
  readonly code: ErrorCode = 'TEMPLATE_FAILED';
  output = '';
}

/** The TemplateError at `pos` of `source`. */
export function templateError(source: string, pos: number, message: string): TemplateError {
  return new TemplateError(`--format: template: ${position(source, pos)}: ${message}`,
    'the template is Go text/template syntax as buildx takes it, e.g. \'{{json .Manifest}}\' or \'{{range .Manifest.Manifests}}{{.Digest}} {{end}}\'');
}

type Tok =
  | { t: 'text'; pos: number; text: string }
  | { t: 'open' | 'close' | 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign' | 'comma' | 'space'; pos: number }
  | { t: 'field' | 'variable' | 'ident' | 'dot'; pos: number; text: string }
  | { t: 'literal'; pos: number; value: string | bigint | number | boolean; text: string };

const SPACE = /[ \t\r\n]/;
const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };

function unquote(source: string, pos: number, body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_all, e: string) => {
    if (e.length > 1) return String.fromCodePoint(parseInt(e.slice(1), e[0] === 'x' || e[0] === 'u' || e[0] === 'U' ? 16 : 8) || parseInt(e, 8));
    const c = ESCAPES[e];
    if (c === undefined) throw templateError(source, pos, `unknown escape sequence \\${e} in string`);
    return c;
  });
}

/** The tokens of a template: text, and within `{{ }}` the action's words; `-` trims are applied here. */
function lex(source: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let trimNext = false;
  while (i < source.length) {
    let open = source.indexOf('{{', i);
    if (open < 0) open = source.length;
    let text = source.slice(i, open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    const trimLeft = source.startsWith('{{- ', open) || source.startsWith('{{-\t', open) || source.startsWith('{{-\n', open) || source.startsWith('{{-\r', open);
    if (trimLeft) text = text.replace(/[ \t\r\n]+$/, '');
    if (text) out.push({ t: 'text', pos: i, text });
    if (open >= source.length) break;
    i = open + (trimLeft ? 3 : 2);
    const start = open;
    if (source.startsWith('/*', source.slice(i).search(/\S/) + i)) {
      const end = source.indexOf('*/', i);
      const close = end < 0 ? -1 : source.slice(end + 2).search(/\S/);
      const rest = end < 0 ? '' : source.slice(end + 2 + Math.max(close, 0));
      if (end < 0 || !(rest.startsWith('}}') || rest.startsWith('-}}'))) throw templateError(source, start, 'unclosed comment');
      trimNext = rest.startsWith('-}}');
      i = end + 2 + close + (trimNext ? 3 : 2);
      continue;
    }
    out.push({ t: 'open', pos: start });
    [i, trimNext] = lexAction(source, i, open, out);
  }
  return out;
}

/** Lexes from inside `{{` to past `}}`; returns the offset after it and whether it ended with ` -}}`. */
function lexAction(source: string, start: number, open: number, out: Tok[]): [number, boolean] {
  let i = start;
  const word = (re: RegExp): string => (re.exec(source.slice(i)) ?? [''])[0];
  for (;;) {
    if (i >= source.length) throw templateError(source, open, 'unclosed action');
    const c = source[i] ?? '';
    if (SPACE.test(c)) {
      const spaces = word(/^[ \t\r\n]+/);
      if (source.startsWith('-}}', i + spaces.length)) {
        out.push({ t: 'close', pos: i });
        return [i + spaces.length + 3, true];
      }
      out.push({ t: 'space', pos: i });
      i += spaces.length;
    } else if (source.startsWith('}}', i)) {
      out.push({ t: 'close', pos: i });
      return [i + 2, false];
    } else if (c === '|' || c === '(' || c === ')' || c === ',' || c === '=') {
      out.push({ t: c === '|' ? 'pipe' : c === '(' ? 'lparen' : c === ')' ? 'rparen' : c === ',' ? 'comma' : 'assign', pos: i });
      i++;
    } else if (source.startsWith(':=', i)) {
      out.push({ t: 'declare', pos: i });
      i += 2;
    } else if (c === '"' || c === '`') {
      const m = c === '"' ? /^"(?:[^"\\\n]|\\.)*"/.exec(source.slice(i)) : /^`[^`]*`/.exec(source.slice(i));
      if (!m) throw templateError(source, i, 'unterminated quoted string');
      const value = c === '"' ? unquote(source, i, m[0].slice(1, -1)) : m[0].slice(1, -1);
      out.push({ t: 'literal', pos: i, value, text: m[0] });
      i += m[0].length;
    } else if (c === '.' && /[A-Za-z_]/.test(source[i + 1] ?? '')) {
      const w = word(/^\.[A-Za-z_0-9]+/);
      out.push({ t: 'field', pos: i, text: w.slice(1) });
      i += w.length;
    } else if (/[0-9]/.test(c) || ((c === '-' || c === '+' || c === '.') && /[0-9]/.test(source[i + 1] ?? ''))) {
      const w = word(/^[+-]?(0[xX][0-9a-fA-F_]+|[0-9_]*\.?[0-9_]+(?:[eE][+-]?[0-9]+)?)/);
      const clean = w.replace(/_/g, '');
      const isInt = /^[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(clean);
      const value = isInt ? (clean.startsWith('-') ? -BigInt(clean.slice(1)) : BigInt(clean.replace(/^\+/, ''))) : Number(clean);
      if (/[A-Za-z0-9_.]/.test(source[i + w.length] ?? '')) throw templateError(source, i, `bad number syntax: "${word(/^[^ \t\r\n|)}]+/)}"`);
      out.push({ t: 'literal', pos: i, value, text: w });
      i += w.length;
    } else if (c === '.') {
      out.push({ t: 'dot', pos: i, text: '.' });
      i++;
    } else if (c === '$') {
      const w = word(/^\$[A-Za-z_0-9]*/);
      out.push({ t: 'variable', pos: i, text: w });
      i += w.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const w = word(/^[A-Za-z_0-9]+/);
      if (w === 'true' || w === 'false') out.push({ t: 'literal', pos: i, value: w === 'true', text: w });
      else out.push({ t: 'ident', pos: i, text: w });
      i += w.length;
    } else {
      throw templateError(source, i, `unexpected ${JSON.stringify(c)} in command`);
    }
  }
}

/** Parses a Go text/template (the subset `imagetools inspect --format` supports); errors name the position. */
/** The deepest nesting of pipelines and blocks a template may have (inspect templates use a handful). */
const MAX_DEPTH = 100;

export function parseTemplate(source: string): Template {
  const toks = lex(source);
  let k = 0;
  const peek = (skipSpace = true): Tok | undefined => {
    let j = k;
    while (skipSpace && toks[j]?.t === 'space') j++;
    return toks[j];
  };
  const next = (): Tok => {
    while (toks[k]?.t === 'space') k++;
    const t = toks[k++];
    if (!t) throw templateError(source, source.length, 'unexpected end of template');
    return t;
  };
  const expect = (t: Tok['t'], what: string): Tok => {
    const tok = next();
    if (tok.t !== t) throw templateError(source, tok.pos, `unexpected ${describe(tok)} ${what}`);
    return tok;
  };
  const describe = (tok: Tok): string => (tok.t === 'close' ? '"}}"' : 'text' in tok ? `"${tok.text}"` : `"${tok.t}"`);

  const fieldsAfter = (): string[] => {
    const names: string[] = [];
    for (let t = toks[k]; t?.t === 'field'; t = toks[++k]) names.push(t.text);
    return names;
  };
  const operand = (): Arg | undefined => {
    const tok = peek();
    if (!tok) return undefined;
    switch (tok.t) {
      case 'field': next(); k--; return { kind: 'field', pos: tok.pos, names: fieldsAfter() };
      case 'dot': next(); return { kind: 'dot', pos: tok.pos };
      case 'variable': next(); return { kind: 'variable', pos: tok.pos, name: tok.text, names: fieldsAfter() };
      case 'literal': next(); return { kind: 'literal', pos: tok.pos, value: tok.value, text: tok.text };
      case 'lparen': {
        next();
        const inner = pipeline('parenthesized pipeline', 'rparen');
        return { kind: 'pipe', pos: tok.pos, pipe: inner, names: fieldsAfter() };
      }
      case 'ident': {
        next();
        if (tok.text === 'nil') return { kind: 'nil', pos: tok.pos };
        if (!FUNCTIONS.has(tok.text)) throw templateError(source, tok.pos, `function "${tok.text}" not defined`);
        return { kind: 'function', pos: tok.pos, name: tok.text };
      }
      default: return undefined;
    }
  };
  const command = (): Command => {
    const args: Arg[] = [];
    const pos = peek()?.pos ?? source.length;
    for (;;) {
      const before = k;
      const arg = operand();
      if (!arg) break;
      if (args.length > 0 && toks[before]?.t !== 'space') throw templateError(source, arg.pos, 'missing space between arguments');
      args.push(arg);
    }
    if (args.length === 0) {
      const tok = peek();
      throw templateError(source, tok?.pos ?? pos, tok ? `unexpected ${describe(tok)} in command` : 'empty command');
    }
    return { pos, args };
  };
  // Nesting (parentheses, if/range/with) is bounded, so a hostile template gets an error and not a stack overflow.
  let depth = 0;
  const nested = <T>(f: () => T): T => {
    if (++depth > MAX_DEPTH) throw templateError(source, peek()?.pos ?? source.length, `template nested more than ${MAX_DEPTH} levels deep`);
    try {
      return f();
    } finally {
      depth--;
    }
  };
  function pipeline(context: string, end: 'close' | 'rparen'): Pipe {
    return nested(() => pipelineAt(context, end));
  }
  function pipelineAt(context: string, end: 'close' | 'rparen'): Pipe {
    const pos = peek()?.pos ?? source.length;
    const decl: string[] = [];
    let isAssign = false;
    const save = k;
    const v = peek();
    if (v?.t === 'variable') {
      next();
      const vars = [v.text];
      let sep = peek();
      if (sep?.t === 'comma') {
        next();
        const second = expect('variable', 'in declaration');
        if (second.t === 'variable') vars.push(second.text);
        sep = peek();
      }
      if (sep?.t === 'declare' || sep?.t === 'assign') {
        next();
        decl.push(...vars);
        isAssign = sep.t === 'assign';
      } else {
        k = save;
      }
    }
    const cmds: Command[] = [];
    for (;;) {
      cmds.push(command());
      const tok = next();
      if (tok.t === end) break;
      if (tok.t !== 'pipe') throw templateError(source, tok.pos, `unexpected ${describe(tok)} in ${context}`);
    }
    if (cmds.length === 0) throw templateError(source, pos, `missing value for ${context}`);
    return { pos, decl, isAssign, cmds };
  }

  /** Parses nodes until `{{end}}`/`{{else}}` (returned) or the end of the template. */
  function list(inside: string | undefined): { nodes: Node[]; stop: 'end' | 'else' | 'eof'; elseTok?: number } {
    return nested(() => listAt(inside));
  }
  function listAt(inside: string | undefined): { nodes: Node[]; stop: 'end' | 'else' | 'eof'; elseTok?: number } {
    const nodes: Node[] = [];
    while (k < toks.length) {
      const tok = toks[k++] as Tok;
      if (tok.t === 'text') {
        nodes.push({ kind: 'text', text: tok.text });
        continue;
      }
      const word = peek();
      if (word?.t === 'ident' && (word.text === 'end' || word.text === 'else')) {
        next();
        if (inside === undefined) throw templateError(source, word.pos, `unexpected {{${word.text}}}`);
        if (word.text === 'end') expect('close', 'in end');
        return { nodes, stop: word.text, elseTok: word.pos };
      }
      if (word?.t === 'ident' && (word.text === 'if' || word.text === 'with' || word.text === 'range')) {
        next();
        nodes.push(control(word.text, word.pos));
        continue;
      }
      if (word?.t === 'ident' && ['define', 'template', 'block', 'break', 'continue'].includes(word.text)) {
        throw templateError(source, word.pos, `{{${word.text}}} is not supported by imagetools inspect --format`);
      }
      nodes.push({ kind: 'action', pos: tok.pos, pipe: pipeline('command', 'close') });
    }
    if (inside !== undefined) throw templateError(source, source.length, `unexpected EOF: {{${inside}}} has no {{end}}`);
    return { nodes, stop: 'eof' };
  }
  function control(kind: 'if' | 'with' | 'range', pos: number): Node {
    const pipe = pipeline(kind, 'close');
    const body = list(kind);
    if (body.stop === 'end') return { kind, pos, pipe, list: body.nodes };
    // {{else}} or, for if/with, {{else if …}} / {{else with …}}: the rest is one nested node ending at the same {{end}}.
    const chained = peek();
    if (kind !== 'range' && chained?.t === 'ident' && chained.text === kind) {
      next();
      return { kind, pos, pipe, list: body.nodes, elseList: [control(kind, chained.pos)] };
    }
    expect('close', 'in else');
    const alt = list(kind);
    if (alt.stop !== 'end') throw templateError(source, alt.elseTok ?? pos, `expected end; found {{else}}`);
    return { kind, pos, pipe, list: body.nodes, elseList: alt.nodes };
  }
  return { source, root: list(undefined).nodes };
}
