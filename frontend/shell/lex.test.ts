import { expect } from 'chai';
import { processWord, processWords, ShellSyntaxError } from './lex.js';

const env: Record<string, string> = { v: 'value', empty: '', path: '/usr/local/bin/app.tar.gz', x: 'a b  c', star: 'aXbXc' };
const lookup = (n: string): string | undefined => env[n];
const expand = (w: string, escapeToken: '\\' | '`' = '\\'): string => processWord(w, lookup, { escapeToken }).result;

describe('shell lexer: variable expansion as BuildKit', () => {
  const cases: [string, string, string][] = [
    ['plain $name', '$v', 'value'],
    ['braced ${name}', '${v}', 'value'],
    ['unset name expands to empty', 'a$nope-b', 'a-b'],
    ['$ followed by a non-name stays literal', 'cost: $ 5', 'cost: $ 5'],
    ['${v:-w} uses the value when set', '${v:-w}', 'value'],
    ['${v:-w} uses w when empty', '${empty:-w}', 'w'],
    ['${v:-w} uses w when unset', '${nope:-w}', 'w'],
    ['${v-w} keeps an empty value', '${empty-w}', ''],
    ['${v-w} uses w when unset', '${nope-w}', 'w'],
    ['${v:+w} gives w when set and non-empty', '${v:+w}', 'w'],
    ['${v:+w} gives empty when empty', '${empty:+w}', ''],
    ['${v+w} gives w when set even if empty', '${empty+w}', 'w'],
    ['${v+w} gives empty when unset', '${nope+w}', ''],
    ['${v:?msg} passes a set value through', '${v:?oops}', 'value'],
    ['${v#pat} trims the shortest prefix', '${path#*/}', 'usr/local/bin/app.tar.gz'],
    ['${v##pat} trims the longest prefix', '${path##*/}', 'app.tar.gz'],
    ['${v%pat} trims the shortest suffix', '${path%.*}', '/usr/local/bin/app.tar'],
    ['${v%%pat} trims the longest suffix', '${path%%.*}', '/usr/local/bin/app'],
    ['${v/pat/repl} replaces the first match', '${star/X/-}', 'a-bXc'],
    ['${v//pat/repl} replaces every match', '${star//X/-}', 'a-b-c'],
    ['${v/pat/repl} with a wildcard is greedy', '${star/a*X/_}', '_c'],
    ['nested defaults expand', '${nope:-${v}}', 'value'],
    ['single quotes are literal', "'$v \\n'", '$v \\n'],
    ['double quotes expand and keep spaces', '"$v  x"', 'value  x'],
    ['double quotes keep a backslash before an ordinary char', '"a\\b"', 'a\\b'],
    ['double quotes let \\" and \\$ be escaped', '"\\"\\$v"', '"$v'],
    ['the escape char makes $ literal', '\\$v', '$v'],
    ['the escape char before a space keeps the space', 'a\\ b', 'a b'],
    ['quotes are removed and the parts joined', 'a"b"\'c\'', 'abc'],
    ['a digit name is read whole', '$1x', 'x'],
    ['unicode letters are part of names', '$vé', ''],
  ];
  for (const [name, input, want] of cases) {
    it(`expands ${name}: ${input} → ${JSON.stringify(want)}`, () => {
      expect(expand(input)).to.equal(want);
    });
  }

  it('uses the backtick as escape when the directive says so', () => {
    expect(expand('`$v', '`')).to.equal('$v');
    expect(expand('C:\\dir', '`')).to.equal('C:\\dir');
  });

  it('splits the expanded result into words when asked, keeping quoted spaces', () => {
    expect(processWords('$x "d e"', lookup)).to.deep.equal(['a', 'b', 'c', 'd e']);
  });

  it('reports which names were found and which were not', () => {
    const r = processWord('$v ${nope:-x} $empty', lookup);
    expect([...r.matched].sort()).to.deep.equal(['empty', 'v']);
    expect([...r.unmatched]).to.deep.equal(['nope']);
  });

  it('leaves unset references as written with skipUnsetEnv', () => {
    expect(processWord('$nope ${nope} ${nope:-x}', lookup, { skipUnsetEnv: true }).result).to.equal('$nope ${nope} ${nope:-x}');
  });

  it('keeps quotes as text with skipProcessQuotes (heredoc bodies)', () => {
    expect(processWord('echo "$v" \'$v\'', lookup, { skipProcessQuotes: true }).result).to.equal('echo "value" \'value\'');
  });

  const errors: [string, string][] = [
    ['an unset ${v?msg}', '${nope?must be set}'],
    ['an empty ${v:?msg}', '${empty:?}'],
    ['a missing }', '${v'],
    ['a bad substitution ${}', '${}'],
    ['an unsupported modifier', '${v:#x}'],
    ['an unterminated single quote', "'abc"],
    ['an unterminated double quote', '"abc'],
    ['a bad escape in a pattern', '${v#\\x}'],
  ];
  for (const [name, input] of errors) {
    it(`throws ShellSyntaxError for ${name}`, () => {
      expect(() => expand(input)).to.throw(ShellSyntaxError);
    });
  }
});

describe('shell lexer: bounds on hostile words', () => {
  it('refuses substitutions nested deeper than 100 levels with a ShellSyntaxError, not a stack overflow', () => {
    expect(expand(`${'${nope:-'.repeat(99)}z${'}'.repeat(99)}`)).to.equal('z');
    const deep = `${'${nope:-'.repeat(50_000)}z${'}'.repeat(50_000)}`;
    expect(() => expand(deep)).to.throw(ShellSyntaxError, /nested more than 100 levels/);
  });

  it('refuses a word that grows by more than 4 MiB through ${v} or ${v//pattern/replacement}', () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    const bigEnv = (n: string): string | undefined => (n === 'big' ? big : undefined);
    expect(processWord('${big}', bigEnv).result).to.have.length(big.length);
    expect(() => processWord('${big}${big}', bigEnv)).to.throw(ShellSyntaxError, /grew past 4194304 bytes/);
    expect(() => processWord('${big//x/yy}', bigEnv)).to.throw(ShellSyntaxError, /grew past 4194304 bytes/);
  });
});

describe('shell lexer: patterns with many * match in linear time, with the RegExp results', () => {
  const long = 'x'.repeat(20_000);
  const longEnv = (n: string): string | undefined => (n === 'long' ? long : env[n]);
  it('answers ${v##*x*x*x*x*y}, ${v%%*x*x*x*y} and ${v//*x*x*x*y/z} on 20,000 x at once (backtracking never ended)', () => {
    expect(processWord('${long##*x*x*x*x*y}', longEnv).result).to.equal(long);
    expect(processWord('${long%%*x*x*x*y}', longEnv).result).to.equal(long);
    expect(processWord('${long//*x*x*x*y/z}', longEnv).result).to.equal(long);
    expect(processWord('${long##*x*x*}', longEnv).result).to.equal('');
  });
  const cases: [string, string][] = [
    ['${path#*/*/}', 'local/bin/app.tar.gz'], ['${path##*/*/}', 'app.tar.gz'],
    ['${path%.*.*}', '/usr/local/bin/app'], ['${path%%/*/*}', ''], ['${path%%l*l*}', '/usr/'],
    ['${star/X*X/-}', 'a-c'], ['${star//?*X/-}', '-c'], ['${star/*b*/-}', '-'], ['${star//X*/}', 'a'],
    ['${x//* */_}', '_'], ['${star/a*?/}', ''], ['${v/*?u*/}', ''],
  ];
  for (const [word, want] of cases) {
    it(`expands ${word} → ${JSON.stringify(want)}, as the RegExp did`, () => expect(expand(word)).to.equal(want));
  }
});
