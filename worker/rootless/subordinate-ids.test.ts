import { expect } from 'chai';
import { subordinateRanges } from './subordinate-ids.js';
import { contiguousFromZero, isIdentityMap } from './user-namespace.js';

describe('rootless id maps', () => {
  it('finds a user\'s subordinate ranges by name or uid, skipping comments and malformed lines', () => {
    const text = '# comment\nalice:100000:65536\nbob:165536:65536\n1001:300000:1000\nalice:x:1\nalice:5:0\n';
    expect(subordinateRanges(text, 'alice', 1000)).to.deep.equal([{ start: 100000, count: 65536 }]);
    expect(subordinateRanges(text, 'carol', 1001)).to.deep.equal([{ start: 300000, count: 1000 }]);
    expect(subordinateRanges(text, 'dave', 1002)).to.deep.equal([]);
  });

  it('tells the initial namespace\'s map from a user namespace\'s', () => {
    expect(isIdentityMap('         0          0 4294967295\n')).to.equal(true);
    expect(isIdentityMap('0 1001 1\n1 300000 65536\n')).to.equal(false);
  });

  it('counts the ids a map covers from 0 without a hole', () => {
    expect(contiguousFromZero('0 1001 1\n1 300000 65536\n')).to.equal(65537);
    expect(contiguousFromZero('0 1001 1\n5 300000 10\n')).to.equal(1);
    expect(contiguousFromZero('0 0 4294967295\n')).to.equal(4294967295);
  });
});
