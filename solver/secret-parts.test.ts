import { expect } from 'chai';
import { cacheKey, type CacheKeyParts } from './cache-key.js';
import { isRedacted, redactParts } from './secret-parts.js';
import { canonicalJson } from '../registry/oci/index.js';

const run = (token: string): CacheKeyParts => ({
  v: 2, op: JSON.stringify({ kind: 'exec', argv: ['/bin/sh', '-c', 'make'], env: [`GITHUB_TOKEN=${token}`, 'MODE=x'] }),
  opText: `RUN |2 GITHUB_TOKEN=${token} MODE=x make`, inputs: [], content: {}, args: { GITHUB_TOKEN: token, MODE: 'x' }, platform: 'linux/amd64',
});

describe('redactParts', () => {
  it('replaces a secret-looking value everywhere in the parts by its digest, and leaves other values', () => {
    const red = redactParts(run('hunter2'));
    expect(JSON.stringify(red)).to.not.contain('hunter2');
    expect(isRedacted(red.args['GITHUB_TOKEN'])).to.equal(true);
    expect(red.args['MODE']).to.equal('x');
    expect(red.op).to.contain('MODE=x');
    expect(red.opText).to.match(/^RUN \|2 GITHUB_TOKEN=redacted:sha256:[0-9a-f]{64} MODE=x make$/);
  });

  it('is idempotent, so keys over redacted parts are the same however often they are redacted', () => {
    const once = redactParts(run('hunter2'));
    expect(redactParts(once)).to.deep.equal(once);
  });

  it('gives equal keys for equal values and different keys for different values', () => {
    expect(cacheKey(redactParts(run('a'))).digest).to.equal(cacheKey(redactParts(run('a'))).digest);
    expect(cacheKey(redactParts(run('a'))).digest).to.not.equal(cacheKey(redactParts(run('b'))).digest);
  });

  it('keeps parts without a secret word exactly as the full walk would write them (the same key)', () => {
    // The op as keyOp writes it (canonical JSON), with names and text that hold no secret word.
    const op = canonicalJson({ kind: 'exec', argv: ['/bin/sh', '-c', 'echo "ü \u2028" 1e21'], env: ['MODE=x', 'PATH=/bin'], n: [1, -0, 2.5], o: { b: 1, a: 2, 10: 3, 2: 4 } });
    const parts: CacheKeyParts = { v: 2, op, opText: 'RUN |1 MODE=x echo', inputs: ['sha256:1'], content: {}, args: { MODE: 'x' }, platform: 'linux/amd64' };
    const red = redactParts(parts);
    expect(red).to.deep.equal(parts);
    expect(red.op).to.equal(canonicalJson(JSON.parse(op)));
    // A secret word anywhere takes the full walk, which redacts a secret-looking name.
    expect(redactParts({ ...parts, args: { MODE: 'x', API_KEY: 'k' } }).args['API_KEY']).to.match(/^redacted:sha256:/);
  });
});
