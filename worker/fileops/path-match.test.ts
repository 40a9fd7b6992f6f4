import { expect } from 'chai';
import { hasWildcard, matchSegment } from './path-match.js';

describe('matchSegment (Go filepath.Match on one segment)', () => {
  const cases: [string, string, boolean][] = [
    ['*', 'abc', true], ['*', '.hidden', true], ['*.ts', 'app.ts', true], ['*.ts', 'app.tsx', false],
    ['a?c', 'abc', true], ['a?c', 'ac', false], ['[abc]x', 'bx', true], ['[^abc]x', 'bx', false],
    ['[a-c]*', 'cat', true], ['[a-c]*', 'dog', false], ['\\*', '*', true], ['\\*', 'a', false],
    ['a.b', 'axb', false], ['(x)', '(x)', true], ['[\\]]', ']', true],
  ];
  for (const [pattern, name, expected] of cases) {
    it(`${expected ? 'matches' : 'does not match'} ${JSON.stringify(name)} with ${JSON.stringify(pattern)}`, () => {
      expect(matchSegment(pattern, name)).to.equal(expected);
    });
  }

  it('refuses a malformed pattern with INVALID_ARGUMENT', () => {
    for (const bad of ['[', '[a', '[]', 'a\\', '[z-a]']) {
      expect(() => matchSegment(bad, 'x'), bad).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('sees wildcards only when they are not escaped', () => {
    expect(hasWildcard('a*')).to.equal(true);
    expect(hasWildcard('a\\*')).to.equal(false);
    expect(hasWildcard('plain.txt')).to.equal(false);
  });
});
