import { expect } from 'chai';
import type { Dockerfile } from '../ast.js';
import { checkDockerfile } from '../checks/index.js';
import { dumpDockerfile, goQuote } from '../dump.js';
import { DockerfileError, formatDockerfileError, withSource } from '../errors.js';
import { chompHeredocContent, heredocsFromLine, parseHeredocWord } from './heredoc.js';
import { parseDockerfile } from './parse-dockerfile.js';
import { parseWords } from './words.js';

// Our own cases for the behaviours BuildKit's parser tests pin down (frontend/dockerfile/parser: the testfiles corpus
// and its `result` dumps, parser_test.go, parser_heredoc_test.go, directives_test.go, line_parsers_test.go). Each case
// names the BuildKit test or testfile it mirrors. scripts/buildkit-corpus.ts runs BuildKit's own files.

const dump = (text: string): string => dumpDockerfile(parseDockerfile(text));

function errorOf(text: string): DockerfileError {
  try {
    parseDockerfile(text);
  } catch (err) {
    if (err instanceof DockerfileError) return err;
    throw err;
  }
  throw new Error('expected a DockerfileError');
}

describe('BuildKit conformance: the parse dump (testfiles/*/result)', () => {
  const cases: [string, string, string][] = [
    // testfiles/flags: flags in BuildKit's %q list, a bare `--` ending them.
    ['flags as a quoted list, `--` ending them', 'FROM scratch\nCOPY --chown=me --link -- foo /tmp/\nCOPY -- foo /tmp/\n', '(from "scratch")\n(copy ["--chown=me" "--link"] "foo" "/tmp/")\n(copy "foo" "/tmp/")\n'],
    // testfiles/json: exec forms print their strings, control characters Go-quoted.
    ['JSON arrays, empty ones and escapes', 'CMD []\nCMD [""]\nCMD [\t"a",\t"b"\t]\t\nCMD ["♥", "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000"]\n', '(cmd)\n(cmd "")\n(cmd "a" "b")\n(cmd "♥" "\\" \\\\ / \\b \\f \\n \\r \\t \\x00")\n'],
    // testfiles/env: key, value, "=" triples; the legacy form's separator is "".
    ['ENV pairs and the legacy form', 'FROM u\nENV name value\nENV name=value name2="a b"\nENV name=value\\ value2\n', '(from "u")\n(env "name" "value" "")\n(env "name" "value" "=" "name2" "\\"a b\\"" "=")\n(env "name" "value\\\\ value2" "=")\n'],
    // testfiles/brimstone-*: legacy LABEL/MAINTAINER keep the rest of the line.
    ['legacy LABEL and MAINTAINER', 'FROM u\nLABEL maintainer Erik <e@x>\nMAINTAINER Jane Doe\n', '(from "u")\n(label "maintainer" "Erik <e@x>" "")\n(maintainer "Jane Doe")\n'],
    // testfiles/args: ARG words keep their quotes.
    ['ARG words with their quotes', 'ARG foo bar=baz\nFROM u\nARG abc="123 456" def\n', '(arg "foo" "bar=baz")\n(from "u")\n(arg "abc=\\"123 456\\"" "def")\n'],
    // testfiles/lk4d4-the-edge-case-generator: ONBUILD nests its trigger.
    ['ONBUILD triggers nested', 'FROM u\nONBUILD RUN ["echo", "test"]\nONBUILD COPY --from=a . /\n', '(from "u")\n(onbuild (run "echo" "test"))\n(onbuild (copy ["--from=a"] "." "/"))\n'],
    // testfiles/health: HEALTHCHECK's type word, then the command as RUN has it.
    ['HEALTHCHECK type and command', 'FROM u\nHEALTHCHECK --interval=5s \\\n  CMD /check --quiet\nHEALTHCHECK CMD ["foo"]\nHEALTHCHECK NONE\n', '(from "u")\n(healthcheck ["--interval=5s"] "CMD" "/check --quiet")\n(healthcheck "CMD" "foo")\n(healthcheck "NONE")\n'],
    // testfiles/escapes: continuation lines joined as written, blank lines between them dropped.
    ['continuations joined, blank and comment lines dropped', 'FROM u\nRUN foo \\\n\nbar \\\n# c\n\nbaz\n', '(from "u")\n(run "foo bar baz")\n'],
    // testfiles/escape-nonewline, continue-at-eof: a file ending inside a continuation keeps what was read.
    ['a continuation at the end of the file', 'FROM u\nRUN a \\\n  b \\', '(from "u")\n(run "a   b")\n'],
    // testfiles/escape: the backtick as escape token and continuation.
    ['the backtick escape directive', '# escape=`\nFROM u\nRUN dir c:\\ `\n  /b\n', '(from "u")\n(run "dir c:\\\\   /b")\n'],
    // testfiles/multiple-volumes, ADD-COPY-with-JSON: lists either way.
    ['VOLUME and COPY lists in both forms', 'FROM u\nVOLUME /a  /b\nCOPY ["a b", "/c"]\n', '(from "u")\n(volume "/a" "/b")\n(copy "a b" "/c")\n'],
    // jeztah-invalid-json-*: text that is not a JSON array of strings is the shell form.
    ['invalid JSON kept as the shell form', "FROM u\nCMD ['a']\nCMD [\"a\"\nCMD [\"a\\\"]\"]x\n", '(from "u")\n(cmd "[\'a\']")\n(cmd "[\\"a\\"")\n(cmd "[\\"a\\\\\\"]\\"]x")\n'],
    // heredocs: BuildKit's dump shows the instruction line only, not the bodies.
    ['heredoc bodies left out', 'FROM u\nRUN <<EOF\necho hi\nEOF\n', '(from "u")\n(run "<<EOF")\n'],
  ];
  for (const [name, text, want] of cases) {
    it(`dumps ${name} as BuildKit does`, () => {
      expect(dump(text)).to.equal(want);
    });
  }

  it('quotes strings as Go strconv.Quote does (non-printable characters escaped, printable Unicode kept)', () => {
    expect(goQuote('a"b\\c\x07\x7f\u00a0é𝄞\u{10ffff}')).to.equal('"a\\"b\\\\c\\a\\x7f\\u00a0é𝄞\\U0010ffff"');
  });
});

describe('BuildKit conformance: refusals (testfiles-negative)', () => {
  const cases: [string, string, number][] = [
    ['an empty Dockerfile (empty_dockerfile)', '', 1],
    ['a Dockerfile of comments only (only_comments)', '# Hello\n# These are just comments\n\n', 3],
    ['directives and blank lines only', '# syntax=x\n\n\n', 3],
    ['ENV with a name and no value (env_no_value)', 'FROM busybox\n\nENV PATH\n', 3],
    ['a JSON array holding an array (shykes-nested-json)', 'CMD [ "echo", [ "nested json" ] ]\n', 1],
  ];
  for (const [name, text, line] of cases) {
    it(`refuses ${name} at line ${line}, with a hint`, () => {
      const err = errorOf(text);
      expect(err.code).to.equal('DOCKERFILE_SYNTAX');
      expect(err.at.line).to.equal(line);
      expect(err.hint).to.be.a('string');
    });
  }

  it('shows the caret and hint for a file with no instructions', () => {
    const text = '# just a comment\n';
    const out = formatDockerfileError(withSource(errorOf(text), { file: 'Dockerfile', text }));
    expect(out).to.contain('Dockerfile:1:1: file with no instructions').and.to.contain('^').and.to.contain('hint: ');
  });

  // testfiles/flags and testfiles/health: BuildKit's parser keeps what its instruction parser refuses moments later
  // (unknown flags, a bare HEALTHCHECK, HEALTHCHECK CONNECT); tsbuild refuses them while parsing, with their place.
  const stricter: [string, string, string, number][] = [
    ['an unknown flag', 'FROM scratch\nCOPY --user=me foo /tmp/\n', 'unknown flag: --user', 2],
    ['a flag on an instruction without any', 'FROM scratch\nCMD --doit [ "a", "b" ]\n', 'unknown flag: --doit', 2],
    ['a bare HEALTHCHECK', 'FROM debian\nHEALTHCHECK\n', 'HEALTHCHECK requires at least one argument', 2],
    ['HEALTHCHECK with an unknown type', 'FROM debian\nHEALTHCHECK CONNECT TCP 7000\n', 'Unknown type "CONNECT"', 2],
    ['an unknown instruction (parser_heredoc_test USER <<INVALID)', 'FROM a\nUSER <<INVALID\nINVALID\n', 'unknown instruction "INVALID"', 3],
  ];
  for (const [name, text, message, line] of stricter) {
    it(`refuses ${name} while parsing, where BuildKit refuses it one step later`, () => {
      const err = errorOf(text);
      expect(err.at.line).to.equal(line);
      expect(err.detail).to.contain(message);
    });
  }
});

describe('BuildKit conformance: line numbers and warnings (parser_test.go)', () => {
  it('gives each instruction its first and last line, skipping leading directives, comments and blanks (TestParseIncludesLineNumbers)', () => {
    const text = '# escape=\\\n\n# a comment\n\nFROM u\n\n# c \\\nENV A \\\n/a\n\n\nRUN a \\\n\t&& b \\\n\n    && c \\\n# inside\n    && d\n\n\n';
    const got = parseDockerfile(text).instructions.map((i) => [i.location.line, i.location.endLine]);
    expect(got).to.deep.equal([[5, 5], [8, 9], [12, 17]]);
  });

  it('marks instructions whose continuation had blank lines, not comment lines (TestParseWarnsOnEmptyContinutationLine)', () => {
    const text = 'FROM a\n\nRUN valid \\\n    continuation\n\nRUN something \\\n\n    following \\\n\n    more\n\nRUN another \\\n\n    thing\n\nRUN non-indented \\\n# a comment\n   after-comment\n\nRUN indented \\\n    # an indented comment\n    comment\n';
    const df: Dockerfile = parseDockerfile(text);
    const marked = df.instructions.filter((i) => i.emptyContinuation).map((i) => [i.original, i.emptyContinuation?.line]);
    expect(marked).to.deep.equal([['RUN something     following     more', 10], ['RUN another     thing', 14]]);
  });

  it('reports them as the NoEmptyContinuation check at the line the continuation ended', () => {
    const text = 'FROM a\nRUN something \\\n\n    more\n';
    expect(checkDockerfile(text).warnings.map((w) => `${w.rule}@${w.line}: ${w.message}`)).to.deep.equal(['NoEmptyContinuation@4: Empty continuation line']);
  });

  it('splits ENV/LABEL words keeping quotes and escapes, Unicode whole (TestParseWords)', () => {
    const cases: [string, string[]][] = [
      ['foo', ['foo']],
      ['foo bar', ['foo', 'bar']],
      ['foo\\ bar', ['foo\\ bar']],
      ['foo=bar', ['foo=bar']],
      ["foo bar 'abc xyz'", ['foo', 'bar', "'abc xyz'"]],
      ['foo bar "abc xyz"', ['foo', 'bar', '"abc xyz"']],
      ['àöû', ['àöû']],
      ['föo bàr "âbc xÿz"', ['föo', 'bàr', '"âbc xÿz"']],
    ];
    for (const [input, want] of cases) expect(parseWords(input, '\\'), input).to.deep.equal(want);
  });

  it('ends a line at its last \\n, dropping every \\r before it (trimNewline), so a CR-CR-LF line still continues', () => {
    expect(dump('FROM u\r\r\nRUN a \\\r\r\n  b\r\n')).to.equal('(from "u")\n(run "a   b")\n');
  });

  it('keeps CRLF line endings in heredoc bodies, as BuildKit writes them into the file', () => {
    const df = parseDockerfile('FROM u\r\nCOPY <<EOF /f\r\nline 1\r\nline 2\r\nEOF\r\n');
    expect(df.instructions[1]?.heredocs[0]?.content).to.equal('line 1\r\nline 2\r\n');
  });

  it('trims arguments and splits ENV words on unicode.IsSpace (U+0085, U+00A0), not on U+FEFF', () => {
    expect(parseWords('a\u0085b\u00a0c\ufeffd', '\\')).to.deep.equal(['a', 'b', 'c\ufeffd']);
    expect(dump('FROM u\nRUN\tx\u0085\n')).to.equal('(from "u")\n(run "x")\n');
    // The keyword ends at an ASCII blank only (reWhitespace), so this is one unknown word, as in BuildKit.
    expect(errorOf('FROM u\nRUN\u00a0x\n').detail).to.equal('unknown instruction "RUN\u00a0x"');
  });

  it('reads `LABEL foo bar` as the legacy form and `LABEL foo=bar thing=star` as pairs (TestParseNameVal*)', () => {
    expect(dump('LABEL foo bar\nLABEL foo=bar thing=star\n')).to.equal('(label "foo" "bar" "")\n(label "foo" "bar" "=" "thing" "star" "=")\n');
    expect(errorOf('FROM a\nENV foo\n').detail).to.equal('ENV must have two arguments');
  });
});

describe('BuildKit conformance: heredocs (parser_heredoc_test.go)', () => {
  const heredocs = (text: string): unknown => parseDockerfile(`FROM a\n${text}`).instructions[1]?.heredocs.map((h) => [h.name, h.content, h.expand, h.chomp, h.fd]);
  const cases: [string, string, unknown][] = [
    ['an empty body', 'RUN <<EMPTY\nEMPTY\n', [['EMPTY', '', true, false, 0]]],
    ['a file descriptor', 'RUN 3<<EMPTY2\nEMPTY2\n', [['EMPTY2', '', true, false, 3]]],
    ['a quoted word that is no heredoc', 'RUN "<<NOHEREDOC"\n', []],
    ['tabs kept in the body of <<-', 'RUN <<-UNINDENT\n\tbaz\n\tquux\n\tUNINDENT\n', [['UNINDENT', '\tbaz\n\tquux\n', true, true, 0]]],
    ['a quoted delimiter: no expansion', "RUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND\n", [['NOEXPAND', "\tdon't expand $NAME\n", false, true, 0]]],
    ['comments inside the body', 'RUN <<COMMENT\n# internal comment\necho hi # trailing\nCOMMENT\n', [['COMMENT', '# internal comment\necho hi # trailing\n', true, false, 0]]],
    ['flags before the heredoc', 'RUN --mount=type=cache,target=/foo <<MOUNT\necho hello\nMOUNT\n', [['MOUNT', 'echo hello\n', true, false, 0]]],
    ['two heredocs whose bodies name each other', 'COPY <<X <<Y /dest\nY\nX\nX\nY\n', [['X', 'Y\n', true, false, 0], ['Y', 'X\n', true, false, 0]]],
    ['a command after the heredoc', "RUN <<COMPLEX python3\nprint('hi')\nCOMPLEX\n", [['COMPLEX', "print('hi')\n", true, false, 0]]],
    ['a partly quoted delimiter', "RUN <<eo'f'\necho foo\neof\n", [['eof', 'echo foo\n', false, false, 0]]],
    ['an escaped quote in the delimiter', "RUN <<eo\\'f\necho foo\neo'f\n", [["eo'f", 'echo foo\n', true, false, 0]]],
    ['quoted and escaped parts together', "RUN <<'e'o\\'f\necho foo\neo'f\n", [["eo'f", 'echo foo\n', false, false, 0]]],
    ['a delimiter with a blank', "RUN <<'one two'\necho bar\none two\n", [['one two', 'echo bar\n', false, false, 0]]],
    ['a delimiter that looks like a variable', 'RUN <<$EOF\n$EOF\n', [['$EOF', '', true, false, 0]]],
    ['blanks after <<', 'RUN <<  EOF\nEOF\n', [['EOF', '', true, false, 0]]],
    ['a redirection after the heredoc', 'RUN <<  EOF  > foo\nEOF\n', [['EOF', '', true, false, 0]]],
    ['JSON forms have none (TestParseJSONHeredoc)', 'RUN ["<<EOF"]\n', []],
    ['an ONBUILD trigger', 'ONBUILD RUN <<EOF\nx\nEOF\n', [['EOF', 'x\n', true, false, 0]]],
  ];
  for (const [name, text, want] of cases) {
    it(`reads ${name}`, () => {
      expect(heredocs(text)).to.deep.equal(want);
    });
  }

  it('strips leading tabs of every body line with chomp (TestHeredocChomp)', () => {
    expect(chompHeredocContent('\thello\n\tworld\n')).to.equal('hello\nworld\n');
  });

  it('tells heredoc words from other words (TestParseHeredocHelpers)', () => {
    for (const word of ['<<EOF', "<<'EOF'", '<<"EOF"', '<<-EOF', "<<-'EOF'", '<<-"EOF"', '<<EO"F"', '<< EOF', '<<- EOF']) {
      expect(parseHeredocWord(word)?.name, word).to.equal('EOF');
    }
    for (const word of ['', 'EOF', '<<', '<<-', '<EOF', '<<<EOF', '<<EOF sh']) expect(parseHeredocWord(word), word).to.equal(undefined);
    // BuildKit's ParseHeredoc errors on an unbalanced quote; its callers either drop the error (MustParseHeredoc) or
    // cannot meet it (a line with an unbalanced quote yields no words at all), so here it is simply not a heredoc.
    for (const word of ["<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"']) expect(parseHeredocWord(word), word).to.equal(undefined);
  });

  it('finds every heredoc word on a line, none inside quotes (TestHeredocsFromLine)', () => {
    const cases: [string, string[]][] = [
      ['RUN <<EOF', ['EOF']],
      ['RUN <<-EOF', ['EOF']],
      ['RUN << -EOF', ['-EOF']],
      ["RUN <<'EOF'", ['EOF']],
      ['RUN 4<<EOF', ['EOF']],
      ['RUN <<EOF <<EOF2', ['EOF', 'EOF2']],
      ["RUN '<<EOF'", []],
      ['RUN "<<EOF"', []],
      // `<<-` then a blank lexes as two words, neither a heredoc: BuildKit's table loop passes vacuously on this line.
      ['RUN <<- EOF', []],
    ];
    for (const [line, names] of cases) expect(heredocsFromLine(line).map((h) => h.name), line).to.deep.equal(names);
  });
});

describe('BuildKit conformance: parser directives (directives_test.go)', () => {
  const directives = (text: string): string[] => parseDockerfile(text).directives.map((d) => `${d.name}=${d.value}@${d.location.line}`);

  it('reads names case-insensitively and stops at the first line that is not a directive (TestDirectives)', () => {
    expect(directives('#escape=\\\n# key = FOO bar\n\n# smth\nFROM a\n')).to.deep.equal(['escape=\\@1']);
    expect(directives('# EScape=\\\n# KEY = FOO bar\n\n# smth\nFROM a\n')).to.deep.equal(['escape=\\@1']);
  });

  it('finds # syntax and # check after a #! line, on line 2 (TestDetectSyntax, TestParseDirective)', () => {
    expect(directives('#!/bin/sh\n# syntax = dockerfile:experimental\nFROM busybox\n')).to.deep.equal(['syntax=dockerfile:experimental@2']);
    expect(directives('#!/bin/sh\n# check = skip=all\nFROM busybox\n')).to.deep.equal(['check=skip=all@2']);
    expect(directives('#!/bin/sh\n\n# check = skip=all\nFROM busybox\n')).to.deep.equal([]);
  });

  it('does not apply # escape after a #! line: BuildKit\'s parser reads it as a comment there', () => {
    const df = parseDockerfile('#!/bin/sh\n# escape=`\nFROM a\n');
    expect(df.escapeToken).to.equal('\\');
    expect(df.directives).to.deep.equal([]);
  });

  it('uses only the text before the first blank of # check (TestParseDirective `skip=all // opts`)', () => {
    expect(checkDockerfile('#check = skip=all // opts\nFROM a\nCMD node app.js\n').warnings).to.deep.equal([]);
    expect(checkDockerfile('# check=skip=JSONArgsRecommended\nFROM a\nCMD node app.js\n').warnings).to.deep.equal([]);
  });

  it('refuses a repeated directive with its line', () => {
    const err = errorOf('# escape=\\\n# escape=`\nFROM a\n');
    expect(err.at.line).to.equal(2);
    expect(err.detail).to.equal('only one escape parser directive can be used');
  });

  it('skips a byte-order mark before the directives (TestDetectSyntaxBOM)', () => {
    expect(directives('\uFEFF# syntax = myfrontend\nFROM busybox\n')).to.deep.equal(['syntax=myfrontend@1']);
  });
});
