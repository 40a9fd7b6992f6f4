import { expect } from 'chai';
import { cacheFilter, typeSelected } from './cache-filter.js';

describe('du and prune --filter', () => {
  it('takes until and type (=, ==, !=) as buildx writes them', () => {
    expect(cacheFilter(['until=24h'])).to.deep.equal({ until: 86_400_000 });
    const mounts = cacheFilter(['type=exec.cachemount']);
    expect(typeSelected(mounts, 'exec.cachemount')).to.equal(true);
    expect(typeSelected(mounts, 'regular')).to.equal(false);
    const notMounts = cacheFilter(['type!=exec.cachemount', 'until=1h']);
    expect(typeSelected(notMounts, 'regular')).to.equal(true);
    expect(typeSelected(notMounts, 'exec.cachemount')).to.equal(false);
    expect(typeSelected(cacheFilter(['type==regular']), 'regular')).to.equal(true);
    // A BuildKit type tsbuild keeps no records of selects nothing here.
    const local = cacheFilter(['type=source.local']);
    expect(typeSelected(local, 'regular') || typeSelected(local, 'exec.cachemount')).to.equal(false);
    expect(typeSelected(cacheFilter([]), 'exec.cachemount')).to.equal(true);
  });

  it('refuses other keys and unknown types by name', () => {
    expect(() => cacheFilter(['id=abc'])).to.throw('unsupported --filter id=abc');
    expect(() => cacheFilter(['type=layers'])).to.throw('no record type layers');
  });
});
