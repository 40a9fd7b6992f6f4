import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSecret, resolveSecrets } from './secrets.js';

describe('--secret, as buildx reads it', () => {
  const cases: [string, unknown][] = [
    ['id=a,src=/f', { id: 'a', src: '/f' }],
    ['id=a,source=/f', { id: 'a', src: '/f' }],
    ['type=file,id=a,src=/f', { id: 'a', src: '/f' }],
    ['id=a,env=VAR', { id: 'a', env: 'VAR' }],
    ['type=env,id=a,src=VAR', { id: 'a', env: 'VAR' }],   // with type=env, src names the variable
    ['type=env,id=a', { id: 'a' }],
    ['id=a', { id: 'a' }],
    // csvvalue's fields (util/buildflags/secrets.go): a field quoted whole keeps its commas, the value is as written.
    ['id=a,"src=/p/a,b"', { id: 'a', src: '/p/a,b' }],
    ['ID=a,src= /f', { id: 'a', src: ' /f' }],
  ];
  for (const [text, want] of cases) it(`reads ${text}`, () => expect(parseSecret(text)).to.deep.equal(want));

  it('refuses an unknown key, an unknown type and a missing id by name, never dropping them', () => {
    // A space before a key is part of it; an empty field is not key=value; a quote inside an unquoted field is an error.
    for (const text of ['id=a,scr=/f', 'id=a,required=true', 'type=ssh,id=a', 'src=/f', 'id=a, src=/f', 'id=a,,src=/f', 'id=a,src="/f"', 'id=a,"src=/f']) {
      expect(() => parseSecret(text), text).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('takes the variable named like the id when set, else the file named like it, else fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-secret-test-'));
    try {
      const file = join(dir, 'tok');
      await writeFile(file, 'from-file');
      // A variable's value stays in memory (no file of it anywhere); a file stays a path, read when a step mounts it.
      const fromEnv = await resolveSecrets([`id=${file}`], { [file]: 'from-env' });
      expect(Buffer.from(fromEnv.secrets[file] ?? '').toString('utf8')).to.equal('from-env');
      expect(fromEnv.secrets[file]).to.be.instanceOf(Uint8Array);
      const fromFile = await resolveSecrets([`id=${file}`], {});
      expect(fromFile.secrets[file]).to.equal(file);
      const typed = await resolveSecrets(['type=env,id=t,src=MY_TOKEN'], { MY_TOKEN: 'v' });
      expect(Buffer.from(typed.secrets.t ?? '').toString('utf8')).to.equal('v');
      let tooLarge: unknown;
      await resolveSecrets(['id=big,env=BIG'], { BIG: 'x'.repeat(500 * 1024 + 1) }).catch((err: { code?: unknown }) => { tooLarge = err.code; });
      expect(tooLarge).to.equal('INVALID_ARGUMENT');
      let code: unknown;
      await resolveSecrets([`id=x,src=${join(dir, 'missing')}`], {}).catch((err: { code?: unknown }) => { code = err.code; });
      expect(code).to.equal('INVALID_ARGUMENT');
      // An unset variable leaves the secret out with a warning, as BuildKit answers "not found" only when asked.
      const unset = await resolveSecrets(['id=npm,env=NPM_TOKEN_UNSET'], {});
      expect(unset.secrets).to.deep.equal({});
      expect(unset.warnings).to.deep.equal(['warning: --secret id=npm,env=NPM_TOKEN_UNSET: environment variable NPM_TOKEN_UNSET is not set; the build has no secret "npm" (a RUN mount of it with required=true fails)']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
