// The syntax tree of an HCL native-syntax file (hashicorp/hcl hclsyntax spec), as far as bake files use it: bodies of
// attributes and labelled blocks, and expressions kept unevaluated with their positions so that an error in a value
// can name file:line.

/** Where a node starts: file, 1-based line and column. */
export interface Pos { file: string; line: number; column: number }

/** A piece of a string template: literal text, an interpolation, or an `%{if}` / `%{for}` directive. */
export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'interp'; expr: Expr }
  | { kind: 'if'; cond: Expr; then: TemplatePart[]; else: TemplatePart[] }
  | { kind: 'for'; keyVar?: string; valueVar: string; coll: Expr; body: TemplatePart[] };

/** An HCL expression: from `pos` to `end`, the place just after its last character (hcl.Range's End). */
export type Expr = { pos: Pos; end: Pos } & (
  | { kind: 'literal'; value: null | boolean | number }
  | { kind: 'template'; parts: TemplatePart[] }
  | { kind: 'variable'; name: string }
  | { kind: 'getattr'; object: Expr; name: string }
  | { kind: 'index'; object: Expr; key: Expr }
  | { kind: 'splat'; object: Expr; steps: ({ attr: string } | { index: Expr })[] }
  | { kind: 'call'; name: string; args: Expr[]; expandFinal: boolean }
  | { kind: 'tuple'; items: Expr[] }
  | { kind: 'object'; items: { key: Expr; value: Expr; isBareKey: boolean }[] }
  | { kind: 'conditional'; cond: Expr; then: Expr; else: Expr }
  | { kind: 'binary'; op: string; left: Expr; right: Expr }
  | { kind: 'unary'; op: '!' | '-'; operand: Expr }
  | { kind: 'for'; keyVar?: string; valueVar: string; coll: Expr; keyExpr?: Expr; valueExpr: Expr; cond?: Expr; isGrouped: boolean }
);

/** `name = expr` in a body. */
export interface Attribute { name: string; expr: Expr; pos: Pos }

/** `type "label" … { body }`; `open` is where its body starts, the "{" (hcl's MissingItemRange for the body). */
export interface Block { type: string; labels: string[]; body: Body; pos: Pos; open: Pos }

/** A file's or a block's contents, in source order. */
export interface Body { attributes: Attribute[]; blocks: Block[] }
