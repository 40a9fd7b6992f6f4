import { expect } from 'chai';
import { parseDockerignore } from './dockerignore.js';
import { PatternMatcher } from './patternmatcher.js';

describe('.dockerignore', () => {
  it('refuses an ignore file of more than 10,000 patterns by name (300,000 took minutes and gigabytes)', () => {
    const text = Array.from({ length: 10_001 }, (_, i) => `p${i}`).join('\n');
    expect(() => parseDockerignore(text, 'ctx/Dockerfile.dockerignore')).to.throw('ctx/Dockerfile.dockerignore holds more than 10000 patterns');
    expect(parseDockerignore(Array.from({ length: 10_000 }, (_, i) => `p${i}`).join('\n'))).to.have.length(10_000);
  });

  it('drops comments and blank lines, cleans paths and keeps ! exceptions', () => {
    const text = '# comment\n\n  node_modules/  \n/dist\n!dist/keep.txt\n./a/../b\n*.log\r\n';
    expect(parseDockerignore(text)).to.deep.equal(['node_modules', 'dist', '!dist/keep.txt', 'b', '*.log']);
  });

  const table: [string, string[], string, boolean][] = [
    ['excludes a directory and everything in it', ['node_modules'], 'node_modules/x/y.js', true],
    ['matches * within one path segment only', ['*.log'], 'sub/a.log', false],
    ['matches ** across segments', ['**/*.log'], 'sub/deep/a.log', true],
    ['re-includes with a later ! exception', ['*.md', '!README.md'], 'README.md', false],
    ['lets a later pattern override an exception', ['*.md', '!README.md', 'README*'], 'README.md', true],
    ['keeps files no pattern names', ['dist'], 'src/index.ts', false],
    ['never excludes the context root', ['*'], '.', false],
  ];
  for (const [name, patterns, path, want] of table) {
    it(`${name}: ${JSON.stringify(patterns)} on ${path}`, () => {
      expect(new PatternMatcher(patterns).excludes(path)).to.equal(want);
    });
  }
});
