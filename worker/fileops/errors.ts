import { TsbuildError, type ErrorCode } from '../../common/index.js';

/** The codes a COPY or ADD step can fail with. */
export type CopyErrorCode = Extract<ErrorCode, 'COPY_SOURCE_NOT_FOUND' | 'INVALID_ARGUMENT' | 'DIGEST_MISMATCH' | 'CANCELLED'>;

/**
 * A COPY/ADD failure the user caused: a missing or forbidden source, a bad --chown/--chmod, a destination that cannot
 * take the sources, a hostile archive, a URL that failed or did not match its --checksum.
 */
export class CopyError extends TsbuildError {
  readonly code: CopyErrorCode;
  constructor(code: CopyErrorCode, message: string, hint?: string, options?: ErrorOptions) {
    super(message, hint, options);
    this.code = code;
  }
}

/** Throws CANCELLED when `signal` fired; called between files so a cancelled copy stops promptly. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new CopyError('CANCELLED', 'copy cancelled', undefined, { cause: signal.reason });
}
