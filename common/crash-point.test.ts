import { expect } from 'chai';
import { crashPoint, testHooksFromEnv } from './crash-point.js';

describe('test hooks', () => {
  it('reads a known crash point from TSBUILD_CRASH_AT and nothing else from the environment', () => {
    expect(testHooksFromEnv({ TSBUILD_CRASH_AT: 'before-cache-put' })).to.deep.equal({ crashAt: 'before-cache-put' });
    expect(testHooksFromEnv({})).to.deep.equal({});
  });

  it('ignores a crash point it does not know rather than crashing somewhere unexpected', () => {
    expect(testHooksFromEnv({ TSBUILD_CRASH_AT: 'everywhere' })).to.deep.equal({});
  });

  it('does nothing at a point other than the one asked for, or with no hooks', () => {
    crashPoint({ crashAt: 'after-cache-put' }, 'before-cache-put');
    crashPoint(undefined, 'ingest-commit');
    crashPoint({}, 'before-build-record');
  });
});
