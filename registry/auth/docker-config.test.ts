import { expect } from 'chai';
import { lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerConfigCredentials, dockerConfigPath, login, logout, readDockerConfig } from './docker-config.js';
import { isTsbuildError } from '../../common/index.js';

describe('docker config.json credentials', () => {
  let dir = '';
  let path = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-dockercfg-'));
    path = join(dir, 'config.json');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the file through DOCKER_CONFIG, else under the home directory', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/etc/dc' })).to.equal('/etc/dc/config.json');
    expect(dockerConfigPath({})).to.match(/\.docker\/config\.json$/);
  });

  it('reads base64 auth, username/password and identity tokens, matching keys written with scheme and path', async () => {
    await writeFile(path, JSON.stringify({
      auths: {
        'localhost:5000': { auth: Buffer.from('alice:s3cr:et').toString('base64') },
        'https://reg.example.com/v1/': { username: 'bob', password: 'pw' },
        'https://index.docker.io/v1/': { identitytoken: 'refresh-me' },
      },
    }));
    const source = dockerConfigCredentials(path);
    expect((await source('localhost:5000')).credentials).to.deep.equal({ username: 'alice', password: 's3cr:et' });
    expect((await source('reg.example.com')).credentials).to.deep.equal({ username: 'bob', password: 'pw' });
    expect((await source('docker.io')).credentials).to.deep.equal({ identityToken: 'refresh-me' });
  });

  it('describes where credentials came from without revealing them', async () => {
    await writeFile(path, JSON.stringify({ auths: { 'localhost:5000': { auth: Buffer.from('alice:topsecret').toString('base64') } } }));
    const found = await dockerConfigCredentials(path)('localhost:5000');
    expect(found.source).to.contain(path).and.contain('localhost:5000').and.not.contain('topsecret');
    const none = await dockerConfigCredentials(path)('other:5000');
    expect(none.credentials).to.equal(undefined);
    expect(none.source).to.match(/^anonymous/);
  });

  it('treats a missing file as an empty config', async () => {
    expect((await readDockerConfig(join(dir, 'absent.json'))).auths).to.deep.equal({});
  });

  it('refuses a file that is not JSON with a user error naming the file', async () => {
    await writeFile(path, '{not json');
    let caught: unknown;
    try {
      await readDockerConfig(path);
    } catch (err) {
      caught = err;
    }
    expect(isTsbuildError(caught) && caught.code).to.equal('INVALID_ARGUMENT');
    expect((caught as Error).message).to.contain(path);
  });

  it('logs in and out as docker does, keeping the rest of the file and writing it mode 0600', async () => {
    await writeFile(path, JSON.stringify({ auths: { 'other:1': { auth: 'eDp5' } }, psFormat: 'table' }));
    await login('localhost:5000', 'alice', 'pw', path);
    await login('docker.io', 'bob', 'hub', path);
    const written = JSON.parse(await readFile(path, 'utf8')) as Record<string, Record<string, { auth: string }>>;
    expect(written['auths']?.['localhost:5000']?.auth).to.equal(Buffer.from('alice:pw').toString('base64'));
    expect(written['auths']?.['https://index.docker.io/v1/']?.auth).to.equal(Buffer.from('bob:hub').toString('base64'));
    expect(written['auths']?.['other:1']).to.deep.equal({ auth: 'eDp5' });
    expect(written['psFormat']).to.equal('table');
    expect((await stat(path)).mode & 0o777).to.equal(0o600);
    expect(await logout('localhost:5000', path)).to.equal(true);
    expect(await logout('localhost:5000', path)).to.equal(false);
    expect((await dockerConfigCredentials(path)('localhost:5000')).credentials).to.equal(undefined);
  });

  it('writes through a fresh temp file: a symlink planted at the old predictable temp name is not followed', async () => {
    const victim = join(dir, 'victim');
    await writeFile(victim, 'untouched');
    // The name the previous writer used (`config.json.tmp-PID`): a local attacker could point it anywhere.
    await symlink(victim, `${path}.tmp-${process.pid}`);
    await login('localhost:5000', 'alice', 'pw', path);
    expect(await readFile(victim, 'utf8')).to.equal('untouched');
    expect((await lstat(path)).isFile()).to.equal(true);
    expect((await stat(path)).mode & 0o777).to.equal(0o600);
    // Nothing left behind but the planted link: the temp file was renamed into place.
    expect((await readdir(dir)).sort()).to.deep.equal(['config.json', `config.json.tmp-${process.pid}`, 'victim']);
  });

  it('replaces a config.json that is a symlink with a file instead of writing through it', async () => {
    const victim = join(dir, 'victim.json');
    await writeFile(victim, '{}');
    await symlink(victim, path);
    await login('localhost:5000', 'alice', 'pw', path);
    expect(await readFile(victim, 'utf8')).to.equal('{}');
    expect((await lstat(path)).isFile()).to.equal(true);
  });

  it('asks a credential helper named by credHelpers, and decodes <token> usernames as identity tokens', async () => {
    const bin = join(dir, 'bin');
    const { mkdir, chmod } = await import('node:fs/promises');
    await mkdir(bin);
    const helper = join(bin, 'docker-credential-fake');
    await writeFile(helper, '#!/bin/sh\nread host\nif [ "$host" = "tok.example" ]; then echo \'{"ServerURL":"tok.example","Username":"<token>","Secret":"idt"}\'; exit 0; fi\nif [ "$host" = "pw.example" ]; then echo \'{"ServerURL":"pw.example","Username":"carol","Secret":"pw"}\'; exit 0; fi\necho "credentials not found in native keychain"; exit 1\n');
    await chmod(helper, 0o755);
    await writeFile(path, JSON.stringify({ credHelpers: { 'tok.example': 'fake', 'pw.example': 'fake', 'none.example': 'fake' } }));
    const oldPath = process.env['PATH'];
    process.env['PATH'] = `${bin}:${oldPath ?? ''}`;
    try {
      const source = dockerConfigCredentials(path);
      expect((await source('tok.example')).credentials).to.deep.equal({ identityToken: 'idt' });
      const pw = await source('pw.example');
      expect(pw.credentials).to.deep.equal({ username: 'carol', password: 'pw' });
      expect(pw.source).to.contain('docker-credential-fake');
      expect((await source('none.example')).credentials).to.equal(undefined);
    } finally {
      process.env['PATH'] = oldPath;
    }
  });
});
