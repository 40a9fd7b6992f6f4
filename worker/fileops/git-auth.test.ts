import { expect } from 'chai';
import { gitAuthHeader } from './git-auth.js';

describe('gitAuthHeader', () => {
  const basic = (token: string): string => `basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;

  it('takes the first of GIT_AUTH_HEADER.HOST, GIT_AUTH_TOKEN.HOST, GIT_AUTH_HEADER, GIT_AUTH_TOKEN, as BuildKit\'s git source', async () => {
    const all = { 'GIT_AUTH_HEADER.example.com:8443': Buffer.from('bearer h1'), 'GIT_AUTH_TOKEN.example.com:8443': Buffer.from('t1'), GIT_AUTH_HEADER: Buffer.from('bearer h2'), GIT_AUTH_TOKEN: Buffer.from('t2') };
    const remote = 'https://example.com:8443/r.git';
    expect(await gitAuthHeader(remote, all)).to.equal('bearer h1');
    const { 'GIT_AUTH_HEADER.example.com:8443': _h1, ...rest } = all;
    expect(await gitAuthHeader(remote, rest)).to.equal(basic('t1'));
    expect(await gitAuthHeader(remote, { GIT_AUTH_HEADER: Buffer.from('bearer h2'), GIT_AUTH_TOKEN: Buffer.from('t2') })).to.equal('bearer h2');
    expect(await gitAuthHeader(remote, { GIT_AUTH_TOKEN: Buffer.from('t2'), 'GIT_AUTH_TOKEN.other.host': Buffer.from('no') })).to.equal(basic('t2'));
  });

  it('is undefined without such a secret, and for a remote that is not http(s)', async () => {
    expect(await gitAuthHeader('https://example.com/r.git', {})).to.equal(undefined);
    expect(await gitAuthHeader('git@example.com:r.git', { GIT_AUTH_TOKEN: Buffer.from('t') })).to.equal(undefined);
    expect(await gitAuthHeader('ssh://git@example.com/r.git', { GIT_AUTH_TOKEN: Buffer.from('t') })).to.equal(undefined);
  });
});
