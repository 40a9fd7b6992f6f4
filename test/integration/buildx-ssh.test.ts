import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// tsbuild issue 17: `--ssh default|ID=SOCKET` with RUN --mount=type=ssh, through the real command and a real
// ssh-agent. The busybox base has no ssh client, so the host's ssh-add and the libraries it links are copied into
// the context and run with the host's dynamic loader: the step really speaks the agent protocol over the mount.

describe('buildx --ssh with RUN --mount=type=ssh (issue 17)', function () {
  this.timeout(240_000);
  let env: BuildEnv;
  let ctx = '';
  let root = '';
  let agent: ChildProcess | undefined;
  let socket = '';
  const build = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
    tsbuild(['build', '--root', root, '--progress', 'plain', ...args], { cwd: ctx, env: { ...process.env, ...extraEnv } });
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };

  before(async () => {
    env = await startBuildEnv('tsbuild-ssh-');
    ctx = join(env.dir, 'ctx');
    root = join(env.dir, 'root');
    await mkdir(join(ctx, 'ssh'), { recursive: true });
    // ssh-add and its shared libraries (ldd's list), for `RUN /ssh/ld.so --library-path /ssh /ssh/ssh-add -l`.
    const ldd = await run('ldd', ['/usr/bin/ssh-add']);
    expect(ldd.code, `ldd /usr/bin/ssh-add (openssh-client, see scripts/setup.sh): ${ldd.stderr}`).to.equal(0);
    const libs = [...ldd.stdout.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1] ?? '');
    for (const lib of libs) await copyFile(lib, join(ctx, 'ssh', basename(lib)));
    await copyFile('/usr/bin/ssh-add', join(ctx, 'ssh', 'ssh-add'));
    const loader = libs.find((l) => basename(l).startsWith('ld-linux'));
    expect(loader, ldd.stdout).to.be.a('string');
    await writeFile(join(ctx, 'run-ssh-add'), `#!/bin/sh\nexec /ssh/${basename(loader ?? '')} --library-path /ssh /ssh/ssh-add "$@"\n`, { mode: 0o755 });
    socket = join(env.dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    for (let i = 0; i < 100 && (await run('test', ['-S', socket])).code !== 0; i++) await new Promise((r) => setTimeout(r, 50));
  });
  after(async () => {
    agent?.kill();
    await env?.stop();
  });

  const dockerfile = (mount: string): string => [
    `FROM ${env.base}`,
    'COPY ssh/ /ssh/',
    'COPY run-ssh-add /usr/local/bin/',
    `RUN --mount=${mount} (run-ssh-add -l; echo "exit $?"; echo "sock $SSH_AUTH_SOCK"; stat -c "%u:%g %a" "$SSH_AUTH_SOCK"; true) > /answer.txt 2>&1`,
    '',
  ].join('\n');

  it('forwards $SSH_AUTH_SOCK with --ssh default: ssh-add -l gets the agent\'s answer at BuildKit\'s default target', async () => {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile('type=ssh'));
    const out = join(env.dir, 'out-default');
    ok(await build(['--ssh', 'default', '-o', `type=local,dest=${out}`, '.'], { SSH_AUTH_SOCK: socket }));
    const answer = await readFile(join(out, 'answer.txt'), 'utf8');
    expect(answer).to.contain('The agent has no identities.');
    expect(answer).to.contain('exit 1');   // ssh-add -l: 1 means "no identities", 2 would mean "no agent"
    expect(answer).to.contain('sock /run/buildkit/ssh_agent.0');
    expect(answer).to.contain('0:0 600');
  });

  it('forwards a named agent (--ssh ID=SOCKET) with the mount\'s id, target, uid and mode', async () => {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile('type=ssh,id=work,target=/tmp/agent,uid=1000,gid=1000,mode=0660,required=true'));
    const out = join(env.dir, 'out-named');
    ok(await build(['--ssh', `work=${socket}`, '-o', `type=local,dest=${out}`, '.']));
    const answer = await readFile(join(out, 'answer.txt'), 'utf8');
    expect(answer).to.contain('The agent has no identities.');
    expect(answer).to.contain('sock /tmp/agent');
    expect(answer).to.contain('1000:1000 660');
  });

  it('fails a required ssh mount without --ssh with a clear error, and skips an optional one', async () => {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile('type=ssh,required=true'));
    const r = await build(['.']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('needs the SSH agent "default", but --ssh default was not given');
    expect(r.stderr).to.contain('hint: pass --ssh default');
    await writeFile(join(ctx, 'Dockerfile'), dockerfile('type=ssh'));
    const out = join(env.dir, 'out-none');
    // --no-cache: the same step with an agent is cached (as in BuildKit, the agent is not part of the key).
    ok(await build(['--no-cache', '-o', `type=local,dest=${out}`, '.']));
    expect(await readFile(join(out, 'answer.txt'), 'utf8')).to.contain('exit 2');   // no agent: ssh-add -l exits 2
  });

  it('answers for key files (--ssh default=KEY,KEY as buildx): ssh-add -L lists them and ssh-add -T signs with each', async () => {
    const keys: string[] = [];
    for (const [type, extra] of [['ed25519', []], ['rsa', ['-b', '2048']], ['ecdsa', []], ['rsa', ['-b', '2048', '-m', 'PEM']]] as [string, string[]][]) {
      const file = join(env.dir, `id_${type}${keys.length}`);
      const r = await run('ssh-keygen', ['-q', '-t', type, ...extra, '-N', '', '-C', `key${keys.length}`, '-f', file]);
      expect(r.code, r.stderr).to.equal(0);
      keys.push(file);
      await copyFile(`${file}.pub`, join(ctx, `key${keys.length - 1}.pub`));
    }
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base}`, 'COPY ssh/ /ssh/', 'COPY run-ssh-add /usr/local/bin/', 'COPY *.pub /pub/',
      'RUN --mount=type=ssh (run-ssh-add -L; for k in /pub/*.pub; do run-ssh-add -T "$k" && echo "signed $k"; done; true) > /answer.txt 2>&1',
      '',
    ].join('\n'));
    const out = join(env.dir, 'out-keys');
    ok(await build(['--ssh', `default=${keys.join(',')}`, '-o', `type=local,dest=${out}`, '.'], { SSH_AUTH_SOCK: '' }));
    const answer = await readFile(join(out, 'answer.txt'), 'utf8');
    for (const [i, key] of keys.entries()) {
      const [type, blob] = (await readFile(`${key}.pub`, 'utf8')).split(' ');
      expect(answer, answer).to.contain(`${type} ${blob}`);
      expect(answer, answer).to.contain(`signed /pub/key${i}.pub`);
    }
  });

  it('refuses a passphrase-protected key, a file that is no key, a socket mixed with keys and a missing path, by name, before building', async () => {
    const locked = join(env.dir, 'id_locked');
    expect((await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', locked])).code).to.equal(0);
    const plain = join(env.dir, 'id_ed25519_plain');
    expect((await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', plain])).code).to.equal(0);
    await writeFile(join(env.dir, 'id_test'), 'not a key');
    for (const [args, text] of [
      [['--ssh', `default=${locked}`], `${locked}: the key is passphrase-protected`],
      [['--ssh', `default=${join(env.dir, 'id_test')}`], `cannot read ${join(env.dir, 'id_test')} as a private key`],
      [['--ssh', `default=${socket},${plain}`], 'an agent socket and key files cannot be combined'],
      [['--ssh', `default=${join(env.dir, 'nope.sock')}`], 'does not exist'],
    ] as [string[], string][]) {
      const r = await build([...args, '.']);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(text);
      expect(r.stderr).not.to.match(/\n\s+at /);
    }
    const unset = await build(['--ssh', 'default', '.'], { SSH_AUTH_SOCK: '' });
    expect(unset.code).to.equal(2);
    expect(unset.stderr).to.contain('SSH_AUTH_SOCK is not set');
  });
});
