import { expect } from 'chai';
import { checkDockerfile } from './index.js';

const rules = (text: string) => checkDockerfile(text).warnings.map((w) => `${w.rule}@${w.line}`);

describe('build checks (BuildKit rules)', () => {
  const cases: [string, string, string[]][] = [
    ['JSONArgsRecommended', 'FROM a\nCMD node app.js\n', ['JSONArgsRecommended@2']],
    ['SecretsUsedInArgOrEnv', 'FROM a\nARG GITHUB_TOKEN\nENV DB_PASSWORD=x\nENV PUBLIC_KEY=y\n', ['SecretsUsedInArgOrEnv@2', 'SecretsUsedInArgOrEnv@3']],
    ['FromAsCasing', 'FROM a as b\n', ['FromAsCasing@1']],
    ['StageNameCasing', 'FROM a AS Build\n', ['StageNameCasing@1']],
    ['MultipleInstructionsDisallowed', 'FROM a\nCMD ["a"]\nCMD ["b"]\n', ['MultipleInstructionsDisallowed@3']],
    ['WorkdirRelativePath', 'FROM a\nWORKDIR app\n', ['WorkdirRelativePath@2']],
    ['ConsistentInstructionCasing', 'FROM a\nrun true\nCOPY . .\n', ['ConsistentInstructionCasing@2']],
    ['LegacyKeyValueFormat', 'FROM a\nENV A b\nLABEL x y\n', ['LegacyKeyValueFormat@2', 'LegacyKeyValueFormat@3']],
    ['DuplicateStageName', 'FROM a AS x\nFROM b AS x\n', ['DuplicateStageName@2']],
    ['ReservedStageName', 'FROM a AS scratch\n', ['ReservedStageName@1']],
    ['MaintainerDeprecated', 'FROM a\nMAINTAINER me\n', ['MaintainerDeprecated@2']],
    ['UndefinedArgInFrom', 'FROM alpine:$VERSION\n', ['UndefinedArgInFrom@1']],
    ['InvalidDefaultArgInFrom', 'ARG IMAGE\nFROM $IMAGE\n', ['InvalidDefaultArgInFrom@2']],
  ];
  for (const [rule, text, want] of cases) {
    it(`reports ${rule} at its line`, () => expect(rules(text)).to.deep.equal(want));
  }
  it('finds nothing in a clean Dockerfile (platform args are predefined)', () => {
    expect(rules('ARG V=3.20\nFROM --platform=$BUILDPLATFORM alpine:$V AS build\nWORKDIR /src\nENV A=b\nCMD ["sh"]\n')).to.deep.equal([]);
  });
  it('skips rules named by # check=skip= and turns findings into errors with error=true', () => {
    const r = checkDockerfile('# check=skip=JSONArgsRecommended;error=true\nFROM a as b\nCMD x\n');
    expect(r.warnings.map((w) => w.rule)).to.deep.equal(['FromAsCasing']);
    expect(r.isError).to.equal(true);
    expect(checkDockerfile('# check=skip=all\nFROM a as b\n').warnings).to.deep.equal([]);
  });
});
