import { isTsbuildError, TsbuildError, type ErrorCode } from '../../common/index.js';
import type { Pos } from './hcl-ast.js';

/**
 * A bake file that cannot be read, parsed or evaluated: `file:line:column: message`. The code is INVALID_ARGUMENT
 * (the file is the command's input, like a flag), so it exits as a usage error with no stack.
 */
export class BakeFileError extends TsbuildError {
  readonly code: ErrorCode = 'INVALID_ARGUMENT';
  /** The place as a one-character source range, so the CLI prints the line with a caret (format-error.ts). */
  readonly at: (Pos & { endLine: number; endColumn: number }) | { file: string };
  constructor(at: Pos | { file: string }, message: string, hint?: string, options?: ErrorOptions) {
    super(`${'line' in at ? `${at.file}:${at.line}:${at.column}` : at.file}: ${message}`, hint, options);
    this.at = 'line' in at ? { ...at, endLine: at.line, endColumn: at.column + 1 } : at;
  }
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
