import { expect } from 'chai';
import { prefixedName } from './bake-progress.js';

describe('bake progress names', () => {
  it('puts the target inside a step label\'s brackets and before any other name, as buildx\'s addPrefix does', () => {
    expect(prefixedName('app', '[build 2/3] RUN make')).to.equal('[app build 2/3] RUN make');
    expect(prefixedName('app', '[1/2] FROM busybox')).to.equal('[app 1/2] FROM busybox');
    expect(prefixedName('app', 'pushing localhost:5000/app:1')).to.equal('[app] pushing localhost:5000/app:1');
  });
});
