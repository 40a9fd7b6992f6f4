import type { DockerfileSource, SourceRange, VertexId } from '../frontend/index.js';
import { TsbuildError, type ErrorCode } from '../common/index.js';

/**
 * A build step failed with a user-facing cause. Takes the cause's `code` and `hint` (RUN_FAILED stays RUN_FAILED)
 * and prefixes its message with the step's location, so the CLI prints `Dockerfile:7: RUN failed: exit code 1`.
 */
export class StepError extends TsbuildError {
  readonly code: ErrorCode;
  /** The Dockerfile text `at` points into, attached by whoever read it (the builder: frontend's withSource). */
  source: DockerfileSource | undefined;
  constructor(readonly vertex: VertexId, readonly at: SourceRange | undefined, readonly text: string, cause: TsbuildError) {
    super(at === undefined ? cause.message : `${at.file}:${at.line}: ${cause.message}`, cause.hint, { cause });
    this.code = cause.code;
  }
}

/** True when `err` already says where in a Dockerfile it happened (it has an `at` source range). */
export function isLocated(err: TsbuildError): boolean {
  const at: unknown = (err as { at?: unknown }).at;
  return typeof at === 'object' && at !== null && typeof (at as { line?: unknown }).line === 'number';
}
