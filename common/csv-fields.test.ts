import { expect } from 'chai';
import { csvFields, CsvError } from './csv-fields.js';

describe('csvFields', () => {
  // The default-parser cases of tonistiigi/go-csvvalue csvvalue_test.go (TestFields, which checks each against
  // encoding/csv too), then the ones buildx's flags meet: empty fields, spaces, quoted key=value fields.
  const fields: [string, string[]][] = [
    ['foo,bar,baz', ['foo', 'bar', 'baz']],
    ['foo,bar,baz\n', ['foo', 'bar', 'baz']],
    ['foo,bar,baz\r\n', ['foo', 'bar', 'baz']],
    [' ', [' ']],
    ['   foo,bar,baz', ['   foo', 'bar', 'baz']],
    ['a,"b,cc ,ddd",e', ['a', 'b,cc ,ddd', 'e']],
    ['""', ['']],
    ['a,"foo""",c', ['a', 'foo"', 'c']],
    ['type=docker,name=test.docker,"containerimage.config={""Config"":{""StopSignal"":""37""}}"',
      ['type=docker', 'name=test.docker', 'containerimage.config={"Config":{"StopSignal":"37"}}']],
    ['a,,b', ['a', '', 'b']],
    [',', ['', '']],
    ['a,', ['a', '']],
    ['"a",', ['a', '']],
    ['"",""', ['', '']],
    ['type=local, dest=out', ['type=local', ' dest=out']],
    ['type=image,"name=a,b"', ['type=image', 'name=a,b']],
    ['"say ""hi""",x', ['say "hi"', 'x']],
  ];
  for (const [text, want] of fields) {
    it(`splits ${JSON.stringify(text)} as Go's csv reader does`, () => expect(csvFields(text)).to.deep.equal(want));
  }

  const errors: [string, number | undefined, string][] = [
    ['', undefined, 'empty value'],
    ['\n', undefined, 'empty value'],
    ['"', 2, 'extraneous or missing " in quoted-field'],
    ['"""', 4, 'extraneous or missing " in quoted-field'],
    ['type=image,"name=a', 13, 'extraneous or missing " in quoted-field'],
    ['foo,aa"bb,cc', 7, 'bare " in non-quoted-field'],
    ['a""b,c', 2, 'bare " in non-quoted-field'],
    ['a "word","b"', 3, 'bare " in non-quoted-field'],
    ['"a word",b"', 11, 'bare " in non-quoted-field'],
    ['"a "word","b"', 4, 'extraneous or missing " in quoted-field'],
    // A quoted value after `key=` is a quote inside an unquoted field: quote the whole field instead.
    ['name="a,b"', 6, 'bare " in non-quoted-field'],
    // A space before the opening quote makes the field unquoted, as TrimLeadingSpace is off.
    ['a, "b"', 4, 'bare " in non-quoted-field'],
    // Columns count bytes, as Go's do: é is two.
    ['é"', 3, 'bare " in non-quoted-field'],
  ];
  for (const [text, column, reason] of errors) {
    it(`refuses ${JSON.stringify(text)}${column !== undefined ? ` at column ${column}` : ''}`, () => {
      let err: unknown;
      try { csvFields(text); } catch (e) { err = e; }
      expect(err).to.be.instanceOf(CsvError);
      expect((err as CsvError).column).to.equal(column);
      expect((err as CsvError).message).to.contain(reason);
      if (column !== undefined) expect((err as CsvError).message).to.equal(`parse error on line 1, column ${column}: ${reason}`);
    });
  }
});

describe('csvFields with Go\'s LazyQuotes (buildx debug --invoke)', () => {
  it('keeps a quote inside an unquoted field, a lone quote inside a quoted one, and runs an open quoted field to the end', () => {
    expect(csvFields('args=["ls"],tty=false', ',', true)).to.deep.equal(['args=["ls"]', 'tty=false']);
    expect(csvFields('"a "b" c",d', ',', true)).to.deep.equal(['a "b" c', 'd']);
    expect(csvFields('"open field, to the end', ',', true)).to.deep.equal(['open field, to the end']);
    // Doubled quotes still stand for one, as the strict reader reads them.
    expect(csvFields('entrypoint=["sh"],"args=[""-c"", ""ls /""]"', ',', true)).to.deep.equal(['entrypoint=["sh"]', 'args=["-c", "ls /"]']);
  });
});
