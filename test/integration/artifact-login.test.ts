import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { TSBUILD, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

/** Runs `bin/tsbuild ARGS` with `input` on stdin (the shared helper closes stdin). */
function tsbuildWithStdin(args: string[], input: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSBUILD, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(input);
  });
}

interface ConfigFile { auths?: Record<string, { auth?: string }> }

describe('tsbuild login and logout against a TLS registry with htpasswd auth', function () {
  let registry: RunningRegistry;
  let work = '';
  let env: NodeJS.ProcessEnv = {};
  let certsDir = '';
  const user = { user: 'alice', password: 'correct horse battery' };

  const config = async (): Promise<ConfigFile | undefined> => {
    try {
      return JSON.parse(await readFile(join(work, 'docker', 'config.json'), 'utf8')) as ConfigFile;
    } catch {
      return undefined;
    }
  };

  before(async () => {
    registry = await startRegistry({ tls: true, htpasswd: user });
    work = await mkdtemp(join(tmpdir(), 'tsbuild-login-'));
    env = { DOCKER_CONFIG: join(work, 'docker') };
    certsDir = join(work, 'certs.d');
    await mkdir(join(certsDir, registry.host), { recursive: true });
    await copyFile(registry.caFile ?? '', join(certsDir, registry.host, 'ca.crt'));
    await writeFile(join(work, 'payload.txt'), 'needs a login\n');
  });
  after(async () => {
    await registry?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('refuses wrong credentials after asking the registry, and saves nothing', async () => {
    const res = await tsbuildWithStdin(['login', registry.host, '-u', user.user, '--password-stdin', '--certs-dir', certsDir], 'wrong\n', env);
    expect(res.code).to.equal(1);
    expect(res.stderr).to.contain('authentication required').and.contain('hint:').and.not.contain('wrong');
    expect(await config()).to.equal(undefined);
  });

  it('saves checked credentials from --password-stdin into $DOCKER_CONFIG/config.json, then pushes with them', async () => {
    const res = await tsbuildWithStdin(['login', `https://${registry.host}/`, '-u', user.user, '--password-stdin', '--certs-dir', certsDir], `${user.password}\n`, env);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.contain('Login Succeeded');
    const auth = (await config())?.auths?.[registry.host]?.auth;
    expect(Buffer.from(auth ?? '', 'base64').toString('utf8')).to.equal(`${user.user}:${user.password}`);

    const push = await tsbuild(['artifact', 'push', `${registry.host}/private/notes:1`, join(work, 'payload.txt'), '--certs-dir', certsDir], { env });
    expect(push.code, push.stderr).to.equal(0);
  });

  it('warns that -p puts the password on the command line, and still logs in', async () => {
    const res = await tsbuild(['login', registry.host, '-u', user.user, '-p', user.password, '--certs-dir', certsDir], { env });
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stderr).to.contain('--password-stdin');
  });

  it('removes the entry on logout, after which a push is refused with an auth error', async () => {
    const res = await tsbuild(['logout', registry.host], { env });
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.contain(`Removing login credentials for ${registry.host}`);
    expect((await config())?.auths).to.deep.equal({});

    const again = await tsbuild(['logout', registry.host], { env });
    expect(again.stdout).to.contain('Not logged in');
    const push = await tsbuild(['artifact', 'push', `${registry.host}/private/notes:2`, join(work, 'payload.txt'), '--certs-dir', certsDir], { env });
    expect(push.code).to.equal(1);
    expect(push.stderr).to.contain('authentication required').and.contain('tsbuild login');
  });

  it('asks for a password instead of logging in without one', async () => {
    const res = await tsbuild(['login', registry.host, '-u', user.user, '--certs-dir', certsDir], { env });
    expect(res.code).to.equal(2);
    expect(res.stderr).to.contain('--password-stdin');
  });
});
