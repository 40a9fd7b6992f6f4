import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { killNode, startTsbuild, waitForBuild, type RunningBuild } from '../fixtures/crash-points.js';
import { filesContaining } from '../fixtures/files-containing.js';

// A build secret is never written to a disk, as BuildKit never writes one (solver/llbsolver/mounts/mount.go,
// secretMountInstance: a tmpfs holding the one file). RUN --mount=type=secret is written by the helper into its
// private scratch tmpfs, and --secret env= stays in the CLI's memory: while a RUN holds three secrets (a file, a
// binary one with NUL bytes, an env= one), and after the build is killed, no file under the state root or TMPDIR
// holds any of them; inside the step each has the asked owner and mode, is read-only and has the source's bytes.

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

describe('build secrets live on tmpfs only: never a file on the state root\'s disk or in TMPDIR', function () {
  this.timeout(240_000);
  let env: BuildEnv | undefined;
  let dir = '';
  const started: RunningBuild[] = [];
  const tag = randomBytes(6).toString('hex');
  const FILE_SECRET = `file-s3cr3t-${tag}`;
  const ENV_SECRET = `env-s3cr3t-${tag}`;
  const BIN_MARK = `bin-s3cr3t-${tag}`;
  // NUL bytes, a newline, a CR and bytes that are no UTF-8 around a marker grep can find.
  const BIN_SECRET = Buffer.concat([Buffer.from([0, 1, 0xff, 0, 10, 13, 0xc3]), Buffer.from(BIN_MARK), Buffer.from([0, 0, 10]), randomBytes(64)]);

  before(async () => {
    env = await startBuildEnv('tsbuild-secret-tmpfs-');
    dir = env.dir;
  });
  afterEach(async () => {
    for (const running of started.splice(0)) {
      try { killNode(running.pid); } catch { /* already gone */ }
      await running.done;
    }
  });
  after(async () => {
    await env?.stop();
  });

  const holding = async (root: string, hostTmp: string): Promise<string[]> => {
    const found: string[] = [];
    for (const needle of [FILE_SECRET, ENV_SECRET, BIN_MARK]) {
      found.push(...await filesContaining(root, needle), ...await filesContaining(hostTmp, needle));
    }
    return found;
  };

  it('holds a file, a binary and an env= secret in the step with their owner, mode and bytes, and on no disk file, even after a SIGKILL', async () => {
    const sources = join(dir, 'sources');
    const ctx = join(dir, 'ctx');
    const hostTmp = join(dir, 'host-tmp');
    const root = join(dir, 'root');
    for (const d of [sources, ctx, hostTmp]) await mkdir(d, { recursive: true, mode: 0o700 });
    await writeFile(join(sources, 'tok'), FILE_SECRET);
    await writeFile(join(sources, 'bin'), BIN_SECRET);
    // Each line the step prints that the test reads starts with R: (the plain progress prefixes it with #N and a time).
    await writeFile(join(ctx, 'Dockerfile'), [
      'ARG BASE',
      'FROM ${BASE}',
      'ARG HOLD=0',
      'RUN --mount=type=secret,id=tok,uid=1000,gid=1001,mode=0440 --mount=type=secret,id=bin,target=/run/bin \\',
      '    --mount=type=secret,id=envtok,env=ENVTOK,target=/run/envtok \\',
      '  sh -c \'echo "R:owner $(stat -c "%u:%g %a" /run/secrets/tok)"; ' +
        'echo "R:opts $(grep " /run/secrets/tok " /proc/mounts | cut -d" " -f4 | tr , "\\n" | grep -xE "ro|nosuid|nodev|noexec" | sort | tr "\\n" " ")"; ' +
        '(echo x >> /run/secrets/tok) 2>/dev/null && echo R:writable || echo R:read-only; ' +
        'for f in /run/secrets/tok /run/bin /run/envtok; do echo "R:sha $(sha256sum $f | cut -c1-64)"; done; ' +
        'echo "R:sha $(printf %s "$ENVTOK" | sha256sum | cut -c1-64)"; echo R:ready; ' +
        'if [ "$HOLD" = 1 ]; then sleep 120; fi\'',
      '',
    ].join('\n'));
    const args = (hold: string): string[] => ['build', '--root', root, '--progress', 'plain', '--build-arg', `BASE=${env?.base ?? ''}`, '--build-arg', `HOLD=${hold}`,
      '--secret', `id=tok,src=${join(sources, 'tok')}`, '--secret', `id=bin,src=${join(sources, 'bin')}`, '--secret', 'id=envtok,env=TSBUILD_TEST_ENVTOK'];
    const buildEnv = { TMPDIR: hostTmp, TSBUILD_DAEMON: '0', TSBUILD_TEST_ENVTOK: ENV_SECRET };
    const expected = [
      'owner 1000:1001 440',
      'opts nodev noexec nosuid ro ',
      'read-only',
      `sha ${sha256(FILE_SECRET)}`,
      `sha ${sha256(BIN_SECRET)}`,
      `sha ${sha256(ENV_SECRET)}`,
      `sha ${sha256(ENV_SECRET)}`,
      'ready',
    ];
    const reported = (out: string): string[] => [...out.matchAll(/^#\d+ [\d.]+ R:(.*)$/gm)].map((m) => m[1] ?? '');

    const held = startTsbuild([...args('1'), '-o', `type=tar,dest=${join(dir, 'held.tar')}`, ctx], buildEnv);
    started.push(held);
    await waitForBuild(held, `the RUN to hold its secrets`, () => reported(held.output()).includes('ready'), 120_000);
    expect(await holding(root, hostTmp), 'files holding a secret while the RUN has it').to.deep.equal([]);
    expect(reported(held.output())).to.deep.equal(expected);
    killNode(held.pid);
    expect((await held.done).signal).to.equal('SIGKILL');
    expect(await holding(root, hostTmp), 'files holding a secret after a SIGKILL').to.deep.equal([]);

    // A whole build: nothing of them in the root (layers, cache index, logs, history) or the image either.
    const out = join(dir, 'out');
    const done = startTsbuild([...args('0'), '-o', `type=local,dest=${out}`, ctx], buildEnv);
    started.push(done);
    const result = await done.done;
    expect(result.code, result.stderr).to.equal(0);
    expect(reported(result.stderr + result.stdout)).to.deep.equal(expected);
    expect(await holding(root, hostTmp), 'files holding a secret after the build').to.deep.equal([]);
    for (const needle of [FILE_SECRET, ENV_SECRET, BIN_MARK]) expect(await filesContaining(out, needle), 'the image').to.deep.equal([]);
  });
});
