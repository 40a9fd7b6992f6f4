import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryError } from './registry-error.js';

/** How often and how patiently a failed registry operation is tried again. */
export interface RetryPolicy {
  /** Total tries including the first; 1 disables retries. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest Retry-After honoured (default 60 s); a registry asking for more is waited on this long. */
  maxRetryAfterMs?: number;
}

/** One retry about to happen, for progress output. */
export interface RetryEvent {
  operation: string;
  attempt: number;
  delayMs: number;
  error: RegistryError;
}

/** The default: 5 tries, 200 ms doubling to at most 5 s, full jitter. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5000 };

/** The wait before try number `attempt + 1`: full jitter over an exponential ceiling, or the registry's Retry-After. */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs ?? 60_000);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * Runs `fn` until it succeeds, fails with something not retryable, or the policy's tries run out. Only a
 * RegistryError whose `retryable` is true is retried; anything else is rethrown at once.
 */
export async function withRetry<T>(
  operation: string,
  policy: RetryPolicy,
  fn: (attempt: number) => Promise<T>,
  onRetry?: (event: RetryEvent) => void,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof RegistryError) || !err.retryable || attempt >= policy.attempts || signal?.aborted) throw err;
      const delayMs = backoffDelay(policy, attempt, err.retryAfterMs);
      onRetry?.({ operation, attempt, delayMs, error: err });
      await sleep(delayMs, undefined, signal ? { signal } : undefined);
    }
  }
}

/** Parses a Retry-After header (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
