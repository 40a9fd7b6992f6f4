import type { Expr, Pos, TemplatePart } from './hcl-ast.js';
import { BakeFileError } from './errors.js';

// Template directives (`%{if}` … `%{endif}`, `%{for}` … `%{endfor}`) arrive from the parser as a flat list; this
// nests them into the template's parts.

/** A template piece as scanned: a part, or one directive keyword. */
export type FlatPart = TemplatePart | { kind: 'directive'; word: string; expr?: Expr; keyVar?: string; valueVar?: string; pos: Pos };

/** Nests the flat `%{if}`/`%{for}` directives of a template into parts. */
export function structure(flat: FlatPart[]): TemplatePart[] {
  let k = 0;
  const until = (ends: string[]): { parts: TemplatePart[]; end?: string } => {
    const parts: TemplatePart[] = [];
    while (k < flat.length) {
      const f = flat[k++];
      if (!f) break;
      if (f.kind !== 'directive') { parts.push(f); continue; }
      if (ends.includes(f.word)) return { parts, end: f.word };
      if (f.word === 'if' && f.expr) {
        const then = until(['else', 'endif']);
        const otherwise = then.end === 'else' ? until(['endif']) : { parts: [], end: 'endif' };
        if (otherwise.end !== 'endif') throw new BakeFileError(f.pos, '%{if} without %{endif}');
        parts.push({ kind: 'if', cond: f.expr, then: then.parts, else: otherwise.parts });
      } else if (f.word === 'for' && f.expr && f.valueVar) {
        const body = until(['endfor']);
        if (body.end !== 'endfor') throw new BakeFileError(f.pos, '%{for} without %{endfor}');
        parts.push({ kind: 'for', valueVar: f.valueVar, ...(f.keyVar !== undefined ? { keyVar: f.keyVar } : {}), coll: f.expr, body: body.parts });
      } else throw new BakeFileError(f.pos, `%{${f.word}} without its opening directive`);
    }
    return { parts };
  };
  return until([]).parts;
}
