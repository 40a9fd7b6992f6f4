import { expect } from 'chai';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchGit } from './git-fetch.js';
import { parseGitRef } from './git-ref.js';

// What ssh gets to authenticate an ssh git remote with. A stand-in `ssh` first on PATH (git runs GIT_SSH_COMMAND
// through the shell, which finds it there) writes down its arguments and SSH_AUTH_SOCK, then fails as an unreachable
// host would.
describe('fetchGit over ssh', () => {
  let dir: string;
  let savedPath: string | undefined;
  let savedSock: string | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-git-ssh-'));
    await writeFile(join(dir, 'ssh'), `#!/bin/sh\nprintf '%s\\n' "args: $*" "agent: \${SSH_AUTH_SOCK:-none}" >> ${join(dir, 'calls')}\nexit 255\n`);
    await chmod(join(dir, 'ssh'), 0o755);
    savedPath = process.env.PATH;
    savedSock = process.env.SSH_AUTH_SOCK;
    process.env.PATH = `${dir}:${savedPath ?? '/usr/bin:/bin'}`;
    process.env.SSH_AUTH_SOCK = '/run/user/agent-of-the-person-running-the-build';
  });
  after(async () => {
    process.env.PATH = savedPath;
    if (savedSock === undefined) delete process.env.SSH_AUTH_SOCK; else process.env.SSH_AUTH_SOCK = savedSock;
    await rm(dir, { recursive: true, force: true });
  });

  const attempt = async (sshAgent?: string): Promise<string> => {
    await rm(join(dir, 'calls'), { force: true });
    const work = await mkdtemp(join(dir, 'work-'));
    const ref = parseGitRef('git@git.example.invalid:org/private.git');
    if (ref === undefined) throw new Error('not a git URL');
    const err = await fetchGit(ref, work, { signal: new AbortController().signal, code: 'COPY_SOURCE_NOT_FOUND', ...(sshAgent ? { sshAgent } : {}) }).then(() => undefined, (e: unknown) => e);
    expect(err, 'the stand-in ssh fails').to.be.instanceOf(Error);
    return readFile(join(dir, 'calls'), 'utf8');
  };

  it('offers ssh neither the invoking user\'s key files nor their agent unless an agent is passed', async () => {
    const calls = await attempt();
    expect(calls).to.contain('-o IdentityFile=none').and.contain('agent: none');
    expect(calls).to.not.contain('agent-of-the-person-running-the-build');
  });

  it('hands ssh the agent it is given (--ssh default), still without key files', async () => {
    const calls = await attempt('/run/forwarded/agent.sock');
    expect(calls).to.contain('-o IdentityFile=none').and.contain('agent: /run/forwarded/agent.sock');
  });
});
