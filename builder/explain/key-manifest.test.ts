import { expect } from 'chai';
import { cacheKey, explainMiss, type CacheKeyParts } from '../../solver/index.js';
import { canonicalJson } from '../../registry/oci/index.js';
import { boundFiles, MAX_FILES_PER_SOURCE, parseKeyManifest, redactParts, stepKeyOf } from './key-manifest.js';

const run = (token: string, flavor: string): CacheKeyParts => ({
  v: 1,
  op: canonicalJson({ kind: 'exec', argv: ['/bin/sh', '-c', 'make'], env: [`API_TOKEN=${token}`, `FLAVOR=${flavor}`, 'PATH=/bin'], cwd: '/' }),
  opText: `RUN |2 API_TOKEN=${token} FLAVOR=${flavor} make`,
  inputs: [],
  content: {},
  args: { API_TOKEN: token, FLAVOR: flavor },
  platform: 'linux/amd64',
});

describe('key manifest', () => {
  it('replaces every secret-looking value (arg, env entry, history text) by its digest and keeps the rest', () => {
    const red = redactParts(run('hunter2', 'plain'));
    expect(JSON.stringify(red)).to.not.contain('hunter2');
    expect(red.args.FLAVOR).to.equal('plain');
    expect(red.args.API_TOKEN).to.match(/^redacted:sha256:[0-9a-f]{64}$/);
    expect(red.op).to.contain('FLAVOR=plain');
    expect(red.opText).to.match(/^RUN \|2 API_TOKEN=redacted:sha256:[0-9a-f]{64} FLAVOR=plain make$/);
  });

  it('keeps equal secrets equal and different secrets different, so explainMiss still finds the change', () => {
    expect(redactParts(run('a', 'x'))).to.deep.equal(redactParts(run('a', 'x')));
    const reasons = explainMiss(redactParts(run('a', 'x')), redactParts(run('b', 'x')));
    expect(reasons.map((r) => r.kind)).to.deep.equal(['arg']);
    expect(JSON.stringify(reasons)).to.not.match(/"(a|b)"/);
  });

  it('bounds the file list per source and says which sources were cut', () => {
    const many: Record<string, `sha256:${string}`> = {};
    for (let i = 0; i <= MAX_FILES_PER_SOURCE; i++) many[`f${String(i).padStart(6, '0')}`] = `sha256:${'0'.repeat(64)}`;
    const b = boundFiles({ context: many, inline: { x: `sha256:${'1'.repeat(64)}` } });
    expect(Object.keys(b.files.context ?? {})).to.have.length(MAX_FILES_PER_SOURCE);
    expect(b.truncated).to.deep.equal(['context']);
  });

  it('reads back what it wrote and drops entries that are not step keys', () => {
    const parts = run('t', 'f');
    const k = stepKeyOf('s0.1', 'Dockerfile#0/1', cacheKey(parts), {});
    expect(parseKeyManifest(JSON.parse(JSON.stringify([k, { vertex: 1 }, null])))).to.deep.equal([k]);
    expect(parseKeyManifest('nope')).to.equal(undefined);
  });
});
