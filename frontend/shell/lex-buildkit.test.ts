import { expect } from 'chai';
import { processWord, processWords, ShellSyntaxError } from './lex.js';
import { shellPatternToRegex, trimSuffix } from './pattern.js';

// Our own cases for the behaviours BuildKit's shell lexer tests pin down (frontend/dockerfile/shell/lex_test.go):
// what a word expands to, and which names it found set (matched) or not (unmatched: what the UndefinedVar check reads).

const lookupIn = (env: Record<string, string>) => (name: string): string | undefined => (Object.hasOwn(env, name) ? env[name] : undefined);

describe('shell lexer: BuildKit ProcessWordWithMatches behaviours', () => {
  // [input, env, expected, matched, unmatched] (mirrors TestProcessWithMatches)
  const cases: [string, Record<string, string>, string, string[], string[]][] = [
    ['x', { DUMMY: 'dummy' }, 'x', [], []],
    ['x ${UNUSED}', { DUMMY: 'dummy' }, 'x ', [], ['UNUSED']],
    ['x ${FOO}', { FOO: 'y' }, 'x y', ['FOO'], []],
    ['${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx  ccc', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx bbb ccc', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:-}', { FOO: 'xxx' }, 'xxx', ['FOO'], []],
    ['${FOO:-}', {}, '', [], ['FOO']],
    ['${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa bbb ', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa  ', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO?aaa}', { FOO: 'xxx' }, 'xxx', ['FOO'], []],
    ['${BAR?bbb}', { BAR: '' }, '', ['BAR'], []],
    ['${FOO:?aaa}', { FOO: 'xxx' }, 'xxx', ['FOO'], []],
    ['${FOO#()[]{\\}^$.\\*\\?|\\\\}', { FOO: '()[]{}^$.*?|\\x' }, 'x', ['FOO'], []],
    ['${FOO%%\\**}', { FOO: 'xx**' }, 'xx', ['FOO'], []],
    ['${FOO#*x*y}', { FOO: 'xxyy' }, 'y', ['FOO'], []],
    ['${FOO#*}', { FOO: 'xxyy' }, 'xxyy', ['FOO'], []],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: 'x' }, 'xyy', ['FOO', 'BAR'], []],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy', ['FOO', 'BAR'], []],
    ['${FOO#}', { FOO: 'xxyy' }, 'xxyy', ['FOO'], []],
    ['${FOO##*x}', { FOO: 'xxyy' }, 'yy', ['FOO'], []],
    ['${FOO##}', { FOO: 'xxyy' }, 'xxyy', ['FOO'], []],
    ['${FOO#?\\?}', { FOO: '???y' }, '?y', ['FOO'], []],
    ['${ABC:-.}${FOO%x}${ABC:-.}', { FOO: 'xxyy' }, '.xxyy.', ['FOO'], ['ABC']],
    ['${FOO%%\\**\\*}', { FOO: 'a***yy*' }, 'a', ['FOO'], []],
    ['${FOO%}', { FOO: 'xxyy' }, 'xxyy', ['FOO'], []],
    ['${FOO%%$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy', ['FOO', 'BAR'], []],
    ['${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' }, '/foo.*/*.txt - /foo..*.txt', ['FOO', 'NEEDLE'], []],
    ['${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' }, '/tmp/bar.txt - /bar.txt', ['FOO', 'NEEDLE'], []],
    ['${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}', { FOO: '/a/foo/b/c.txt', NEEDLE: '/?/', REPLACEMENT: '/' }, '/foo/b/c.txt - /foo/c.txt', ['FOO', 'NEEDLE', 'REPLACEMENT'], []],
    ['${FOO/$NEEDLE/$REPLACEMENT}', { FOO: 'http://google.de', NEEDLE: 'http://', REPLACEMENT: 'https://' }, 'https://google.de', ['FOO', 'NEEDLE', 'REPLACEMENT'], []],
    ['${FOO//\\//\\/}', { FOO: '/tmp/foo.txt' }, '\\/tmp\\/foo.txt', ['FOO'], []],
    ['${FOO/$BAR/ww}', { FOO: 'xxyy', BAR: '' }, 'wwxxyy', ['FOO', 'BAR'], []],
    ['${FOO///}', { FOO: 'xxyy' }, 'xxyy', ['FOO'], []],
    ['${FOO///}', {}, '', [], ['FOO']],
  ];
  for (const [input, env, want, matched, unmatched] of cases) {
    it(`expands ${input} with ${JSON.stringify(env)} to ${JSON.stringify(want)}, reporting what it found and missed`, () => {
      const r = processWord(input, lookupIn(env));
      expect(r.result).to.equal(want);
      expect([...r.matched].sort()).to.deep.equal([...matched].sort());
      expect([...r.unmatched].sort()).to.deep.equal([...unmatched].sort());
    });
  }

  const errors: [string, Record<string, string>][] = [
    ['${BAZ?ccc}', { FOO: 'xxx', BAR: '' }],
    ['${BAR:?bbb}', { FOO: 'xxx', BAR: '' }],
    ['${BAZ:?ccc}', { FOO: 'xxx', BAR: '' }],
    ['${BAZ:?}', {}],
    ['${FOO=aaa}', { FOO: 'xxx' }],
    ['${FOO=:aaa}', { FOO: 'xxx' }],
    ['${FOO=}', {}],
    ['${FOO:#}', {}],
    ['${FOO:##}', {}],
    ['${FOO:%}', {}],
    ['${FOO:%%}', {}],
    ['${FOO//ww}', { FOO: 'xxyy' }],
    ['${FOO//}', { FOO: 'xxyy' }],
  ];
  for (const [input, env] of errors) {
    it(`refuses ${input} with a ShellSyntaxError`, () => {
      expect(() => processWord(input, lookupIn(env))).to.throw(ShellSyntaxError);
    });
  }

  it('puts the expanded message of ${VAR:?msg} / ${VAR?msg} in the error (TestShellParserMandatoryEnvVars)', () => {
    const noEmpty = '${VAR:?message here$ARG}';
    const noUnset = '${VAR?message here$ARG}';
    expect(processWord(noEmpty, lookupIn({ VAR: 'plain', ARG: 'x' })).result).to.equal('plain');
    expect(() => processWord(noEmpty, lookupIn({ VAR: '', ARG: 'x' }))).to.throw(ShellSyntaxError, 'message herex');
    expect(() => processWord(noEmpty, lookupIn({ ARG: 'x' }))).to.throw(ShellSyntaxError, 'message herex');
    expect(processWord(noUnset, lookupIn({ VAR: 'plain', ARG: 'x' })).result).to.equal('plain');
    expect(processWord(noUnset, lookupIn({ VAR: '', ARG: 'x' })).result).to.equal('');
    expect(() => processWord(noUnset, lookupIn({ ARG: 'x' }))).to.throw(ShellSyntaxError, 'message herex');
  });

  it('drops the -variant part of a release file name when TARGETVARIANT is empty or unset (TestProcessWithMatchesPlatform)', () => {
    const release = 'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz';
    const base = { VERSION: 'v1.2.3', TARGETOS: 'linux' };
    expect(processWord(release, lookupIn({ ...base, TARGETARCH: 'arm', TARGETVARIANT: 'v7' })).result).to.equal('something-v1.2.3.linux-arm-v7.tar.gz');
    expect(processWord(release, lookupIn({ ...base, TARGETARCH: 'arm64', TARGETVARIANT: '' })).result).to.equal('something-v1.2.3.linux-arm64.tar.gz');
    expect(processWord(release, lookupIn({ ...base, TARGETARCH: 'arm64' })).result).to.equal('something-v1.2.3.linux-arm64.tar.gz');
  });

  it('splits words after expansion, keeping quoted blanks and dropping unquoted ones (TestShellParser4Words)', () => {
    const env = lookupIn({ hi: 'hi', space: 'abc  def', leading: '  ab c', trailing: 'ab c   ' });
    expect(processWords('hello${space}bye', env)).to.deep.equal(['helloabc', 'defbye']);
    expect(processWords('hello"${space}"bye', env)).to.deep.equal(['helloabc  defbye']);
    expect(processWords('hello${leading}def', env)).to.deep.equal(['hello', 'ab', 'cdef']);
    expect(processWords('hello${trailing}d', env)).to.deep.equal(['helloab', 'c', 'd']);
    expect(processWords('hello\\" there', env)).to.deep.equal(['hello"', 'there']);
    expect(() => processWords('hello" there', env)).to.throw(ShellSyntaxError);
  });
});

describe('shell lexer: BuildKit details beyond its tables', () => {
  it('reads any character after `${name:` as a modifier word, failing only on a set name (lex.go falls through)', () => {
    expect(processWord('${a:x}', lookupIn({}), { skipUnsetEnv: true }).result).to.equal('${a:x}');
    expect(() => processWord('${a:x}', lookupIn({ a: '1' }), { skipUnsetEnv: true })).to.throw(ShellSyntaxError, 'unsupported modifier');
    expect(() => processWord('${a:x}', lookupIn({}))).to.throw(ShellSyntaxError, 'unsupported modifier');
  });

  it('splits words on Go\'s unicode.IsSpace (U+0085 and U+00A0 are blanks, U+FEFF is not)', () => {
    expect(processWords('a\u0085b\u00a0c\ufeffd', lookupIn({}))).to.deep.equal(['a', 'b', 'c\ufeffd']);
    expect(processWords('$v\u0085b', lookupIn({ v: 'x\u00a0y' }))).to.deep.equal(['x', 'y', 'b']);
  });
});

describe('shell patterns: BuildKit convertShellPatternToRegex behaviours', () => {
  const cases: [string, string][] = [
    ['*', 'abc'],
    ['?', 'a'],
    ['\\*', '*'],
    ['(()[]{\\}^$.\\*\\?|\\\\', '(()[]{}^$.*?|\\'],
  ];
  for (const [pattern, matches] of cases) {
    it(`reads ${pattern} as a shell pattern matching ${JSON.stringify(matches)} at the start, regex characters literal`, () => {
      const re = shellPatternToRegex(pattern, true, true);
      expect(re.exec(matches)?.[0]).to.equal(matches);
    });
  }
  for (const pattern of ['\\', '\\x', '\\\\\\']) {
    it(`refuses the bad escape in ${JSON.stringify(pattern)}`, () => {
      expect(() => shellPatternToRegex(pattern, true, true)).to.throw(ShellSyntaxError);
    });
  }

  it('trims suffixes of multi-code-unit characters and escaped wildcards whole (TestReverseString, TestReversePattern)', () => {
    expect(trimSuffix('🚀👽', '🖖🚀👽', false)).to.equal('🖖');
    expect(trimSuffix('b\\*c', 'ab*c', false)).to.equal('a');
    expect(trimSuffix('\\\\b', 'a\\b', false)).to.equal('a');
  });
});
