import { expect } from 'chai';
import { cleanComponents, EscapeError, inRootPath } from './clean-path.js';

describe('cleanComponents', () => {
  const latin = Buffer.from([0x63, 0x61, 0x66, 0xe9]);   // "café" in Latin-1: not UTF-8
  const bytes = (...parts: Array<string | Buffer>): Buffer => Buffer.concat(parts.map((p) => Buffer.from(p)));

  it('drops a leading /, . and empty components, and pops ..', () => {
    expect(cleanComponents('/usr//./lib/../bin/')).to.deep.equal(['usr', 'bin']);
    expect(cleanComponents('./')).to.deep.equal([]);
    expect(inRootPath('/../etc/./x/..')).to.equal('etc');
  });

  it('splits a name given as bytes on its / bytes, keeping each component that is not UTF-8 as bytes', () => {
    expect(cleanComponents(bytes('/./a//', latin, '/../', latin, '/b/'))).to.deep.equal(['a', latin, 'b']);
    expect(cleanComponents(bytes('x/', latin, '/..'))).to.deep.equal(['x']);
  });

  it('refuses .. above the root unless clamped, naming the path as showName shows it', () => {
    expect(() => cleanComponents('a/../../etc')).to.throw(EscapeError, '"a/../../etc" climbs out of the root');
    expect(() => cleanComponents(bytes('../', latin))).to.throw(EscapeError, '"../caf\\xe9" climbs out of the root');
    expect(cleanComponents(bytes('../', latin), true)).to.deep.equal([latin]);
  });
});
