import type { Vertex } from '../frontend/index.js';
import { isLocated, StepError } from './step-error.js';
import { isTsbuildError, UserError } from '../common/index.js';

/**
 * The error solve() rejects with when `vertex` failed with `err`: a user-facing error gains the step's location
 * (keeping its code and hint), a cancellation by the caller becomes CANCELLED, and a bug stays a plain Error that
 * names the step and keeps the original as its cause.
 */
export function locateError(err: unknown, vertex: Vertex, userSignal: AbortSignal | undefined): Error {
  if (userSignal?.aborted === true) {
    return new UserError('CANCELLED', 'build cancelled', undefined, { cause: err });
  }
  if (isTsbuildError(err)) return isLocated(err) ? err : new StepError(vertex.id, vertex.location, vertex.text, err);
  const where = vertex.location === undefined ? vertex.id : `${vertex.location.file}:${vertex.location.line}`;
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`${where}: ${vertex.text}: ${message}`, { cause: err });
}
