import { expect } from 'chai';
import { isSpace, trimLeftSpace, trimSpace } from './chars.js';

describe('unicode.IsSpace and the trims built on it', () => {
  it('is Unicode\'s White_Space property for every BMP code unit (not JavaScript\'s \\s: U+0085 yes, U+FEFF no)', () => {
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      expect(isSpace(ch), `U+${c.toString(16)}`).to.equal(/^\p{White_Space}$/u.test(ch));
    }
    expect(isSpace('\u0085')).to.equal(true);
    expect(isSpace('\ufeff')).to.equal(false);
    expect(isSpace('😀')).to.equal(false);
  });

  it('trims as strings.TrimSpace and TrimLeftFunc(unicode.IsSpace) do', () => {
    const cases = ['', ' ', '\t a b \n', '\u00a0\u3000x\u2028', 'x', '\ufeffx\ufeff', ' \u0085y z\u0085 ', '😀 ', ' \u2000\u200a'];
    for (const s of cases) {
      expect(trimSpace(s), JSON.stringify(s)).to.equal(s.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, ''));
      expect(trimLeftSpace(s), JSON.stringify(s)).to.equal(s.replace(/^\p{White_Space}+/u, ''));
    }
  });
});
