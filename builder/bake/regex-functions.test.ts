import { expect } from 'chai';
import { parseBakeFiles, printDefinition, resolveTargets } from './index.js';
import { printInChild } from '../../test/fixtures/bake-in-child.js';
import { failure } from '../../test/fixtures/tsbuild-failure.js';

// regex, regexall and regex_replace as buildx evaluates them: go-cty's functions on Go's regexp (RE2). The pattern,
// string and replacement reach the bake file as variables, so each case is written as Go sees it, with no HCL
// escaping. Every expected value is what Go answers: go1.19 regexp with go-cty's result shapes
// (cty/function/stdlib/regexp.go, string_replace.go), run on this very table; `(?<=` as Go >= 1.22 (which buildx is
// built with) reports it, from regexp/syntax parse.go.

const HCL = [
  'variable "P" {\n  default = ""\n}', 'variable "S" {\n  default = ""\n}', 'variable "R" {\n  default = ""\n}',
  'target "default" {',
  '  tags = [jsonencode(EXPR)]',
  '}', '',
].join('\n');

type Fn = 'regex' | 'regexall' | 'regex_replace';
const call = (fn: Fn): string => (fn === 'regex_replace' ? 'regex_replace(S, P, R)' : `${fn}(P, S)`);

function bake(fn: Fn, pattern: string, s: string, replacement = ''): unknown {
  const files = [{ name: 'docker-bake.hcl', text: HCL.replace('EXPR', call(fn)) }];
  const env: Record<string, string> = { P: pattern, S: s, R: replacement };
  const config = parseBakeFiles(files, { lookupVar: (n) => env[n], builtins: {} });
  const out = JSON.parse(printDefinition(resolveTargets(config, ['default'], []))) as { target: { default: { tags: string[] } } };
  return JSON.parse(out.target.default.tags[0] ?? '');
}


describe('bake regex functions (Go regexp, RE2)', () => {
  it('answers patterns that backtrack exponentially in JavaScript at once, as Go\'s linear-time regexp does', async () => {
    // Evaluated in a child process, so an engine that backtracks (JavaScript's RegExp took minutes for `(a+)+$` on 30 "a"s
    // and a "!") is stopped and reported instead of hanging the run.
    const env = { S: 'a'.repeat(20000) + '!', X: 'x'.repeat(20000) };
    const hcl = 'variable "S" {\n  default = ""\n}\nvariable "X" {\n  default = ""\n}\ntarget "default" {\n  tags = [jsonencode([length(regexall("(a+)+$", S)), length(regexall("(x+x+)+y", X)), regex_replace(S, "^(a|aa)+$", "-") == S, try(regex("(a*)*b", S), "no match")])]\n}\n';
    const answer = await printInChild([{ name: 'docker-bake.hcl', text: hcl }], { env });
    const tags = 'definition' in answer ? (answer.definition as { target: { default: { tags: string[] } } }).target.default.tags : answer;
    expect(tags).to.deep.equal([JSON.stringify([0, 0, true, 'no match'])]);
  });

  // [function, pattern, string, (replacement,) Go's answer]
  const cases: [Fn, string, string, string | undefined, unknown][] = [
    // RE2 syntax JavaScript lacks or reads another way.
    ['regex', '(?U)a+', 'aaa', undefined, 'a'],
    ['regex', '(?U)(a+)(a*?)', 'aaa', undefined, ['a', 'aa']],
    ['regex', 'a\\z', 'a\na', undefined, 'a'],
    ['regex', '\\Aa', 'ab', undefined, 'a'],
    ['regex', '[[:alpha:]]+', '12ab3', undefined, 'ab'],
    ['regex', '[[:^digit:]]+', '12ab3', undefined, 'ab'],
    ['regex', '\\Qa.b\\E', 'axb a.b', undefined, 'a.b'],
    ['regex', 'a(?i)b', 'AB aB', undefined, 'aB'],
    ['regex', '\\pL+', '12éa3', undefined, 'éa'],
    ['regex', '\\p{Greek}+', 'aαβ', undefined, 'αβ'],
    ['regex', '\\x{41}', 'A', undefined, 'A'],
    ['regex', 'a{,3}', 'aa a{,3}', undefined, 'a{,3}'],
    ['regex', '(?s).+', 'a\nb', undefined, 'a\nb'],
    ['regex', '.+', 'a\nb', undefined, 'a'],
    ['regexall', '\\s', 'a\vb c', undefined, [' ']],
    // Result shapes: the match, a list of the groups (null for one that took no part), an object of named groups.
    ['regex', '(?P<year>\\d{4})-(?P<month>\\d{2})', 'v2024-05', undefined, { month: '05', year: '2024' }],
    ['regex', '(?P<a>.)(?P<a>.)', 'xy', undefined, { a: 'y' }],
    ['regex', '(a)|(b)', 'b', undefined, [null, 'b']],
    ['regex', '(a|ab)(c|bcd)(d*)', 'abcd', undefined, ['a', 'bcd', '']],
    ['regexall', '(a)|(b)', 'ab', undefined, [['a', null], [null, 'b']]],
    ['regexall', '(?P<k>\\w+)=(?P<v>\\w*)', 'a=1 b=', undefined, [{ k: 'a', v: '1' }, { k: 'b', v: '' }]],
    // After an empty match the search moves on, and an empty match where the last one ended does not count.
    ['regexall', 'a*', 'baaac', undefined, ['', 'aaa', '']],
    ['regexall', '\\b', 'ab cd', undefined, ['', '', '', '']],
    // Replacements as Go's Regexp.Expand: the longest name after `$`, numbers or names, empty when no such group.
    ['regex_replace', 'a(x*)b', '-ab-axxb-', '${1}W', '-W-xxW-'],
    ['regex_replace', 'a(x*)b', '-ab-axxb-', '$1W', '---'],
    ['regex_replace', '(b)', 'abc', '$0$1', 'abbc'],
    ['regex_replace', '(b)', 'abc', '$10', 'ac'],
    ['regex_replace', '(b)', 'abc', '$01', 'ac'],
    ['regex_replace', '(?P<n>b)', 'abc', '[$n|${n}]', 'a[b|b]c'],
    ['regex_replace', 'b', 'abc', '$$|$|${|$-', 'a$|$|${|$-c'],
    ['regex_replace', 'a*', 'baaac', '-', '-b-c-'],
    ['regex_replace', '', '😀x', '-', '-😀-x-'],
  ];
  for (const [fn, pattern, s, replacement, want] of cases) {
    it(`gives Go's answer for ${fn} ${JSON.stringify(pattern)} on ${JSON.stringify(s)}${replacement === undefined ? '' : ` with ${JSON.stringify(replacement)}`}`, () => {
      expect(bake(fn, pattern, s, replacement)).to.deep.equal(want);
    });
  }

  it('refuses what Go\'s regexp refuses (backreferences, lookaround, possessive repeats), with Go\'s reason, at the call', () => {
    const refused: [string, string][] = [
      ['(a)\\1', 'invalid escape sequence: `\\1`'],
      ['a(?=b)', 'invalid or unsupported Perl syntax: `(?=`'],
      ['a(?!b)', 'invalid or unsupported Perl syntax: `(?!`'],
      ['(?<=a)b', 'invalid named capture: `(?<=a)b`'],
      ['\\k<n>', 'invalid escape sequence: `\\k`'],
      ['a++', 'invalid nested repetition operator: `++`'],
      ['a\\Z', 'invalid escape sequence: `\\Z`'],
      ['(?#c)a', 'invalid or unsupported Perl syntax: `(?#`'],
    ];
    for (const [pattern, reason] of refused) {
      for (const fn of ['regex', 'regexall', 'regex_replace'] as const) {
        const err = failure(() => bake(fn, pattern, 'aab'));
        expect(err.code, pattern).to.equal('BAKE_DEFINITION');
        expect(err.message, `${fn} ${pattern}`).to.equal(`docker-bake.hcl:11,22-${23 + fn.length}: Error in function call; Call to function "${fn}" failed: Invalid regular expression ${JSON.stringify(pattern)}: ${reason}.`);
        expect(err.hint, pattern).to.contain('RE2 syntax');
      }
    }
  });

  it('refuses named and unnamed groups together in regex and regexall, as go-cty does, but not in regex_replace', () => {
    expect(failure(() => bake('regex', '(?P<a>x)(y)', 'xy')).message).to.contain('Call to function "regex" failed: invalid regexp pattern "(?P<a>x)(y)": cannot mix both named and unnamed capture groups');
    expect(failure(() => bake('regexall', '(?P<a>x)(y)', 'xy')).message).to.contain('cannot mix both named and unnamed capture groups');
    expect(bake('regex_replace', '(?P<a>x)(y)', 'xy', '$2$a')).to.equal('yx');
  });

  it('makes a pattern that does not match a regex() error and an empty regexall() list', () => {
    expect(failure(() => bake('regex', 'z', 'ab')).message).to.equal('docker-bake.hcl:11,22-28: Error in function call; Call to function "regex" failed: the pattern "z" did not match any part of the given string.');
    expect(bake('regexall', 'z', 'ab')).to.deep.equal([]);
  });
});
