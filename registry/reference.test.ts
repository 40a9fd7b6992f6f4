import { expect } from 'chai';
import { formatReference, parseReference, registryEndpoint, type Reference } from './reference.js';
import { isTsbuildError } from '../common/index.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  const good: [string, Reference, string][] = [
    ['busybox', { registry: 'docker.io', path: 'library/busybox', tag: 'latest' }, 'docker.io/library/busybox:latest'],
    ['busybox:1.36', { registry: 'docker.io', path: 'library/busybox', tag: '1.36' }, 'docker.io/library/busybox:1.36'],
    ['user/app', { registry: 'docker.io', path: 'user/app', tag: 'latest' }, 'docker.io/user/app:latest'],
    ['docker.io/busybox', { registry: 'docker.io', path: 'library/busybox', tag: 'latest' }, 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox', { registry: 'docker.io', path: 'library/busybox', tag: 'latest' }, 'docker.io/library/busybox:latest'],
    ['localhost:5000/app:1', { registry: 'localhost:5000', path: 'app', tag: '1' }, 'localhost:5000/app:1'],
    ['localhost/app', { registry: 'localhost', path: 'app', tag: 'latest' }, 'localhost/app:latest'],
    ['127.0.0.1:5000/a/b/c:v_1.0-rc', { registry: '127.0.0.1:5000', path: 'a/b/c', tag: 'v_1.0-rc' }, '127.0.0.1:5000/a/b/c:v_1.0-rc'],
    [`ghcr.io/org/app@${D}`, { registry: 'ghcr.io', path: 'org/app', digest: D as Reference['digest'] & string }, `ghcr.io/org/app@${D}`],
    [`quay.io/org/app:v2@${D}`, { registry: 'quay.io', path: 'org/app', tag: 'v2', digest: D as Reference['digest'] & string }, `quay.io/org/app:v2@${D}`],
    ['[::1]:5000/app', { registry: '[::1]:5000', path: 'app', tag: 'latest' }, '[::1]:5000/app:latest'],
    ['my-registry.example.com/team/my__app-x', { registry: 'my-registry.example.com', path: 'team/my__app-x', tag: 'latest' }, 'my-registry.example.com/team/my__app-x:latest'],
  ];
  for (const [text, ref, formatted] of good) {
    it(`normalizes ${text} to ${formatted}`, () => {
      const parsed = parseReference(text);
      expect(parsed).to.deep.equal(ref);
      expect(formatReference(parsed)).to.equal(formatted);
    });
  }

  const bad = ['', 'Busybox', 'busybox:', 'busybox:-x', 'busybox@sha256:abc', 'busybox@md5:aaaa', 'host:5000/', 'a//b', 'app/-x', `busybox:${'x'.repeat(129)}`, 'foo/Bar', 'UPPER.io/app:tag/x'];
  for (const text of bad) {
    it(`refuses ${JSON.stringify(text)} with INVALID_REFERENCE`, () => {
      let caught: unknown;
      try {
        parseReference(text);
      } catch (err) {
        caught = err;
      }
      expect(isTsbuildError(caught) && caught.code).to.equal('INVALID_REFERENCE');
    });
  }

  it('sends Docker Hub requests to registry-1.docker.io and others to their own host', () => {
    expect(registryEndpoint('docker.io')).to.equal('registry-1.docker.io');
    expect(registryEndpoint('localhost:5000')).to.equal('localhost:5000');
  });
});
