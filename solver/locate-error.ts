import type { Vertex } from '../frontend/index.js';
import { isLocated, StepError } from './step-error.js';
import { isTsbuildError, pathTooLongError, UserError } from '../common/index.js';

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
  const tooLong = pathTooLongError(err, 'a path this step wrote or read',
    'nest the directories less deeply: a path in the image plus the directory tsbuild keeps it in (about 60 bytes) must stay under 4096 bytes');
  if (tooLong !== undefined) return new StepError(vertex.id, vertex.location, vertex.text, tooLong);
  const where = vertex.location === undefined ? vertex.id : `${vertex.location.file}:${vertex.location.line}`;
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`${where}: ${vertex.text}: ${message}`, { cause: err });
}
