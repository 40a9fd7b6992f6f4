import { expect } from 'chai';
import { isSecretName } from './secret-name.js';

describe('isSecretName', () => {
  const cases: Array<[string, boolean]> = [
    ['GITHUB_TOKEN', true], ['api_key', true], ['DATABASE_PASSWORD', true], ['secret_MESSAGE', true], ['AUTH', true],
    ['NPM_AUTH_TOKEN', true], ['aws_credentials', true], ['PASSWD', true],
    ['PUBLIC_KEY', false], ['VERSION', false], ['GITHUB_TOKEN_FILE', false], ['file_secret', false], ['AUTH_VERSION', false], ['SECRET_FILES', true], ['KEYBOARD', false], ['MONKEY', false], ['TOKENIZER', false], ['NODE_ENV', false],
  ];
  for (const [name, expected] of cases) {
    it(`says ${name} ${expected ? 'looks' : 'does not look'} secret`, () => expect(isSecretName(name)).to.equal(expected));
  }
});
