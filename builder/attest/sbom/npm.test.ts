import { expect } from 'chai';
import { parseNpmLock, parseNpmPackageJson } from './npm.js';

describe('npm scanners', () => {
  it('lists a v3 lock file\'s packages by install path, scoped and nested ones too, without the root project', () => {
    const lock = JSON.stringify({ lockfileVersion: 3, packages: {
      '': { name: 'app', version: '1.0.0' },
      'node_modules/left-pad': { version: '1.3.0', license: 'WTFPL' },
      'node_modules/@types/node': { version: '24.0.0' },
      'node_modules/a/node_modules/b': { version: '2.0.0' },
      'node_modules/alias': { name: 'real-name', version: '3.0.0' },
      'node_modules/linked': { link: true, resolved: '../linked' },
    } });
    expect(parseNpmLock(lock, '/app/package-lock.json').map((p) => `${p.name}@${p.version}`)).to.deep.equal([
      'left-pad@1.3.0', '@types/node@24.0.0', 'b@2.0.0', 'real-name@3.0.0',
    ]);
  });
  it('walks a v1 lock file\'s nested dependencies', () => {
    const lock = JSON.stringify({ lockfileVersion: 1, dependencies: { a: { version: '1.0.0', dependencies: { b: { version: '2.0.0' } } } } });
    expect(parseNpmLock(lock, '/package-lock.json').map((p) => p.name)).to.deep.equal(['a', 'b']);
  });
  it('reads an installed package.json and lists nothing for a broken one', () => {
    expect(parseNpmPackageJson('{"name":"x","version":"1.0.0","license":{"type":"MIT"}}', '/n/package.json')).to.deep.equal([
      { kind: 'npm', name: 'x', version: '1.0.0', license: 'MIT', foundIn: '/n/package.json' },
    ]);
    expect(parseNpmPackageJson('{not json', '/n/package.json')).to.deep.equal([]);
  });
});
