import { expect } from 'chai';
import { buildxWarnings, metadataRequestFromEnv } from './metadata-file.js';

describe('metadataRequestFromEnv', () => {
  const cases: [Record<string, string>, { provenance: string; warnings: boolean }][] = [
    [{}, { provenance: 'min', warnings: false }],
    [{ BUILDX_METADATA_PROVENANCE: 'max' }, { provenance: 'max', warnings: false }],
    [{ BUILDX_METADATA_PROVENANCE: 'disabled' }, { provenance: 'disabled', warnings: false }],
    [{ BUILDX_METADATA_PROVENANCE: 'False' }, { provenance: 'disabled', warnings: false }],
    [{ BUILDX_METADATA_PROVENANCE: '0' }, { provenance: 'disabled', warnings: false }],
    [{ BUILDX_METADATA_PROVENANCE: 'true' }, { provenance: 'min', warnings: false }],
    [{ BUILDX_METADATA_PROVENANCE: 'MAX' }, { provenance: 'min', warnings: false }],
    [{ BUILDX_METADATA_WARNINGS: '1' }, { provenance: 'min', warnings: true }],
    [{ BUILDX_METADATA_WARNINGS: 'TRUE' }, { provenance: 'min', warnings: true }],
    [{ BUILDX_METADATA_WARNINGS: 'yes' }, { provenance: 'min', warnings: false }],
  ];
  for (const [env, want] of cases) {
    it(`reads ${JSON.stringify(env)} as buildx's confutil does`, () => expect(metadataRequestFromEnv(env)).to.deep.equal(want));
  }
});

describe('buildxWarnings', () => {
  const url = (rule: string) => buildxWarnings([{ rule, message: 'm', file: 'Dockerfile', line: 2, column: 1, endLine: 2 }], { path: '/x/Dockerfile', text: '' })[0]?.url;
  it('links each rule to its docs page as BuildKit does', () => {
    expect(url('JSONArgsRecommended')).to.equal('https://docs.docker.com/go/dockerfile/rule/json-args-recommended/');
    expect(url('UndefinedArgInFrom')).to.equal('https://docs.docker.com/go/dockerfile/rule/undefined-arg-in-from/');
    expect(url('SecretsUsedInArgOrEnv')).to.equal('https://docs.docker.com/go/dockerfile/rule/secrets-used-in-arg-or-env/');
    expect(url('InvalidBaseImagePlatform')).to.equal(undefined);
  });
  it('names the Dockerfile by its base name, as BuildKit\'s frontend does', () => {
    const [w] = buildxWarnings([{ rule: 'UndefinedVar', message: 'm', file: 'a/b.Dockerfile', line: 2, column: 1, endLine: 3 }], { path: '/x/a/b.Dockerfile', text: 'FROM x\n' });
    expect(w?.sourceInfo.filename).to.equal('b.Dockerfile');
    expect(Buffer.from(w?.short ?? '', 'base64').toString()).to.equal('UndefinedVar: m (line 2)');
    expect(w?.range).to.deep.equal([{ start: { line: 2 }, end: { line: 3 } }]);   // to the instruction's last line
  });
});
