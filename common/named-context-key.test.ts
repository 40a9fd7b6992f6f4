import { expect } from 'chai';
import { namedContextKey } from './named-context-key.js';

describe('namedContextKey (BuildKit dockerui NamedContext)', () => {
  const cases: [string, string][] = [
    ['alpine', 'alpine'],
    ['alpine:latest', 'alpine'],
    ['alpine:3.20', 'alpine:3.20'],
    ['docker.io/library/alpine:latest', 'alpine'],
    ['index.docker.io/library/alpine', 'alpine'],
    ['docker.io/me/app:latest', 'me/app'],
    ['ghcr.io/me/app:latest', 'ghcr.io/me/app'],
    ['localhost:5000/app', 'localhost:5000/app'],
    ['base', 'base'],
  ];
  for (const [ref, key] of cases) it(`names ${ref} ${key}`, () => expect(namedContextKey(ref)).to.equal(key));
});
