import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { nativePath } from './native-path.js';

describe('nativePath', () => {
  it('finds a file of the checkout from the compiled module in dist/worker/', () => {
    const found = nativePath('worker/native-path.ts');
    expect(existsSync(found)).to.equal(true);
    expect(found).to.match(/\/worker\/native-path\.ts$/).and.not.match(/\/dist\//);
  });

  it('lets the named environment variable win', () => {
    process.env['TSBUILD_NATIVE_PATH_TEST'] = '/somewhere/else';
    try {
      expect(nativePath('worker/native/tsbuild-run', 'TSBUILD_NATIVE_PATH_TEST')).to.equal('/somewhere/else');
    } finally {
      delete process.env['TSBUILD_NATIVE_PATH_TEST'];
    }
  });

  it('names every place it looked when the file is missing', () => {
    expect(() => nativePath('worker/native/no-such-program')).to.throw(/no-such-program not found \(looked at .*dist.*\)/);
  });
});
