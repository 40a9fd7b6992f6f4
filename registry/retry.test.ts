import { expect } from 'chai';
import { RegistryError } from './registry-error.js';
import { backoffDelay, parseRetryAfter, withRetry, type RetryEvent } from './retry.js';

describe('retry policy', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('3')).to.equal(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).to.equal(6000);
    expect(parseRetryAfter(undefined)).to.equal(undefined);
    expect(parseRetryAfter('soon')).to.equal(undefined);
  });

  it('keeps jittered delays within the exponential ceiling and honours Retry-After', () => {
    const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    for (let attempt = 1; attempt <= 6; attempt++) {
      const ceiling = Math.min(1000, 100 * 2 ** (attempt - 1));
      const d = backoffDelay(policy, attempt);
      expect(d).to.be.at.least(ceiling / 2).and.at.most(ceiling);
    }
    expect(backoffDelay(policy, 1, 2500)).to.equal(2500);
  });

  it('retries retryable registry errors, reports each retry, and gives up after the last attempt', async () => {
    const events: RetryEvent[] = [];
    let calls = 0;
    let caught: unknown;
    try {
      await withRetry('op', { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 }, async () => {
        calls++;
        throw new RegistryError({ code: 'REGISTRY_REQUEST', ref: 'r', status: 503, message: 'busy' });
      }, (e) => events.push(e));
    } catch (err) {
      caught = err;
    }
    expect(calls).to.equal(3);
    expect(events.map((e) => e.attempt)).to.deep.equal([1, 2]);
    expect((caught as RegistryError).status).to.equal(503);
  });

  it('does not retry a 404 or a plain error', async () => {
    for (const error of [new RegistryError({ code: 'IMAGE_NOT_FOUND', ref: 'r', status: 404, message: 'gone' }), new Error('bug')]) {
      let calls = 0;
      try {
        await withRetry('op', { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 }, async () => {
          calls++;
          throw error;
        });
      } catch {
        // expected
      }
      expect(calls).to.equal(1);
    }
  });
});
