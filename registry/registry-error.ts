import { TsbuildError, type ErrorCode } from '../common/index.js';

/** The codes a registry operation can fail with. */
export type RegistryErrorCode = Extract<
  ErrorCode,
  'REGISTRY_REQUEST' | 'REGISTRY_AUTH' | 'REGISTRY_UNREACHABLE' | 'IMAGE_NOT_FOUND' | 'PLATFORM_NOT_FOUND' | 'DIGEST_MISMATCH'
>;

/** What a RegistryError is built from; everything but code, ref and message is optional. */
export interface RegistryErrorInit {
  code: RegistryErrorCode;
  /** The reference or repository the operation was about, as text. */
  ref: string;
  message: string;
  /** HTTP status; 0 when no response arrived. */
  status?: number;
  /** Error codes from the registry's JSON error body (`MANIFEST_UNKNOWN`, `DENIED` …). */
  registryCodes?: string[];
  hint?: string;
  /** A network failure that may pass on its own: connection reset, timeout. */
  transient?: boolean;
  /** From a Retry-After header, in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

const RETRYABLE_STATUS = [408, 429, 500, 502, 503, 504];

/** A failed registry operation: the reference, the HTTP status, the registry's error codes and what to do about it. */
export class RegistryError extends TsbuildError {
  readonly code: RegistryErrorCode;
  readonly ref: string;
  readonly status: number;
  readonly registryCodes: string[];
  readonly transient: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(init: RegistryErrorInit) {
    super(init.message, init.hint, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.ref = init.ref;
    this.status = init.status ?? 0;
    this.registryCodes = init.registryCodes ?? [];
    this.transient = init.transient ?? false;
    this.retryAfterMs = init.retryAfterMs;
  }

  /** True when trying the same request again may succeed: 5xx, 429, 408, resets and timeouts. */
  get retryable(): boolean {
    return this.transient || RETRYABLE_STATUS.includes(this.status);
  }
}

/** True when `err` is a RegistryError with the given code. */
export function isRegistryError(err: unknown, code?: RegistryErrorCode): err is RegistryError {
  return err instanceof RegistryError && (code === undefined || err.code === code);
}
