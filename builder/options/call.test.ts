import { expect } from 'chai';
import { parseCallFunc } from './call.js';

describe('parseCallFunc (--call, as buildx ParseCallFunc)', () => {
  it('reads the method, format= and ignorestatus=, check as lint, build as no call', () => {
    expect(parseCallFunc(undefined)).to.equal(undefined);
    expect(parseCallFunc('build')).to.equal(undefined);
    expect(parseCallFunc('check')).to.deep.equal({ name: 'lint', format: 'text', ignoreStatus: false });
    expect(parseCallFunc('check,format=json,ignorestatus=true')).to.deep.equal({ name: 'lint', format: 'json', ignoreStatus: true });
    expect(parseCallFunc('format=json,outline')).to.deep.equal({ name: 'outline', format: 'json', ignoreStatus: false });
    expect(parseCallFunc('targets')).to.deep.equal({ name: 'targets', format: 'text', ignoreStatus: false });
  });

  it('refuses two methods, unknown fields, methods and formats by name', () => {
    expect(() => parseCallFunc('check,targets')).to.throw('two methods');
    expect(() => parseCallFunc('check,colour=red')).to.throw('invalid --call field "colour=red"');
    expect(() => parseCallFunc('describe')).to.throw('--call describe is not a method');
    expect(() => parseCallFunc('check,format=yaml')).to.throw('format "yaml"');
    expect(() => parseCallFunc('check,ignorestatus=maybe')).to.throw('invalid boolean');
  });

  it('splits the value as buildx\'s csvvalue does: spaces are kept, a field may be quoted, a stray quote is refused', () => {
    expect(parseCallFunc('check,"format=json"')).to.deep.equal({ name: 'lint', format: 'json', ignoreStatus: false });
    expect(() => parseCallFunc('check, format=json')).to.throw('invalid --call field " format=json"');
    expect(() => parseCallFunc('check,format="json"')).to.throw('bare " in non-quoted-field').with.property('code', 'INVALID_ARGUMENT');
  });
});
