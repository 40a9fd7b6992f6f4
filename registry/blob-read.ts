import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { RegistryError } from './registry-error.js';
import { backoffDelay, type RetryEvent, type RetryPolicy } from './retry.js';
import { networkError } from './session.js';

/** Opens the blob's body from `offset` (a Range request when offset > 0); the response may be 200 or 206. */
export type OpenBody = (offset: number) => Promise<Dispatcher.ResponseData>;

/**
 * A blob's bytes that survive dropped connections: when the body breaks with a retryable error, it is requested
 * again from the first byte not yet delivered (`Range: bytes=N-`), within the retry policy, so a 1 GB layer does not
 * start over after a reset at 900 MB. A registry that ignores Range (200) has the delivered prefix skipped.
 */
export async function* resumableBlob(open: OpenBody, first: Dispatcher.ResponseData, size: number, policy: RetryPolicy, where: { registry: string; ref: string; url: URL }, onRetry: (e: RetryEvent) => void): AsyncGenerator<Buffer> {
  let offset = 0;
  let res = first;
  for (let attempt = 1; ; attempt++) {
    let skip = res.statusCode === 206 ? 0 : offset;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (skip >= chunk.length) {
          skip -= chunk.length;
          continue;
        }
        const part = skip > 0 ? chunk.subarray(skip) : chunk;
        skip = 0;
        offset += part.length;
        yield part;
      }
      return;
    } catch (raw) {
      const err = networkError(raw, where.registry, where.ref, where.url);
      if (!(err instanceof RegistryError) || !err.retryable || attempt >= policy.attempts || offset >= size) throw err;
      const delayMs = backoffDelay(policy, attempt, err.retryAfterMs);
      onRetry({ operation: `resume blob ${where.ref} at byte ${offset}`, attempt, delayMs, error: err });
      await sleep(delayMs);
      res = await open(offset);
    }
  }
}

