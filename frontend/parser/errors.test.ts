import { expect } from 'chai';
import { DockerfileError, formatDockerfileError } from '../errors.js';
import { parseDockerfile } from './parse-dockerfile.js';

function errorOf(text: string): DockerfileError {
  try {
    parseDockerfile(text);
  } catch (err) {
    if (err instanceof DockerfileError) return err;
    throw err;
  }
  throw new Error('expected a DockerfileError');
}

describe('parseDockerfile: errors', () => {
  const table: [string, string, number, number][] = [
    ['an unknown instruction', 'FROM a\nCOPPY x y\n', 2, 1],
    ['an unknown instruction after indentation', 'FROM a\n  RUNN x\n', 2, 3],
    ['an unknown flag for the instruction', 'FROM a\nCOPY --form=b x y\n', 2, 6],
    ['a flag that belongs to another instruction', 'FROM a\nRUN --from=x make\n', 2, 5],
    ['a string flag without a value', 'FROM a\nCOPY --from x y\n', 2, 6],
    ['a bad boolean flag value', 'FROM a\nCOPY --link=maybe x y\n', 2, 6],
    ['a duplicated flag', 'FROM a\nCOPY --chown=a --chown=b x y\n', 2, 16],
    ['an unterminated heredoc', 'FROM a\nRUN <<EOF\necho\n', 2, 5],
    ['ENV without a value', 'FROM a\nENV A\n', 2, 1],
    ['ENV pairs where one lacks =', 'FROM a\nENV A=1 B\n', 2, 9],
    ['ARG with a blank name', 'FROM a\nARG =x\n', 2, 5],
    ['COPY without a destination', 'FROM a\nCOPY x\n', 2, 1],
    ['a heredoc as COPY destination', 'FROM a\nCOPY x <<EOF\nhi\nEOF\n', 2, 8],
    ['FROM with two arguments', 'FROM a b\n', 1, 1],
    ['an invalid stage name', 'FROM a AS 1x\n', 1, 11],
    ['JSON arrays of non-strings', 'FROM a\nCMD ["a", 1]\n', 2, 5],
    ['SHELL in shell form', 'FROM a\nSHELL /bin/bash -c\n', 2, 1],
    ['HEALTHCHECK of an unknown type', 'FROM a\nHEALTHCHECK RUN x\n', 2, 13],
    ['HEALTHCHECK NONE with arguments', 'FROM a\nHEALTHCHECK NONE x\n', 2, 1],
    ['ONBUILD ONBUILD', 'FROM a\nONBUILD ONBUILD RUN x\n', 2, 9],
    ['a repeated directive', '# escape=\\\n# escape=`\nFROM a\n', 2, 1],
    ['an invalid escape directive', '# escape=x\nFROM a\n', 1, 1],
  ];
  for (const [name, text, line, column] of table) {
    it(`rejects ${name} at ${line}:${column}`, () => {
      const err = errorOf(text);
      expect(err.code).to.equal('DOCKERFILE_SYNTAX');
      expect(err.at).to.deep.include({ line, column });
      expect(err.hint === undefined || typeof err.hint === 'string').to.equal(true);
    });
  }

  it('suggests the nearest instruction for a typo', () => {
    expect(errorOf('FROM a\nCOPPY x y\n').hint).to.match(/COPY/);
  });

  it('formats the error with the line, a caret under the column and the hint', () => {
    const text = 'FROM a\nCOPPY src/ /app/\n';
    const out = formatDockerfileError(errorOf(text), text);
    expect(out.split('\n')).to.deep.equal([
      'Dockerfile:2:1: unknown instruction "COPPY"',
      '  2 | COPPY src/ /app/',
      '    | ^^^^^',
      'hint: did you mean COPY?',
    ]);
  });

  it('shows every line of a continued instruction, as BuildKit\'s source map ranges do (testErrorsSourceMap invalidmultiline)', () => {
    const text = 'from scratch\nrun wh\\\nat\nenv bar=baz';
    const at = { file: 'Dockerfile', line: 2, column: 1, endLine: 3, endColumn: 3 };
    expect(formatDockerfileError(new DockerfileError(at, 'RUN failed'), text).split('\n')).to.deep.equal([
      'Dockerfile:2:1: RUN failed',
      '  2 | run wh\\',
      '    | ^^^^^^^',
      '  3 | at',
      '    | ^^',
    ]);
  });

  it('writes out a line\'s control characters and keeps the carets under the same characters', () => {
    // An escape sequence in a Dockerfile line must not reach the terminal, and the carets still point at its word.
    const text = 'FROM scratch\nLABEL a=\u001b[2J\nCOPPY x /\n';
    const at = { file: 'Dockerfile', line: 2, column: 9, endLine: 2, endColumn: 13 };
    expect(formatDockerfileError(new DockerfileError(at, 'bad value'), text).split('\n')).to.deep.equal([
      'Dockerfile:2:9: bad value',
      '  2 | LABEL a=\\u001b[2J',
      '    |         ^^^^^^^^^',
    ]);
  });
});
