import { expect } from 'chai';
import { parseGitRef, type GitRef } from './git-ref.js';
import { redactUrl } from '../../common/index.js';

describe('parseGitRef (BuildKit dfgitutil.ParseGitRef rules)', () => {
  const cases: [string, Partial<GitRef> | undefined][] = [
    ['https://github.com/org/repo.git', { remote: 'https://github.com/org/repo.git', ref: '', subdir: '' }],
    ['https://github.com/org/repo.git#v1.2:sub/dir', { ref: 'v1.2', subdir: 'sub/dir' }],
    ['https://github.com/org/repo.git#main:../../etc', { ref: 'main', subdir: 'etc' }],
    ['https://github.com/org/repo', undefined],                  // http(s) needs the .git suffix; else it is a file URL
    ['http://host/repo.git?branch=dev&subdir=x', { remote: 'http://host/repo.git', ref: 'refs/heads/dev', subdir: 'x' }],
    ['https://host/r.git?tag=v1&keep-git-dir=true&submodules=false', { ref: 'refs/tags/v1', keepGitDir: true, submodules: false }],
    ['https://host/r.git?ref=main&checksum=abc123', { ref: 'main', checksum: 'abc123' }],
    ['git@github.com:org/repo.git#dev', { remote: 'git@github.com:org/repo.git', ref: 'dev' }],
    ['git://host/repo', { remote: 'git://host/repo' }],
    ['ssh://git@host:2222/repo#main:x', { remote: 'ssh://git@host:2222/repo', ref: 'main', subdir: 'x' }],
    ['file:///srv/repo.git', undefined],
    ['/srv/repo.git', undefined],
    ['./repo.git', undefined],
    ['ext::sh -c touch% /tmp/x', undefined],
    ['.', undefined],
  ];
  for (const [input, want] of cases) {
    it(`reads ${input} as ${want === undefined ? 'no git source' : JSON.stringify(want)}`, () => {
      const got = parseGitRef(input);
      if (want === undefined) expect(got).to.equal(undefined);
      else expect(got).to.include(want);
    });
  }

  it('refuses a conflicting or unknown query, and an option-like host, with INVALID_ARGUMENT', () => {
    for (const bad of ['https://h/r.git?ref=dev#main', 'https://h/r.git?ref=a&tag=b', 'https://h/r.git?tag=a&branch=b', 'https://h/r.git?x=1', 'https://h/r.git?ref=', '-oProxy@host:repo', 'git@-oProxy:repo']) {
      expect(() => parseGitRef(bad), bad).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('redacts a password, and a token given as the user over http(s), but keeps an ssh login', () => {
    expect(redactUrl('https://user:pw@h/r.git')).to.equal('https://user:xxxxx@h/r.git');
    expect(redactUrl('https://ghp_token@h/r.git')).to.equal('https://xxxxx@h/r.git');
    expect(redactUrl('ssh://git@h/r.git')).to.equal('ssh://git@h/r.git');
  });
});
