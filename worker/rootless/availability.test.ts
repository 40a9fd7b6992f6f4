import { expect } from 'chai';
import { isTsbuildError } from '../../common/index.js';
import { checkUserNamespaces, firstSubordinateRange } from './availability.js';

function codeAndHint(fn: () => unknown): [string | false, string] {
  try {
    fn();
  } catch (err) {
    return [isTsbuildError(err) && err.code, isTsbuildError(err) ? err.hint ?? '' : ''];
  }
  return [false, 'did not throw'];
}

describe('rootless availability', () => {
  it('fails with ROOTLESS_UNAVAILABLE and a usermod hint when a user has no subordinate ids', () => {
    const [code, hint] = codeAndHint(() => firstSubordinateRange('/etc/subuid', 'bob:100000:65536\n', 'alice', 1000));
    expect(code).to.equal('ROOTLESS_UNAVAILABLE');
    expect(hint).to.contain('usermod --add-subuids').and.to.contain('alice');
    expect(firstSubordinateRange('/etc/subuid', 'alice:200000:65536\nalice:300000:5\n', 'alice', 1000)).to.deep.equal({ start: 200000, count: 65536 });
  });

  it('fails with ROOTLESS_UNAVAILABLE naming the sysctl when the kernel forbids unprivileged user namespaces', () => {
    expect(codeAndHint(() => checkUserNamespaces('0\n', undefined))).to.deep.equal(['ROOTLESS_UNAVAILABLE', 'as root: sysctl -w user.max_user_namespaces=15000']);
    expect(codeAndHint(() => checkUserNamespaces('96365\n', '0\n'))).to.deep.equal(['ROOTLESS_UNAVAILABLE', 'as root: sysctl -w kernel.unprivileged_userns_clone=1']);
    expect(() => checkUserNamespaces('96365\n', undefined)).not.to.throw();
    expect(() => checkUserNamespaces(undefined, '1\n')).not.to.throw();
  });
});
