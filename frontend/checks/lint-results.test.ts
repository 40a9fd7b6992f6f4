import { expect } from 'chai';
import { checkDockerfile } from './index.js';
import { formatLintText, lintResults, lintViolationsText } from './lint-results.js';

describe('lint results (--call=check)', () => {
  const text = 'FROM scratch as Build\nCMD echo hi\n';
  const { warnings } = checkDockerfile(text);
  const results = lintResults(warnings, text, 'Dockerfile');

  it('holds BuildKit\'s fields for each finding and the Dockerfile as its source', () => {
    expect(results.warnings[0]).to.deep.equal({
      ruleName: 'FromAsCasing', description: "The 'as' keyword should match the case of the 'from' keyword",
      url: 'https://docs.docker.com/go/dockerfile/rule/from-as-casing/', detail: "'as' and 'FROM' keywords' casing do not match",
      location: { ranges: [{ start: { line: 1 }, end: { line: 1 } }] },
    });
    expect(results.sources).to.deep.equal([{ filename: 'Dockerfile', data: Buffer.from(text).toString('base64'), language: 'Dockerfile' }]);
  });

  it('prints the count line, then each finding with its source lines as BuildKit\'s errdefs.Source does', () => {
    const out = formatLintText(results, text, 'ctx/Dockerfile');
    expect(out.startsWith('Check complete, 3 warnings have been found!\n\nWARNING: FromAsCasing')).to.equal(true);
    // One line: four lines of context taken alternately, as far as the file goes (its last, empty line included).
    expect(out).to.contain('WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\n' +
      'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals\nctx/Dockerfile:2\n--------------------\n' +
      '   1 |     FROM scratch as Build\n   2 | >>> CMD echo hi\n   3 |     \n--------------------\n');
    expect(lintViolationsText(results, text, 'Dockerfile').startsWith('\nWARNING: FromAsCasing')).to.equal(true);
    expect(formatLintText(lintResults([], text, 'Dockerfile'), text, 'Dockerfile')).to.equal('Check complete, no warnings found.\n');
  });

  it('marks every line of a continued instruction and gives it two lines of context', () => {
    const multi = 'FROM scratch\nRUN a \\\n  b \\\n  c\nENV x=1\nENV y=2\nENV z=3\n';
    const r = lintResults([{ rule: 'JSONArgsRecommended', message: 'm', file: 'Dockerfile', line: 2, column: 1, endLine: 4 }], multi, 'Dockerfile');
    expect(lintViolationsText(r, multi, 'D')).to.contain('D:2\n--------------------\n   1 |     FROM scratch\n   2 | >>> RUN a \\\n   3 | >>>   b \\\n   4 | >>>   c\n   5 |     ENV x=1\n--------------------\n');
  });
});
