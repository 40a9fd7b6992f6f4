import { isTsbuildError, TsbuildError, UserError, type ErrorCode } from '../../common/index.js';
import type { Expr, Pos } from './hcl-ast.js';

/** A stretch of a bake file: from `line:column` to `endLine:endColumn`, the place just after it (hcl.Range). */
export interface Range extends Pos { endLine: number; endColumn: number }

/** The range an expression covers. */
export function rangeOf(e: Expr): Range {
  return { ...e.pos, endLine: e.end.line, endColumn: e.end.column };
}

/** `length` characters from `pos`, on its line (a name, a bracket). */
export function spanAt(pos: Pos, length: number): Range {
  return { ...pos, endLine: pos.line, endColumn: pos.column + length };
}

/** hcl.Range.String, the place buildx's errors start with: `file:line,col-endcol` or `file:line,col-endline,endcol`. */
function rangeText(r: Range): string {
  return r.endLine === r.line ? `${r.file}:${r.line},${r.column}-${r.endColumn}` : `${r.file}:${r.line},${r.column}-${r.endLine},${r.endColumn}`;
}

function placeOf(at: Pos | Range | { file: string }): Range | { file: string } {
  if (!('line' in at)) return at;
  return 'endLine' in at ? at : spanAt(at, 1);
}

/**
 * A bake definition that cannot be read, parsed, evaluated or resolved. buildx (cmd/buildx/main.go) prints every
 * such error as `ERROR: …` and exits 1, as it does for a failed build; so does this code (format-error.ts exitStatus).
 */
export const BAKE_DEFINITION: ErrorCode = 'BAKE_DEFINITION';

/**
 * An error at a place in a bake file, worded as buildx prints an HCL diagnostic (hcl.Diagnostic.Error):
 * `file:line,col-endcol: message`. Given a position without an end, the range is its one character.
 */
export class BakeFileError extends TsbuildError {
  readonly code: ErrorCode = BAKE_DEFINITION;
  /** The place as a source range, so the CLI prints the line with a caret under it (format-error.ts). */
  readonly at: Range | { file: string };
  constructor(at: Pos | Range | { file: string }, message: string, hint?: string, options?: ErrorOptions) {
    const range = placeOf(at);
    super(`${'line' in range ? rangeText(range) : range.file}: ${message}`, hint, options);
    this.at = range;
  }
}

/**
 * A bake file that asks for more evaluation than tsbuild gives one (eval-budget.ts): an error try() and can() pass on,
 * as an answer taken from them would let the evaluation go on spending.
 */
export class BakeLimitError extends BakeFileError {}

/** An error in the definition that has no place in a file (a target no file defines, a --set for none). */
export function definitionError(message: string, hint?: string): UserError {
  return new UserError(BAKE_DEFINITION, message, hint);
}

/** A target's build failed: the target's name first, the build's own code and hint kept. */
export class BakeTargetError extends TsbuildError {
  readonly code: ErrorCode;
  constructor(readonly target: string, cause: TsbuildError) {
    super(`target ${JSON.stringify(target)}: ${cause.message}`, cause.hint, { cause });
    this.code = cause.code;
  }
}

/** A target's failure (its build's, or its flags' before any build) with the target's name first. */
export function targetError(name: string, err: unknown): unknown {
  if (err instanceof BakeTargetError) return err;
  if (isTsbuildError(err)) return new BakeTargetError(name, err);
  if (err instanceof Error) err.message = `target ${JSON.stringify(name)}: ${err.message}`;
  return err;
}
