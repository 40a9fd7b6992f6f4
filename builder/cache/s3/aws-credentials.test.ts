import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsCredentials, parseAwsIni } from './aws-credentials.js';

describe('s3 cache credentials (attributes, environment, shared-file profile)', () => {
  let dir = '';
  let files: NodeJS.ProcessEnv = {};
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsbuild-aws-'));
    writeFileSync(join(dir, 'credentials'), [
      '# a comment', '[default]', 'aws_access_key_id = AKDEFAULT', 'aws_secret_access_key=secret-default', '',
      '[ci.prod]', 'AWS_ACCESS_KEY_ID = AKCI', 'aws_secret_access_key = secret/with=equals', 'aws_session_token = tok', '',
      '[assumer]', 'role_arn = arn:aws:iam::1:role/x', 'source_profile = default',
    ].join('\n'));
    writeFileSync(join(dir, 'config'), [
      '[profile only-config]', 'region = eu-west-1', 'aws_access_key_id = AKCONFIG', 'aws_secret_access_key = secret-config',
      's3 =', '  max_concurrent_requests = 20', '[profile ci.prod]', 'aws_access_key_id = AKSHADOWED', 'aws_secret_access_key = shadowed',
    ].join('\n'));
    files = { HOME: join(dir, 'no-home'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), AWS_CONFIG_FILE: join(dir, 'config') };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the attributes as a pair, then the environment, then the profile (the credentials file over the config file)', () => {
    expect(awsCredentials({ access_key_id: 'A', secret_access_key: 'S', session_token: 'T' }, { ...files, AWS_ACCESS_KEY_ID: 'E', AWS_SECRET_ACCESS_KEY: 'ES' }))
      .to.deep.equal({ credentials: { accessKeyId: 'A', secretAccessKey: 'S', sessionToken: 'T' }, source: 'attributes' });
    expect(awsCredentials({ access_key_id: 'A' }, { ...files, AWS_ACCESS_KEY_ID: 'E', AWS_SECRET_ACCESS_KEY: 'ES', AWS_SESSION_TOKEN: 'ET' }))
      .to.deep.equal({ credentials: { accessKeyId: 'E', secretAccessKey: 'ES', sessionToken: 'ET' }, source: 'environment' });
    expect(awsCredentials({}, files)).to.deep.equal({ credentials: { accessKeyId: 'AKDEFAULT', secretAccessKey: 'secret-default' }, source: 'profile default' });
    expect(awsCredentials({}, { ...files, AWS_PROFILE: 'ci.prod' })).to.deep.equal({ credentials: { accessKeyId: 'AKCI', secretAccessKey: 'secret/with=equals', sessionToken: 'tok' }, source: 'profile ci.prod' });
    expect(awsCredentials({}, { ...files, AWS_PROFILE: 'only-config' }).credentials).to.deep.equal({ accessKeyId: 'AKCONFIG', secretAccessKey: 'secret-config' });
  });

  it('says why there are none: a profile by role, a missing profile, a web identity, nothing at all', () => {
    expect(awsCredentials({}, { ...files, AWS_PROFILE: 'assumer' })).to.deep.equal({ why: 'AWS profile assumer gets its credentials by role_arn, which tsbuild does not follow' });
    expect((awsCredentials({}, { ...files, AWS_PROFILE: 'nope' }) as { why: string }).why).to.contain('AWS_PROFILE=nope is in neither');
    const bare = { HOME: join(dir, 'no-home') };
    expect((awsCredentials({}, { ...bare, AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/token' }) as { why: string }).why).to.equal('AWS_WEB_IDENTITY_TOKEN_FILE names credentials tsbuild does not fetch');
    expect((awsCredentials({}, bare) as { why: string }).why).to.match(/^no AWS credentials/);
  });

  it('reads sections and keys as the SDKs do: nested settings skipped, a dotted name kept whole, keys lower-cased', () => {
    const s = parseAwsIni('[a.b]\nKey = v = w\ns3 =\n  nested = 1\n; c\nother=2\r\n[ profile  x ]\n');
    expect([...s.keys()]).to.deep.equal(['a.b', 'profile x']);
    expect(Object.fromEntries(s.get('a.b') ?? [])).to.deep.equal({ key: 'v = w', s3: '', other: '2' });
  });
});
