import { expect } from 'chai';
import { parseDockerignore } from './dockerignore.js';
import { compile, PatternMatcher } from './patternmatcher.js';

// moby/patternmatcher's own table (patternmatcher_test.go, TestMatches), checked against MatchesOrParentMatches.
const MOBY_TABLE: [string, string, boolean][] = [
  ['**', 'file', true], ['**', 'file/', true], ['**/', 'file', true], ['**/', 'file/', true], ['**', '/', true], ['**/', '/', true],
  ['**', 'dir/file', true], ['**/', 'dir/file', true], ['**', 'dir/file/', true], ['**/', 'dir/file/', true],
  ['**/**', 'dir/file', true], ['**/**', 'dir/file/', true], ['dir/**', 'dir/file', true], ['dir/**', 'dir/file/', true],
  ['dir/**', 'dir/dir2/file', true], ['dir/**', 'dir/dir2/file/', true], ['**/dir', 'dir', true], ['**/dir', 'dir/file', true],
  ['**/dir2/*', 'dir/dir2/file', true], ['**/dir2/*', 'dir/dir2/file/', true], ['**/dir2/**', 'dir/dir2/dir3/file', true],
  ['**/dir2/**', 'dir/dir2/dir3/file/', true], ['**file', 'file', true], ['**file', 'dir/file', true], ['**/file', 'dir/file', true],
  ['**file', 'dir/dir/file', true], ['**/file', 'dir/dir/file', true], ['**/file*', 'dir/dir/file', true],
  ['**/file*', 'dir/dir/file.txt', true], ['**/file*txt', 'dir/dir/file.txt', true], ['**/file*.txt', 'dir/dir/file.txt', true],
  ['**/file*.txt*', 'dir/dir/file.txt', true], ['**/**/*.txt', 'dir/dir/file.txt', true], ['**/**/*.txt2', 'dir/dir/file.txt', false],
  ['**/*.txt', 'file.txt', true], ['**/**/*.txt', 'file.txt', true], ['a**/*.txt', 'a/file.txt', true], ['a**/*.txt', 'a/dir/file.txt', true],
  ['a**/*.txt', 'a/dir/dir/file.txt', true], ['a/*.txt', 'a/dir/file.txt', false], ['a/*.txt', 'a/file.txt', true],
  ['a/*.txt**', 'a/file.txt', true], ['a[b-d]e', 'ae', false], ['a[b-d]e', 'ace', true], ['a[b-d]e', 'aae', false],
  ['a[^b-d]e', 'aze', true], ['.*', '.foo', true], ['.*', 'foo', false], ['abc.def', 'abcdef', false], ['abc.def', 'abc.def', true],
  ['abc.def', 'abcZdef', false], ['abc?def', 'abcZdef', true], ['abc?def', 'abcdef', false], ['a\\\\', 'a\\', true],
  ['**/foo/bar', 'foo/bar', true], ['**/foo/bar', 'dir/foo/bar', true], ['**/foo/bar', 'dir/dir2/foo/bar', true],
  ['abc/**', 'abc', false], ['abc/**', 'abc/def', true], ['abc/**', 'abc/def/ghi', true], ['**/.foo', '.foo', true],
  ['**/.foo', 'bar.foo', false], ['a(b)c/def', 'a(b)c/def', true], ['a(b)c/def', 'a(b)c/xyz', false],
  ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
  ['dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
  ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
  ['a\\*b', 'a*b', true],
];

const MOBY_MULTI: [string[], string, boolean][] = [
  [['**', '!util/docker/web'], 'util/docker/web/foo', false],
  [['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo', true],
  [['**', '!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', false],
  [['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', false],
];

describe('PatternMatcher (moby/patternmatcher port)', () => {
  for (const [pattern, text, pass] of MOBY_TABLE) {
    it(`${pass ? 'matches' : 'does not match'} ${JSON.stringify(text)} with ${JSON.stringify(pattern)}`, () => {
      expect(new PatternMatcher([pattern]).matchesOrParentMatches(text)).to.equal(pass);
    });
  }
  for (const [patterns, text, pass] of MOBY_MULTI) {
    it(`gives ${String(pass)} for ${JSON.stringify(text)} with ${JSON.stringify(patterns)}`, () => {
      expect(new PatternMatcher(patterns).matchesOrParentMatches(text)).to.equal(pass);
    });
  }

  // moby TestWildcardMatches, TestPatternMatches, TestExclusionPattern*, TestPatternMatchesFolder*.
  const cases: [string[], string, boolean][] = [
    [['*'], 'fileutils.go', true],
    [['*.go'], 'fileutils.go', true],
    [['*.go', '!fileutils.go'], 'fileutils.go', false],
    [['docs', '!docs/README.md'], 'docs/README.md', false],
    [['docs/', '!docs/README.md'], 'docs/README.md', false],
    [['docs/*', '!docs/README.md'], 'docs/README.md', false],
    [['!fileutils.go', '*.go'], 'fileutils.go', true],
    [['*.go', '!docs'], 'docs/README.md', false],
  ];
  for (const [patterns, text, pass] of cases) {
    it(`gives ${String(pass)} for ${text} with ${JSON.stringify(patterns)} (moby single-purpose tests)`, () => {
      expect(new PatternMatcher(patterns).excludes(text)).to.equal(pass);
    });
  }

  it('refuses a lone "!" as moby does', () => {
    expect(() => new PatternMatcher(['!'])).to.throw().with.property('code', 'INVALID_ARGUMENT');
  });
  it('refuses a malformed pattern with INVALID_ARGUMENT', () => {
    expect(() => new PatternMatcher(['[a-'])).to.throw().with.property('code', 'INVALID_ARGUMENT');
  });
  it('never excludes the context root', () => {
    expect(new PatternMatcher(['**']).excludes('.')).to.equal(false);
  });
});

describe('.dockerignore matching (docker on Linux)', () => {
  const ignored = (text: string, path: string) => new PatternMatcher(parseDockerignore(text)).excludes(path);
  it('is case-sensitive: `build` does not drop `Build/`', () => {
    expect(ignored('build\n', 'Build/x.txt')).to.equal(false);
    expect(ignored('build\n', 'build/x.txt')).to.equal(true);
  });
  it('reads a leading / as the context root and a trailing / as the directory', () => {
    expect(ignored('/node_modules/\n', 'node_modules/a/b.js')).to.equal(true);
    expect(ignored('/node_modules/\n', 'sub/node_modules/a.js')).to.equal(false);
  });
  it('cleans `..` and `.` in patterns', () => {
    expect(ignored('a/../b/./c\n', 'b/c')).to.equal(true);
  });
  it('lets a later `!` re-include a file below an excluded directory', () => {
    expect(ignored('docs\n!docs/keep.md\n', 'docs/keep.md')).to.equal(false);
    expect(ignored('docs\n!docs/keep.md\n', 'docs/drop.md')).to.equal(true);
  });
  it('matches ** across directories', () => {
    expect(ignored('**/*.tmp\n', 'a/b/c.tmp')).to.equal(true);
    expect(ignored('**/*.tmp\n', 'c.tmp')).to.equal(true);
  });
});

describe('patternmatcher: patterns whose RegExp could backtrack without end match in linear time, with its answers', () => {
  it('answers **/**/…/a*a*a*a*a*a*a*a*a*b against a 40-deep path of a…a names at once (backtracking never ended)', () => {
    const pattern = `${'**/'.repeat(200)}a*a*a*a*a*a*a*a*a*b`;
    const path = `${'q/'.repeat(40)}${'a'.repeat(60)}`;
    expect(new PatternMatcher([pattern]).matchesOrParentMatches(path)).to.equal(false);
    expect(new PatternMatcher([pattern]).matchesOrParentMatches(`${path}b`)).to.equal(true);
  });

  it('gives what the RegExp gives on 5,000 random patterns and paths', () => {
    let seed = 11;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pick = (alphabet: string[], len: number): string => Array.from({ length: len }, () => alphabet[rand(alphabet.length)] ?? '').join('');
    for (let i = 0; i < 5_000; i++) {
      const pattern = `${pick(['a', 'b', '*', '**/', '?', '/', '[ab]', '.'], 2 + rand(5))}*`;
      const path = pick(['a', 'b', '/', '.'], 1 + rand(8));
      const { type, source } = compile(pattern);
      if (type !== 'regexp') continue;
      const want = new RegExp(source).test(path);
      const got = new PatternMatcher([pattern]).matchesOrParentMatches(path);
      const parents = path.split('/').slice(0, -1).map((_, k, parts) => parts.slice(0, k + 1).join('/'));
      expect(got, `${pattern} ~ ${path}`).to.equal(want || parents.some((p) => new RegExp(source).test(p)));
    }
  });

  it('reads a pattern\'s plain ends as moby\'s RegExp does: an escape is a class, the / of a **/ is optional', () => {
    expect(new PatternMatcher(['token\\d']).matchesOrParentMatches('token1')).to.equal(true);
    expect(new PatternMatcher(['id**/rsa']).matchesOrParentMatches('idrsa')).to.equal(true);
    expect(new PatternMatcher(['id**/rsa']).matchesOrParentMatches('id/x/rsa')).to.equal(true);
    expect(new PatternMatcher(['*.log']).matchesOrParentMatches('a.txt')).to.equal(false);
  });

  it('gives moby\'s per-path answers when one matcher checks many paths (its answers per directory are kept)', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pick = (alphabet: string[], len: number): string => Array.from({ length: len }, () => alphabet[rand(alphabet.length)] ?? '').join('');
    // moby's MatchesOrParentMatches, written out: the path, then each parent prefix, tried against every pattern.
    const test = (pattern: string, text: string): boolean => {
      const { type, source } = compile(pattern);
      if (type === 'exact') return text === pattern;
      if (type === 'prefix') return text.startsWith(pattern.slice(0, -2));
      if (type === 'suffix') return text.endsWith(pattern.slice(2)) || (pattern.startsWith('**/') && text === pattern.slice(3));
      return new RegExp(source).test(text);
    };
    for (let round = 0; round < 500; round++) {
      const segment = (): string => ['a', 'b', 'ab', '*', '**', '?', 'a*', 'a**', '\\w', 'b\\w'][rand(10)] ?? '';
      const patterns = Array.from({ length: 1 + rand(6) }, () => `${rand(3) === 0 ? '!' : ''}${Array.from({ length: 1 + rand(3) }, segment).join('/')}`);
      const matcher = new PatternMatcher(patterns);
      const cleaned = matcher.patterns;
      for (let i = 0; i < 40; i++) {
        const path = Array.from({ length: 1 + rand(5) }, () => pick(['a', 'b'], 1 + rand(2))).join('/');
        const prefixes = path.split('/').slice(0, -1).map((_, k, parts) => parts.slice(0, k + 1).join('/'));
        let want = false;
        for (const pattern of cleaned) {
          const exclusion = pattern.startsWith('!');
          if (exclusion !== want) continue;
          const bare = exclusion ? pattern.slice(1) : pattern;
          if (test(bare, path) || prefixes.some((p) => test(bare, p))) want = !exclusion;
        }
        expect(matcher.matchesOrParentMatches(path), `${JSON.stringify(patterns)} ~ ${path}`).to.equal(want);
      }
    }
  });
});
