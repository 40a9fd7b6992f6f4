import { expect } from 'chai';
import { noProxyWithLoopback, systemCAs } from './trust.js';

describe('proxy and CA trust', () => {
  const table: [string, NodeJS.ProcessEnv, string][] = [
    ['adds loopback names to an empty NO_PROXY', {}, 'localhost,.localhost,127.0.0.1,[::1]'],
    ['keeps the user\'s NO_PROXY first', { NO_PROXY: 'corp.example' }, 'corp.example,localhost,.localhost,127.0.0.1,[::1]'],
    ['prefers no_proxy over NO_PROXY, as Go does', { no_proxy: 'a.example', NO_PROXY: 'b.example' }, 'a.example,localhost,.localhost,127.0.0.1,[::1]'],
    ['keeps "*" as it is: nothing goes through a proxy', { NO_PROXY: ' * ' }, '*'],
  ];
  for (const [name, env, expected] of table) {
    it(name, () => {
      expect(noProxyWithLoopback(env)).to.equal(expected);
    });
  }

  it('trusts at least Node\'s bundled roots, each certificate once', () => {
    const cas = systemCAs();
    expect(cas.length).to.be.greaterThan(0);
    expect(new Set(cas).size).to.equal(cas.length);
  });
});
