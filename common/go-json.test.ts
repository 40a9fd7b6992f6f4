import { expect } from 'chai';
import { goJson } from './go-json.js';

describe('goJson', () => {
  it('escapes what Go\'s encoding/json escapes, with MarshalIndent\'s two spaces', () => {
    expect(goJson({ a: '<b>&\u2028' })).to.equal('{\n  "a": "\\u003cb\\u003e\\u0026\\u2028"\n}');
  });
});
