import { expect } from 'chai';
import { mibPerSecond, ratioOf, summarize } from './stats.js';

describe('bench stats', () => {
  it('takes the middle sample as the median of an odd count and keeps the samples in their order', () => {
    expect(summarize([30, 10, 20])).to.deep.equal({ median: 20, min: 10, max: 30, samples: [30, 10, 20] });
  });

  it('averages the two middle samples of an even count', () => {
    expect(summarize([4, 1, 3, 2]).median).to.equal(2.5);
  });

  it('refuses to summarize nothing', () => {
    expect(() => summarize([])).to.throw(/no samples/);
  });

  it('divides medians for the ratio and gives none when the peer took no time', () => {
    expect(ratioOf(summarize([50]), summarize([100]))).to.equal(0.5);
    expect(ratioOf(summarize([50]), summarize([0]))).to.equal(undefined);
  });

  it('converts bytes per millisecond to MiB/s', () => {
    expect(mibPerSecond(200 * 1024 * 1024, 2000)).to.equal(100);
  });
});
