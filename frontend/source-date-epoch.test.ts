import { expect } from 'chai';
import { UserError } from '../common/index.js';
import { DockerfileError } from './errors.js';
import { sourceDateEpochRequest } from './source-date-epoch.js';

describe('SOURCE_DATE_EPOCH (BuildKit dockerfile2llb epoch.go)', () => {
  const request = (text: string, buildArgs: Record<string, string> = {}, namedContexts: string[] = []) =>
    sourceDateEpochRequest(text, 'Dockerfile', { buildArgs, namedContexts });

  it('takes the build arg, else a non-empty default of the global ARG; nothing when neither sets it', () => {
    expect(request('FROM scratch\n')).to.equal(undefined);
    expect(request('ARG SOURCE_DATE_EPOCH\nFROM scratch\n')).to.equal(undefined);
    expect(request('ARG SOURCE_DATE_EPOCH=12\nFROM scratch\n')).to.deep.equal({ value: '12', isDefault: true, source: { kind: 'seconds', seconds: 12 } });
    expect(request('ARG SOURCE_DATE_EPOCH=12\nFROM scratch\n', { SOURCE_DATE_EPOCH: '+34' })).to.deep.equal({ value: '+34', isDefault: false, source: { kind: 'seconds', seconds: 34 } });
    expect(request('ARG SOURCE_DATE_EPOCH=12\nFROM scratch\n', { SOURCE_DATE_EPOCH: '' })).to.equal(undefined);
    // Only the global scope counts: an ARG in a stage is the stage's.
    expect(request('FROM scratch\nARG SOURCE_DATE_EPOCH=12\n')).to.equal(undefined);
  });

  it('reads `context`, then a named context, then a stage of that name (any case)', () => {
    const text = 'ARG SOURCE_DATE_EPOCH=src\nFROM scratch AS SRC\nARG V=1\nADD --checksum=sha256:${V}0 https://example.com/a-${V}.tar /\nFROM scratch\n';
    expect(request(text, { SOURCE_DATE_EPOCH: 'context' })?.source).to.deep.equal({ kind: 'context' });
    expect(request(text, {}, ['src'])?.source).to.deep.equal({ kind: 'named', name: 'src' });
    expect(request(text, { V: '2' })?.source).to.deep.include({ kind: 'stage', name: 'src', url: 'https://example.com/a-2.tar', checksum: 'sha256:20' });
  });

  it('refuses a word that names nothing, and a stage that does more than ADD one remote source, at its FROM', () => {
    expect(() => request('ARG SOURCE_DATE_EPOCH=not-a-timestamp\nFROM scratch\n')).to.throw(UserError, 'invalid SOURCE_DATE_EPOCH: not-a-timestamp');
    const refused = (stage: string, why: string): void => {
      expect(() => request(`ARG SOURCE_DATE_EPOCH=s\n${stage}FROM scratch\n`), stage).to.throw(DockerfileError, why);
    };
    refused('FROM busybox AS s\nADD https://example.com/a.tar /\n', 'SOURCE_DATE_EPOCH stage must use FROM scratch');
    refused('FROM scratch AS s\nCOPY Dockerfile /Dockerfile\n', 'SOURCE_DATE_EPOCH stage does not meet source-only requirements: unsupported copy instruction');
    refused('FROM scratch AS s\n', 'SOURCE_DATE_EPOCH stage must contain exactly one remote ADD');
    refused('FROM scratch AS s\nADD https://example.com/a /a\nADD https://example.com/b /b\n', 'SOURCE_DATE_EPOCH stage must contain exactly one remote ADD');
    refused('FROM scratch AS s\nADD https://example.com/a https://example.com/b /x/\n', 'SOURCE_DATE_EPOCH stage must contain exactly one remote ADD source');
    let line = 0;
    try {
      request('ARG SOURCE_DATE_EPOCH=s\nFROM scratch\nFROM scratch AS s\nRUN true\n');
    } catch (err) {
      line = (err as DockerfileError).at.line;
    }
    expect(line).to.equal(3);
  });
});
