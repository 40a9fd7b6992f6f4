import { expect } from 'chai';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// Which SSH agent git gets for an ssh remote, from the command line: a stand-in `ssh` first on PATH (git runs
// GIT_SSH_COMMAND through the shell, which finds it there) records SSH_AUTH_SOCK and fails as an unreachable host.
// A context typed on `tsbuild build`'s own command line is fetched as the user fetches with their git (their agent);
// what a Dockerfile or a bake file names gets only the agent `--ssh default` forwards, as BuildKit's git source.
describe('git over ssh: whose agent', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  let bin = '';
  let agent: Server;
  let socket = '';
  const REMOTE = 'git@git.example.invalid:org/private.git';

  before(async () => {
    env = await startBuildEnv('tsbuild-git-agent-');
    bin = join(env.dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'ssh'), `#!/bin/sh\necho "agent: \${SSH_AUTH_SOCK:-none}" >> ${join(env.dir, 'calls')}\nexit 255\n`);
    await chmod(join(bin, 'ssh'), 0o755);
    socket = join(env.dir, 'agent.sock');
    agent = createServer();
    await new Promise<void>((resolve) => agent.listen(socket, resolve));
  });
  after(async () => {
    agent?.close();
    await env?.stop();
  });

  /** Runs tsbuild (it fails: the stand-in ssh reaches nothing) and returns the agents ssh was given. */
  const agents = async ([command, ...args]: string[], cwd?: string, vars: NodeJS.ProcessEnv = {}): Promise<string[]> => {
    await rm(join(env.dir, 'calls'), { force: true });
    const r = await tsbuild([command ?? 'build', '--root', join(env.dir, 'root'), ...args], { ...(cwd ? { cwd } : {}), env: { PATH: `${bin}:${process.env.PATH ?? ''}`, SSH_AUTH_SOCK: socket, ...vars } });
    expect(r.code, 'ssh reaches nothing').to.not.equal(0);
    const calls = await readFile(join(env.dir, 'calls'), 'utf8').catch(() => '');
    expect(calls, r.stderr).to.not.equal('');
    return [...new Set(calls.trim().split('\n'))];
  };

  it('gives a git context typed on the command line the user\'s agent', async () => {
    expect(await agents(['build', '--progress', 'plain', REMOTE])).to.deep.equal([`agent: ${socket}`]);
  });

  it('gives a Dockerfile\'s ADD git@… no agent, and the --ssh default one when forwarded', async () => {
    const ctx = join(env.dir, 'add');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nADD ${REMOTE} /src\n`);
    expect(await agents(['build', '--progress', 'plain', ctx])).to.deep.equal(['agent: none']);
    expect(await agents(['build', '--progress', 'plain', '--ssh', 'default', ctx])).to.deep.equal([`agent: ${socket}`]);
  });

  it('gives a bake file\'s git context no agent', async () => {
    const project = join(env.dir, 'bake');
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'docker-bake.hcl'), `target "default" {\n  context = "${REMOTE}"\n}\n`);
    expect(await agents(['bake', '--progress', 'plain'], project)).to.deep.equal(['agent: none']);
  });

  it('gives a remote bake definition over ssh the user\'s agent, or the one BUILDX_BAKE_GIT_SSH names (buildx\'s ReadRemoteFiles)', async () => {
    const other = join(env.dir, 'other.sock');
    const second = createServer();
    await new Promise<void>((resolve) => second.listen(other, resolve));
    try {
      const cwd = join(env.dir, 'remote-bake');
      await mkdir(cwd, { recursive: true });
      expect(await agents(['bake', '--progress', 'plain', REMOTE, '--print'], cwd)).to.deep.equal([`agent: ${socket}`]);
      expect(await agents(['bake', '--progress', 'plain', REMOTE, '--print'], cwd, { BUILDX_BAKE_GIT_SSH: other })).to.deep.equal([`agent: ${other}`]);
    } finally {
      second.close();
    }
  });
});
