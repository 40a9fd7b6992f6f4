/**
 * Stable codes for every failure a user can cause. The CLI maps them to exit statuses; tests check them instead of
 * message text.
 */
export type ErrorCode =
  | 'DOCKERFILE_SYNTAX'
  | 'DOCKERFILE_NOT_FOUND'
  | 'CONTEXT_NOT_FOUND'
  | 'COPY_SOURCE_NOT_FOUND'
  | 'RUN_FAILED'
  | 'REGISTRY_REQUEST'
  | 'REGISTRY_AUTH'
  | 'REGISTRY_UNREACHABLE'
  | 'IMAGE_NOT_FOUND'
  | 'PLATFORM_NOT_FOUND'
  | 'DIGEST_MISMATCH'
  | 'INVALID_REFERENCE'
  | 'INVALID_LAYER'
  | 'INVALID_ARGUMENT'
  | 'BAKE_DEFINITION'
  | 'SECRET_NOT_FOUND'
  | 'STORE_LOCKED'
  | 'EMULATION_UNAVAILABLE'
  | 'ROOTLESS_UNAVAILABLE'
  | 'TEMPLATE_FAILED'
  | 'BUILDER_NOT_FOUND'
  | 'BUILDER_INVALID'
  | 'OUTPUT_FAILED'
  | 'HOST_RESOURCE'
  | 'STATE_DAMAGED'
  | 'CANCELLED';

/**
 * The base of every user-facing failure: a stable `code`, a message that says what happened and where, and a `hint`
 * that says what to do. Internal invariant failures are plain `Error`s: they are bugs and keep their stack.
 */
export abstract class TsbuildError extends Error {
  abstract readonly code: ErrorCode;
  readonly hint: string | undefined;
  constructor(message: string, hint?: string, options?: ErrorOptions) {
    super(message, options);
    this.hint = hint;
    this.name = new.target.name;
  }
}

/** True when `err` is a user-facing tsbuild error (as opposed to a bug). */
export function isTsbuildError(err: unknown): err is TsbuildError {
  return err instanceof TsbuildError;
}

/** A plain user error whose code is given by the thrower: bad flags, bad references, missing files. */
export class UserError extends TsbuildError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, hint?: string, options?: ErrorOptions) {
    super(message, hint, options);
    this.code = code;
  }
}

/** The host's limit on a whole path (PATH_MAX). */
export const HOST_PATH_MAX = 4096;

/**
 * An fs error that is the host's path limit, ENAMETOOLONG (a path over HOST_PATH_MAX bytes), as a user error naming
 * `what` and the end of the path: the limit is hit by what a build was given (a RUN step that nests directories ~4,000
 * bytes deep has paths over it once they sit in tsbuild's root), never by a bug. Undefined for any other error.
 */
export function pathTooLongError(err: unknown, what: string, hint: string): UserError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || e.code !== 'ENAMETOOLONG') return undefined;
  const path = e.path === undefined ? '' : String(e.path);
  const shown = path.length > 120 ? `…${path.slice(-120)}` : path;
  return new UserError('INVALID_ARGUMENT', `${what} is longer than this host allows (${HOST_PATH_MAX} bytes): ${shown}`, hint, { cause: err });
}
