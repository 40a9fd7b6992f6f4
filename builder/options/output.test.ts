import { expect } from 'chai';
import { parseOutput } from './output.js';

describe('parseOutput', () => {
  const cases: [string, string[], unknown][] = [
    ['type=oci,dest=out.tar', [], { type: 'oci', dest: 'out.tar', tar: true, names: [] }],
    ['type=oci,dest=layout,tar=false', ['a:1'], { type: 'oci', dest: 'layout', tar: false, names: ['a:1'] }],
    ['type=registry', ['r/a:1'], { type: 'image', names: ['r/a:1'], push: true }],
    ['type=image,name=r/a:1,push=true', [], { type: 'image', names: ['r/a:1'], push: true }],
    ['type=image,"name=r/a:1,r/a:2"', [], { type: 'image', names: ['r/a:1', 'r/a:2'], push: false }],
    ['type=docker,dest=img.tar', ['x'], { type: 'docker', dest: 'img.tar', names: ['x'] }],
    ['type=local,dest=out', [], { type: 'local', dest: 'out' }],
    ['./out', [], { type: 'local', dest: './out' }],
    ['-', [], { type: 'tar', dest: '-' }],
  ];
  for (const [text, tags, want] of cases) {
    it(`reads ${text} as buildx does`, () => expect(parseOutput(text, tags)).to.deep.equal(want));
  }

  it('refuses an unknown type with INVALID_ARGUMENT', () => {
    expect(() => parseOutput('type=floppy', [])).to.throw().with.property('code', 'INVALID_ARGUMENT');
  });
  it('refuses a file output without dest', () => {
    expect(() => parseOutput('type=oci', [])).to.throw().with.property('code', 'INVALID_ARGUMENT');
  });

  it('refuses what csvvalue refuses, and a field that is not key=value (an empty one included), as buildx does', () => {
    const cases: [string, RegExp][] = [
      ['type=local,dest="out"', /column 17: bare " in non-quoted-field/],
      ['type=local,"dest=out', /column 13: extraneous or missing " in quoted-field/],
      ['out,', /invalid field "out"/],
      ['type=local,dest=out,', /invalid field ""/],
      [',,,', /invalid field ""/],
      ['type=local,,dest=out', /invalid field ""/],
      ['type=local,out', /invalid field "out"/],
    ];
    for (const [text, message] of cases) expect(() => parseOutput(text, []), text).to.throw(message).with.property('code', 'INVALID_ARGUMENT');
  });

  it('reads a field quoted whole as one field, a doubled quote in it as a quote, the value as written', () => {
    expect(parseOutput('type=local,"dest=say ""hi"", a,b"', [])).to.deep.equal({ type: 'local', dest: 'say "hi", a,b' });
    expect(parseOutput('type=local,dest= out', [])).to.deep.equal({ type: 'local', dest: ' out' });
  });
});
