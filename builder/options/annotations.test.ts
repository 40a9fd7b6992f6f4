import { expect } from 'chai';
import { parseAnnotationFlag } from './annotations.js';

describe('--annotation as buildx reads it (util/buildflags ParseAnnotations)', () => {
  it('takes KEY=VALUE as a manifest annotation, and TYPE[,TYPE][PLATFORM]:KEY=VALUE per type', () => {
    expect(parseAnnotationFlag('org.opencontainers.image.title=app')).to.deep.equal([{ kind: 'manifest', key: 'org.opencontainers.image.title', value: 'app' }]);
    expect(parseAnnotationFlag('index,manifest-descriptor[linux/arm64]:k=v=w')).to.deep.equal([
      { kind: 'index', key: 'k', value: 'v=w' },
      { kind: 'manifest-descriptor', platform: 'linux/arm64', key: 'k', value: 'v=w' },
    ]);
    expect(parseAnnotationFlag('')).to.deep.equal([]);
  });

  it('refuses what precedes a colon when it is no type, instead of keeping it in the key', () => {
    expect(() => parseAnnotationFlag('manifest[linux/amd64:k=v')).to.throw('invalid annotation type "manifest[linux/amd64", expected type and optional platform in square brackets');
    expect(() => parseAnnotationFlag('Manifest:k=v')).to.throw('invalid annotation type "Manifest"');
    expect(() => parseAnnotationFlag('foo:k=v')).to.throw('unknown annotation type "foo"');
    expect(() => parseAnnotationFlag('index:=v')).to.throw('missing key');
    expect(() => parseAnnotationFlag('novalue')).to.throw('missing KEY=VALUE');
  });
});
