import { expect } from 'chai';
import { redactCredentials, redactText, redactUrl } from './redact-url.js';

describe('redactUrl / redactText', () => {
  it('hides a password up to the authority\'s last @, as Go\'s url.Parse reads the userinfo', () => {
    expect(redactUrl('http://deploy:hunter2@Secret42@127.0.0.1:3128')).to.equal('http://deploy:xxxxx@127.0.0.1:3128');
    expect(redactUrl('postgres://app:pa@ss99@db/x')).to.equal('postgres://app:xxxxx@db/x');
    expect(redactText('HTTP_PROXY=http://deploy:hunter2@Secret42@127.0.0.1:3128 and postgres://app:pa@ss99@db/x@y')).to.equal('HTTP_PROXY=http://deploy:xxxxx@127.0.0.1:3128 and postgres://app:xxxxx@db/x@y');
  });

  it('keeps what is not a password: an ssh login, a path\'s @, a mail address after the URL', () => {
    expect(redactUrl('ssh://git@github.com/o/r.git')).to.equal('ssh://git@github.com/o/r.git');
    expect(redactUrl('https://TOKEN@github.com/o/r.git')).to.equal('https://xxxxx@github.com/o/r.git');
    expect(redactText('fetch https://host/pkg@1.2 failed, ask me@example.com')).to.equal('fetch https://host/pkg@1.2 failed, ask me@example.com');
  });

  it('redactCredentials masks the user too, as BuildKit\'s urlutil.RedactCredentials, and leaves git\'s scp form alone', () => {
    expect(redactCredentials('https://user:ghp_tok@github.com/o/r.git')).to.equal('https://xxxxx:xxxxx@github.com/o/r.git');
    expect(redactCredentials('https://ghp_tok@github.com/o/r.git')).to.equal('https://xxxxx@github.com/o/r.git');
    expect(redactCredentials('ssh://git@github.com/o/r.git')).to.equal('ssh://xxxxx@github.com/o/r.git');
    expect(redactCredentials('https://:pw@h/r')).to.equal('https://:xxxxx@h/r');
    expect(redactCredentials('http://deploy:hunter2@Secret42@h/r')).to.equal('http://xxxxx:xxxxx@h/r');
    expect(redactCredentials('git@github.com:o/r.git')).to.equal('git@github.com:o/r.git');
    expect(redactCredentials('https://github.com/o/r.git')).to.equal('https://github.com/o/r.git');
  });
});
