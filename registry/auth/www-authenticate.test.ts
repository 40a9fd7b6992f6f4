import { expect } from 'chai';
import { parseWwwAuthenticate } from './www-authenticate.js';

describe('parseWwwAuthenticate', () => {
  const cases: [string, ReturnType<typeof parseWwwAuthenticate>][] = [
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } }],
    ],
    [
      'Bearer realm="https://r/t",error="insufficient_scope", Basic realm="x"',
      [
        { scheme: 'bearer', params: { realm: 'https://r/t', error: 'insufficient_scope' } },
        { scheme: 'basic', params: { realm: 'x' } },
      ],
    ],
    ['Bearer realm="a \\"quoted\\" realm", Service=plain', [{ scheme: 'bearer', params: { realm: 'a "quoted" realm', service: 'plain' } }]],
    ['', []],
  ];
  for (const [header, expected] of cases) {
    it(`parses ${JSON.stringify(header)} into its challenges`, () => {
      expect(parseWwwAuthenticate(header)).to.deep.equal(expected);
    });
  }
});
