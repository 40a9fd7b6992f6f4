import { expect } from 'chai';
import { baseName, components, concatNames, dirName, joinComponents, nameKey, nameOf, showName } from './byte-names.js';

describe('byte names', () => {
  const latin = Buffer.from([0x64, 0xff]);   // "d" and a byte that is never UTF-8

  it('keeps UTF-8 bytes as their text and anything else as the bytes', () => {
    expect(nameOf(Buffer.from('ünï cödé'))).to.equal('ünï cödé');
    expect(nameOf(Buffer.from('\uFFFD'))).to.equal('\uFFFD');   // a real U+FFFD is text too
    expect(nameOf(latin)).to.deep.equal(latin);
  });

  it('joins, splits and names paths made of text and bytes', () => {
    expect(concatNames('a', '/', 'b')).to.equal('a/b');
    const path = concatNames('a', '/', latin, '/', 'é');
    expect(path).to.deep.equal(Buffer.concat([Buffer.from('a/'), latin, Buffer.from('/é')]));
    expect(components(path)).to.deep.equal(['a', latin, 'é']);
    expect(baseName(path)).to.equal('é');
    expect(dirName(path)).to.deep.equal(Buffer.concat([Buffer.from('a/'), latin]));
    expect(dirName('top')).to.equal('');
    expect(showName(path)).to.equal('a/d\\xff/\\xc3\\xa9');
    expect(joinComponents(components(path))).to.deep.equal(path);
    expect(joinComponents(['a', 'é'])).to.equal('a/é');
    expect(joinComponents([])).to.equal('');
  });

  it('keys text and bytes apart: no string collides with a byte name', () => {
    expect(nameKey('d')).to.equal('d');
    expect(nameKey(latin)).to.not.equal(nameKey(latin.toString('latin1')));
    expect(nameKey(latin)).to.equal(nameKey(Buffer.from(latin)));
  });
});
