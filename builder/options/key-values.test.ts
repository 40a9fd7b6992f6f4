import { expect } from 'chai';
import { keyValues } from './key-values.js';

describe('keyValues', () => {
  it('reads KEY=VALUE; a bare KEY from the environment for --build-arg, empty for --label (buildx listToMap)', () => {
    const env = { FROM_ENV: 'x' };
    expect(keyValues('--build-arg', ['A=1', 'B==2', 'FROM_ENV', 'UNSET'], 'env', env)).to.deep.equal({ A: '1', B: '=2', FROM_ENV: 'x' });
    expect(keyValues('--label', ['A=1', 'FROM_ENV'], 'empty', env)).to.deep.equal({ A: '1', FROM_ENV: '' });
  });

  it('refuses an empty key in buildx\'s words', () => {
    expect(() => keyValues('--label', ['=TEST_STRING'], 'empty', {})).to.throw('invalid key-value pair "=TEST_STRING": empty key');
  });
});
