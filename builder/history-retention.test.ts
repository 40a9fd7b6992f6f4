import { expect } from 'chai';
import { DEFAULT_HISTORY_RETENTION, historyRetentionFromEnv } from './history-retention.js';

describe('history retention from the environment', () => {
  it('keeps BuildKit\'s 50 newest builds by default, with no age limit', () => {
    expect(historyRetentionFromEnv({})).to.deep.equal({ maxEntries: 50 });
    expect(DEFAULT_HISTORY_RETENTION).to.deep.equal({ maxEntries: 50 });
  });

  it('reads a count and an age as buildkitd.toml gives them (seconds) or as a duration; 0 and off lift a limit', () => {
    expect(historyRetentionFromEnv({ TSBUILD_HISTORY_MAX_ENTRIES: '10', TSBUILD_HISTORY_MAX_AGE: '172800' })).to.deep.equal({ maxEntries: 10, maxAgeMs: 172_800_000 });
    expect(historyRetentionFromEnv({ TSBUILD_HISTORY_MAX_AGE: '7d' })).to.deep.equal({ maxEntries: 50, maxAgeMs: 7 * 86_400_000 });
    expect(historyRetentionFromEnv({ TSBUILD_HISTORY_MAX_ENTRIES: '0' })).to.deep.equal({});
    expect(historyRetentionFromEnv({ TSBUILD_HISTORY_MAX_ENTRIES: 'off', TSBUILD_HISTORY_MAX_AGE: 'off' })).to.deep.equal({});
  });

  it('names the variable and what to give when a value is not one', () => {
    expect(() => historyRetentionFromEnv({ TSBUILD_HISTORY_MAX_ENTRIES: 'ten' })).to.throw(/TSBUILD_HISTORY_MAX_ENTRIES="ten"/).with.property('code', 'INVALID_ARGUMENT');
    expect(() => historyRetentionFromEnv({ TSBUILD_HISTORY_MAX_ENTRIES: '-1' })).to.throw(/not a count/);
    expect(() => historyRetentionFromEnv({ TSBUILD_HISTORY_MAX_AGE: 'soon' })).to.throw(/TSBUILD_HISTORY_MAX_AGE="soon" is not a duration/).with.property('code', 'INVALID_ARGUMENT');
  });
});
