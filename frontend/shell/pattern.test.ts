import { expect } from 'chai';
import { replaceMatches, shellPatternToRegex, trimPrefix, trimSuffix } from './pattern.js';

// The linear matcher (patterns with two or more `*`) must give what the backtracking RegExp gives, wherever the
// RegExp finishes: compared on every pattern and value of a small alphabet, seeded so a failure repeats.
describe('shell patterns: the linear matcher agrees with the RegExp', () => {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pick = (alphabet: string, len: number): string => Array.from({ length: len }, () => alphabet[rand(alphabet.length)] ?? '').join('');

  it('on 3,000 random patterns over a*?/ and values over ab/', () => {
    for (let i = 0; i < 3_000; i++) {
      const pattern = `*${pick('ab*?/', 1 + rand(5))}*`;
      const value = pick('ab/', rand(9));
      const reversed = Array.from(value).reverse().join('');
      for (const greedy of [false, true]) {
        const m = shellPatternToRegex(pattern, greedy, true).exec(value);
        expect(trimPrefix(pattern, value, greedy), `${pattern} # ${value}`).to.equal(m ? value.slice(m[0].length) : value);
        const rp = Array.from(pattern).reverse().join('');
        const r = shellPatternToRegex(rp, greedy, true).exec(reversed);
        const want = Array.from(r ? reversed.slice(r[0].length) : reversed).reverse().join('');
        expect(trimSuffix(pattern, value, greedy), `${pattern} % ${value}`).to.equal(want);
      }
      for (const all of [false, true]) {
        const want = value.replace(shellPatternToRegex(pattern, true, false, all), () => '-');
        expect(replaceMatches(pattern, value, all, () => '-'), `${pattern} / ${value}`).to.equal(want);
      }
    }
  });
});
