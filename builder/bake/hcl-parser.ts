import type { Attribute, Block, Body, Expr, Pos } from './hcl-ast.js';
import { BakeFileError } from './errors.js';
import { IDENT, IDENT_START, Scanner } from './hcl-scanner.js';
import { structure, type FlatPart } from './hcl-template.js';
import { wellFormed } from './value.js';

// A recursive-descent parser for HCL's native syntax (hashicorp/hcl hclsyntax/spec.md), working on characters
// directly: templates nest expressions (`"a-${b ? "x" : "y"}"`), which a separate token pass would have to track
// anyway. Newlines end an attribute, except inside brackets, parentheses, braces and interpolations, as in HCL.

/** Parses a bake file written in HCL into its body; a syntax error is a BakeFileError at file:line:column. */
export function parseHcl(text: string, file: string): Body {
  const p = new Parser(text, file);
  const body = p.body(false);
  return body;
}

/** Parses one expression (a JSON bake file is one object expression, its strings templates as in HCL's JSON syntax). */
export function parseHclExpression(text: string, file: string): Expr {
  const p = new Parser(text, file);
  p.isJson = true;
  p.nested++;
  const e = p.expr();
  p.ws();
  if (!p.atEnd()) throw p.error('unexpected text after the expression');
  return e;
}

/** The deepest nesting of expressions a bake file may have. */
const MAX_DEPTH = 100;

/** `$`, `%`, and in a quoted string `"`, `\\` and a newline: where a run of template text ends. */
function isTemplateSpecial(c: number, isQuoted: boolean): boolean {
  return c === 0x24 || c === 0x25 || (isQuoted && (c === 0x22 || c === 0x5c || c === 0x0a));
}

const BINARY_LEVELS: string[][] = [['||'], ['&&'], ['==', '!='], ['>=', '<=', '>', '<'], ['+', '-'], ['*', '/', '%']];

class Parser extends Scanner {
  /** Reading a JSON bake file, whose strings are JSON's: a `\u` escape may be half of a UTF-16 surrogate pair. */
  isJson = false;

  body(inBraces: boolean): Body {
    if (!inBraces) return this.bodyItems(false);
    this.descend();
    try {
      return this.bodyItems(true);
    } finally {
      this.depth--;
    }
  }

  bodyItems(inBraces: boolean): Body {
    const body: Body = { attributes: [], blocks: [] };
    // A Set, not a search of the attributes so far: 50000 attributes took 44 s.
    const names = new Set<string>();
    for (;;) {
      this.ws(true);
      if (this.atEnd()) {
        if (inBraces) throw this.error('missing "}" closing the block');
        return body;
      }
      if (inBraces && this.ch() === '}') return body;
      const pos = this.pos();
      const name = this.ident();
      this.ws(false);
      if (this.ch() === '=' && this.ch(1) !== '=') {
        this.i++;
        const saved = this.nested;
        this.nested = 0;
        const expr = this.expr();
        this.nested = saved;
        if (names.has(name)) throw new BakeFileError(pos, `attribute ${JSON.stringify(name)} is set twice in this body`);
        names.add(name);
        body.attributes.push({ name, expr, pos } satisfies Attribute);
      } else {
        const labels: string[] = [];
        while (this.ch() !== '{') {
          if (this.ch() === '"') labels.push(this.plainString());
          else if (IDENT_START.test(this.ch())) labels.push(this.ident());
          else throw this.error(`expected "=" or a block's "{" after ${JSON.stringify(name)}, found ${this.describeHere()}`);
          this.ws(false);
        }
        const open = this.pos();
        this.i++;
        const saved = this.nested;
        this.nested = 0;
        const inner = this.body(true);
        this.nested = saved;
        this.i++;
        body.blocks.push({ type: name, labels, body: inner, pos, open } satisfies Block);
      }
      this.ws(false);
      if (this.atEnd() || this.ch() === '\n' || (inBraces && this.ch() === '}')) continue;
      throw this.error(`expected a newline after the ${body.blocks.at(-1)?.pos === pos ? 'block' : 'attribute'}, found ${this.describeHere()}`);
    }
  }

  /** A block label: a quoted string without interpolation. */
  plainString(): string {
    const at = this.i;
    const t = this.quoted();
    if (t.kind !== 'template' || t.parts.some((p) => p.kind !== 'text')) throw this.error('a block label cannot contain interpolations', at);
    return t.parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
  }

  /** How deep the expression being read is nested: bounded, so a hostile file gets an error, not a stack overflow. */
  depth = 0;

  expr(): Expr {
    this.descend();
    try {
      return this.conditional();
    } finally {
      this.depth--;
    }
  }

  /** One more level of nesting, refused past MAX_DEPTH (real bake files nest a handful of levels). */
  descend(): void {
    if (++this.depth > MAX_DEPTH) throw new BakeFileError(this.pos(), `expression nested more than ${MAX_DEPTH} levels deep`, 'flatten it: bake files need only a few levels');
  }

  conditional(): Expr {
    this.ws();
    const pos = this.pos();
    const cond = this.binary(0);
    const save = this.i;
    this.ws();
    if (this.ch() !== '?') { this.i = save; return cond; }
    this.i++;
    this.nested++;
    const then = this.expr();
    this.expect(':');
    this.nested--;
    const otherwise = this.expr();
    return { pos, end: this.pos(), kind: 'conditional', cond, then, else: otherwise };
  }

  binary(level: number): Expr {
    if (level >= BINARY_LEVELS.length) return this.unary();
    const ops = BINARY_LEVELS[level] ?? [];
    let left = this.binary(level + 1);
    for (;;) {
      const save = this.i;
      this.ws();
      const op = ops.find((o) => this.peek(o) && !(o === '>' && this.peek('>=')) && !(o === '<' && this.peek('<=')) && !(o === '/' && (this.peek('//') || this.peek('/*'))));
      if (!op) { this.i = save; return left; }
      const pos = this.pos();
      this.i += op.length;
      this.nested++;
      const right = this.binary(level + 1);
      this.nested--;
      left = { pos, end: this.pos(), kind: 'binary', op, left, right };
    }
  }

  unary(): Expr {
    this.ws();
    const pos = this.pos();
    const c = this.ch();
    if (c === '!' || (c === '-' && !/\d/.test(this.ch(1)))) {
      this.i++;
      this.descend();
      try {
        const operand = this.unary();
        return { pos, end: this.pos(), kind: 'unary', op: c, operand };
      } finally {
        this.depth--;
      }
    }
    return this.postfix(this.primary());
  }

  postfix(e: Expr): Expr {
    for (;;) {
      const save = this.i;
      this.ws();
      const pos = this.pos();
      if (this.peek('[*]') || this.peek('.*')) {
        this.i += this.peek('[*]') ? 3 : 2;
        const steps: ({ attr: string } | { index: Expr })[] = [];
        for (;;) {
          if (this.ch() === '.' && IDENT_START.test(this.ch(1))) { this.i++; steps.push({ attr: this.ident() }); }
          else if (this.ch() === '[' && this.ch(1) !== '*') { this.i++; this.nested++; steps.push({ index: this.expr() }); this.expect(']'); this.nested--; }
          else break;
        }
        e = { pos, end: this.pos(), kind: 'splat', object: e, steps };
      } else if (this.ch() === '.' && IDENT_START.test(this.ch(1))) {
        this.i++;
        const name = this.ident();
        e = { pos, end: this.pos(), kind: 'getattr', object: e, name };
      } else if (this.ch() === '.' && /\d/.test(this.ch(1))) {
        this.i++;
        const start = this.i;
        while (/\d/.test(this.ch())) this.i++;
        const end = this.pos();
        e = { pos, end, kind: 'index', object: e, key: { pos, end, kind: 'literal', value: Number(this.src.slice(start, this.i)) } };
      } else if (this.ch() === '[') {
        this.i++;
        this.nested++;
        const key = this.expr();
        this.expect(']');
        this.nested--;
        e = { pos, end: this.pos(), kind: 'index', object: e, key };
      } else {
        this.i = save;
        return e;
      }
    }
  }

  primary(): Expr {
    this.ws();
    const pos = this.pos();
    const c = this.ch();
    const num = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.src.slice(this.i, this.i + 64));
    if (num) { this.i += num[0].length; return { pos, end: this.pos(), kind: 'literal', value: Number(num[0]) }; }
    if (c === '"') return this.quoted();
    if (this.peek('<<')) return this.heredoc();
    if (c === '(') {
      this.i++; this.nested++;
      const e = this.expr();
      this.expect(')'); this.nested--;
      return e;
    }
    if (c === '[') return this.tuple();
    if (c === '{') return this.object();
    if (IDENT_START.test(c)) {
      const name = this.ident();
      const end = this.pos();
      if (name === 'true' || name === 'false') return { pos, end, kind: 'literal', value: name === 'true' };
      if (name === 'null') return { pos, end, kind: 'literal', value: null };
      if (this.ch() === '(') return this.call(name, pos);
      return { pos, end, kind: 'variable', name };
    }
    throw this.error(`expected an expression, found ${this.describeHere()}`);
  }

  call(name: string, pos: Pos): Expr {
    this.i++;
    this.nested++;
    const args: Expr[] = [];
    let expandFinal = false;
    for (;;) {
      this.ws();
      if (this.ch() === ')') break;
      args.push(this.expr());
      this.ws();
      if (this.peek('...')) { this.i += 3; expandFinal = true; this.ws(); }
      if (this.ch() === ',') { this.i++; continue; }
      if (this.ch() !== ')') throw this.error(`expected "," or ")" in the arguments of ${name}(), found ${this.describeHere()}`);
    }
    this.i++;
    this.nested--;
    return { pos, end: this.pos(), kind: 'call', name, args, expandFinal };
  }

  /** After `[` or `{`: a `for` expression when the next word is `for`. */
  isFor(): boolean {
    this.ws();
    return this.peek('for') && !IDENT.test(this.ch(3));
  }

  /** After `for`: `[KEY,] VALUE in COLLECTION`, shared by for expressions and %{for} directives. */
  forHead(what: string): { keyVar?: string; valueVar: string; coll: Expr } {
    this.ws();
    let valueVar = this.ident();
    let keyVar: string | undefined;
    this.ws();
    if (this.ch() === ',') { this.i++; this.ws(); keyVar = valueVar; valueVar = this.ident(); }
    this.ws();
    if (!this.peek('in') || IDENT.test(this.ch(2))) throw this.error(`expected "in" in the ${what}`);
    this.i += 2;
    return { ...(keyVar !== undefined ? { keyVar } : {}), valueVar, coll: this.expr() };
  }

  forExpr(pos: Pos, close: ']' | '}'): Expr {
    this.i += 3;
    const { keyVar, valueVar, coll } = this.forHead('for expression');
    this.expect(':');
    let keyExpr: Expr | undefined;
    let valueExpr = this.expr();
    this.ws();
    let isGrouped = false;
    if (close === '}') {
      keyExpr = valueExpr;
      this.expect('=>');
      valueExpr = this.expr();
      this.ws();
      if (this.peek('...')) { this.i += 3; isGrouped = true; }
    }
    this.ws();
    let cond: Expr | undefined;
    if (this.peek('if') && !IDENT.test(this.ch(2))) { this.i += 2; cond = this.expr(); }
    this.expect(close);
    this.nested--;
    return { pos, end: this.pos(), kind: 'for', ...(keyVar !== undefined ? { keyVar } : {}), valueVar, coll, ...(keyExpr ? { keyExpr } : {}), valueExpr, ...(cond ? { cond } : {}), isGrouped };
  }

  tuple(): Expr {
    const pos = this.pos();
    this.i++;
    this.nested++;
    if (this.isFor()) return this.forExpr(pos, ']');
    const items: Expr[] = [];
    for (;;) {
      this.ws();
      if (this.ch() === ']') break;
      items.push(this.expr());
      this.ws();
      if (this.ch() === ',') { this.i++; continue; }
      if (this.ch() !== ']') throw this.error(`expected "," or "]" in the list, found ${this.describeHere()}`);
    }
    this.i++;
    this.nested--;
    return { pos, end: this.pos(), kind: 'tuple', items };
  }

  object(): Expr {
    const pos = this.pos();
    this.i++;
    this.nested++;
    if (this.isFor()) return this.forExpr(pos, '}');
    const items: { key: Expr; value: Expr; isBareKey: boolean }[] = [];
    for (;;) {
      this.ws();
      if (this.ch() === '}') break;
      const keyPos = this.pos();
      let key: Expr;
      let isBareKey = false;
      if (IDENT_START.test(this.ch())) {
        const save = this.i;
        const name = this.ident();
        this.ws();
        if ((this.ch() === '=' && this.ch(1) !== '=') || this.ch() === ':') { key = { pos: keyPos, end: this.pos(save + name.length), kind: 'template', parts: [{ kind: 'text', text: name }] }; isBareKey = true; }
        else { this.i = save; key = this.expr(); }
      } else key = this.expr();
      this.ws();
      if (this.ch() !== '=' && this.ch() !== ':') throw this.error(`expected "=" or ":" after the object key, found ${this.describeHere()}`);
      this.i++;
      const value = this.expr();
      items.push({ key, value, isBareKey });
      this.ws();
      if (this.ch() === ',') this.i++;
    }
    this.i++;
    this.nested--;
    return { pos, end: this.pos(), kind: 'object', items };
  }

  quoted(): Expr {
    const pos = this.pos();
    this.i++;
    const parts = this.templateParts('"');
    return { pos, end: this.pos(), kind: 'template', parts: structure(parts) };
  }

  heredoc(): Expr {
    const pos = this.pos();
    const m = /^<<(-?)([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n/.exec(this.src.slice(this.i, this.i + 200));
    if (!m?.[2]) throw this.error('expected a heredoc marker: <<EOT or <<-EOT then a newline');
    const marker = m[2];
    const start = this.i + m[0].length;
    const endRe = new RegExp(`^[ \\t]*${marker}[ \\t]*$`, 'm');
    const rest = this.src.slice(start);
    const end = endRe.exec(rest);
    if (!end) throw this.error(`heredoc ${marker} is not closed: no line with just ${marker}`);
    let content = rest.slice(0, end.index);
    this.i = start + end.index + end[0].length;
    if (m[1] === '-') {
      const lines = content.split('\n');
      const indents = lines.filter((l) => l.trim() !== '').map((l) => /^[ \t]*/.exec(l)?.[0].length ?? 0);
      const strip = indents.length ? Math.min(...indents) : 0;
      content = lines.map((l) => l.slice(Math.min(strip, /^[ \t]*/.exec(l)?.[0].length ?? 0))).join('\n');
    }
    const sub = new Parser(content, this.file, pos.line);
    // A heredoc's interpolations are as deep as where the heredoc stands: a heredoc inside a heredoc inside … is
    // bounded as any other nesting is.
    sub.depth = this.depth;
    const parts = sub.templateParts(undefined);
    return { pos, end: this.pos(), kind: 'template', parts: structure(parts) };
  }

  /** Template text up to `close` (a quoted string) or the end (a heredoc), as a flat list of parts and directives. */
  templateParts(close: '"' | undefined): FlatPart[] {
    // Each %{if} or %{for} still open is a level of nesting (template structure() and its evaluation recurse on it).
    const depthBefore = this.depth;
    try {
      return this.templatePartsAt(close);
    } finally {
      this.depth = depthBefore;
    }
  }

  templatePartsAt(close: '"' | undefined): FlatPart[] {
    const out: FlatPart[] = [];
    let text = '';
    let trimNext = false;
    const flush = (): void => {
      if (text) out.push({ kind: 'text', text: this.isJson ? wellFormed(text) : text });
      text = '';
    };
    for (;;) {
      if (this.atEnd()) {
        if (close) throw this.error('unterminated string: missing the closing quote');
        break;
      }
      const c = this.ch();
      if (close && c === close) { this.i++; break; }
      if (close && c === '\n') throw this.error('unterminated string: a quoted string cannot span lines (use a heredoc)');
      if (this.peek('$${') || this.peek('%%{')) { text += `${c}{`; this.i += 3; continue; }
      if (this.peek('${') || this.peek('%{')) {
        const pos = this.pos();
        const isDirective = c === '%';
        this.i += 2;
        // trimEnd, not replace(/\s+$/): that regex tries every space of a long run and is quadratic in it.
        if (this.ch() === '~') { this.i++; text = text.trimEnd(); }
        flush();
        this.nested++;
        if (isDirective) {
          const d = this.directive(pos);
          if (d.kind === 'directive' && (d.word === 'if' || d.word === 'for')) this.descend();
          else if (d.kind === 'directive' && (d.word === 'endif' || d.word === 'endfor')) this.depth--;
          out.push(d);
        } else out.push({ kind: 'interp', expr: this.expr() });
        this.ws();
        if (this.ch() === '~') { this.i++; trimNext = true; }
        this.expect('}');
        this.nested--;
        continue;
      }
      if (close && c === '\\') {
        const n = this.ch(1);
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', '/': '/' };
        if (n in simple) { text += simple[n]; this.i += 2; }
        else if (n === 'u' || n === 'U') {
          const len = n === 'u' ? 4 : 8;
          const hex = this.src.slice(this.i + 2, this.i + 2 + len);
          if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw this.error(`invalid \\${n} escape`);
          const code = parseInt(hex, 16);
          // JSON writes a character beyond U+FFFF as two \u escapes, a surrogate pair (a lone half becomes U+FFFD,
          // as Go's encoding/json reads it: wellFormed below); HCL has \U for it, and refuses what UTF-8 cannot encode.
          if (this.isJson && n === 'u') text += String.fromCharCode(code);
          else if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw this.error(`Invalid escape sequence; Cannot encode character U+${code.toString(16).padStart(4, '0')} in UTF-8.`);
          else text += String.fromCodePoint(code);
          this.i += 2 + len;
        } else throw this.error(`invalid escape sequence \\${n}`);
      } else {
        // The run of plain characters up to the next one that means something, at once: a character at a time made
        // a rope of 32 bytes per character (a 30 MB string took 9 s and 1.1 GB).
        let end = this.i + 1;
        while (end < this.src.length && !isTemplateSpecial(this.src.charCodeAt(end), close !== undefined)) end++;
        text += this.src.slice(this.i, end);
        this.i = end;
      }
      if (trimNext) { text = text.trimStart(); if (text) trimNext = false; }
    }
    flush();
    return out;
  }

  directive(pos: Pos): FlatPart {
    this.ws();
    const word = this.ident();
    if (word === 'if') return { kind: 'directive', word, expr: this.expr(), pos };
    if (word === 'for') {
      const { keyVar, valueVar, coll } = this.forHead('%{for} directive');
      return { kind: 'directive', word, expr: coll, valueVar, ...(keyVar !== undefined ? { keyVar } : {}), pos };
    }
    if (['else', 'endif', 'endfor'].includes(word)) return { kind: 'directive', word, pos };
    throw new BakeFileError(pos, `unknown template directive %{${word}}`, 'use %{if …}, %{else}, %{endif}, %{for … in …} or %{endfor}');
  }
}
