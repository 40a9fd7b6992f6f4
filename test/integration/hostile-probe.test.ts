import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, TSBUILD, type CliResult } from '../fixtures/tsbuild-cli.js';

// The hostile-input probe (round after issue 15): inputs an outsider controls — the Dockerfile, the context, its
// .dockerignore — that used to crash tsbuild with an internal error, hang it, or print a host file. Each case runs
// the real CLI under `timeout`, so a hang fails the test (exit 124) instead of stalling the suite, and checks for a
// clean TsbuildError: an `error:` line naming the place, a `hint:`, a non-zero exit and no stack trace.

/** `bin/tsbuild ARGS` killed after `seconds`: a hang shows as exit 124. */
function tsbuildWithin(seconds: number, args: string[]): Promise<CliResult> {
  return run('timeout', ['-k', '5', String(seconds), TSBUILD, ...args], { env: { TSBUILD_DAEMON: '0' } });
}

function expectCleanError(r: CliResult, message: RegExp): void {
  expect(r.code, r.stderr).to.not.equal(0);
  expect(r.code, 'hung (timeout)').to.not.equal(124);
  expect(r.stderr).to.match(message);
  expect(r.stderr).to.match(/^hint: /m);
  expect(r.stderr).to.not.match(/internal error|\n\s+at /);
}

describe('hostile probe: Dockerfile and context inputs end in a clean error, never a crash, a hang or a host file', function () {
  this.timeout(180_000);
  let dir: string;
  let root: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-hostile-probe-'));
    root = join(dir, 'root');
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  /** A context directory `name` with the file `a` and, unless `dockerfile` is undefined, a Dockerfile. */
  async function context(name: string, dockerfile: string | Buffer | undefined): Promise<string> {
    const ctx = join(dir, name);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'a'), 'a\n');
    if (dockerfile !== undefined) await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    return ctx;
  }

  const build = (ctx: string, ...extra: string[]): Promise<CliResult> =>
    tsbuildWithin(60, ['build', '--root', root, '--progress', 'plain', ...extra, ctx]);

  it('refuses a NUL byte in a COPY destination and in a RUN argument at Dockerfile:line (was an internal error)', async () => {
    const copy = await build(await context('nul-copy', Buffer.from('FROM scratch\nCOPY a /a\0b\n')));
    expectCleanError(copy, /Dockerfile:2: a path or name holds a NUL byte/);
    const runArg = await build(await context('nul-run', Buffer.from('FROM scratch\nCOPY a /a\nRUN ["/a", "x\0y"]\n')));
    expectCleanError(runArg, /Dockerfile:3: a RUN argument, environment value or mount holds a NUL byte/);
  });

  it('refuses a context Dockerfile that links out of the context (/etc/passwd, /dev/zero) without printing the file', async () => {
    const ctx = await context('df-link', undefined);
    await symlink('/etc/passwd', join(ctx, 'Dockerfile'));
    const r = await build(ctx);
    expectCleanError(r, /Dockerfile is a symlink to \/etc\/passwd, outside the build context/);
    expect(r.stderr).to.not.match(/root:x:0:0/);
    const zero = await context('df-zero', undefined);
    await symlink('/dev/zero', join(zero, 'Dockerfile'));
    expectCleanError(await build(zero), /symlink to \/dev\/zero, outside the build context/);
  });

  it('still follows a Dockerfile link that stays inside the context', async () => {
    const ctx = await context('df-inside', undefined);
    await mkdir(join(ctx, 'sub'));
    await writeFile(join(ctx, 'sub', 'real'), 'FROM scratch\nCOPY a /a\n');
    await symlink('sub/real', join(ctx, 'Dockerfile'));
    const r = await build(ctx);
    expect(r.code, r.stderr).to.equal(0);
  });

  it('refuses a Dockerfile or .dockerignore that is a FIFO instead of waiting on it for ever', async () => {
    const df = await context('df-fifo', undefined);
    execFileSync('mkfifo', [join(df, 'Dockerfile')]);
    expectCleanError(await build(df), /Dockerfile is not a regular file/);
    const ign = await context('ignore-fifo', 'FROM scratch\nCOPY . /x/\n');
    execFileSync('mkfifo', [join(ign, '.dockerignore')]);
    expectCleanError(await build(ign), /\.dockerignore is not a regular file/);
    const link = await context('ignore-link', 'FROM scratch\nCOPY . /x/\n');
    await symlink('/etc/shadow', join(link, '.dockerignore'));
    expectCleanError(await build(link), /\.dockerignore is a symlink to \/etc\/shadow/);
  });

  it('walks a context under a .dockerignore of **/ x200 then a*a*a*a*a*a*a*a*a*b at once (the RegExp never finished)', async () => {
    const ctx = await context('glob', 'FROM scratch\nCOPY . /x/\n');
    await writeFile(join(ctx, '.dockerignore'), `${'**/'.repeat(200)}a*a*a*a*a*a*a*a*a*b\n`);
    const deep = join(ctx, ...Array.from({ length: 40 }, () => 'q'));
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, 'a'.repeat(60)), 'x');
    await writeFile(join(deep, `${'a'.repeat(60)}b`), 'x');
    const out = join(dir, 'glob-out');
    const r = await tsbuildWithin(60, ['build', '--root', root, '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    const kept = execFileSync('find', [out, '-type', 'f', '-name', 'aaa*'], { encoding: 'utf8' }).trim().split('\n');
    expect(kept.map((p) => p.slice(p.lastIndexOf('/') + 1))).to.deep.equal(['a'.repeat(60)]);
  });

  it('ends ${a:-${a:-…}} nested 20,000 deep, ENV doubling and ${v##*x*x*x*x*y} in a syntax error or an answer at once', async () => {
    const nest = await build(await context('nest', `FROM scratch\nARG a\nENV x=${'${a:-'.repeat(20_000)}z${'}'.repeat(20_000)}\n`));
    expectCleanError(nest, /Dockerfile:3:7: failed to process .*nested more than 100 levels/);
    const doubling = await build(await context('doubling', `FROM scratch\nENV a=xxxxxxxxxx\n${'ENV a=${a}${a}\n'.repeat(40)}`));
    expectCleanError(doubling, /Dockerfile:21:7: failed to process .*grew past 4194304 bytes/);
    const redos = await build(await context('redos', `FROM scratch\nARG a=${'x'.repeat(3000)}\nENV b=\${a##*x*x*x*x*y}\nCOPY a /a\n`));
    expect(redos.code, redos.stderr).to.equal(0);
  });

  it('refuses an invalid -t before building even without an output (UPPER/x, ../../etc were accepted in silence)', async () => {
    const ctx = await context('tags', 'FROM scratch\nCOPY a /a\n');
    for (const [tag, why] of [['UPPER/Case:tag', /must be lowercase/], ['../../etc', /not a valid host/], ['a:b:c@sha256:xyz', /not a sha256 digest/]] as const) {
      const r = await build(ctx, '-t', tag);
      expectCleanError(r, why);
      expect(r.code).to.equal(2);
    }
    expect((await build(ctx, '-t', 'localhost:5000/ok/name:v1')).code).to.equal(0);
  });

  it('ends a COPY of a context whose files turn into links or vanish during the walk in success or a clean error', async () => {
    const ctx = await context('race', 'FROM scratch\nCOPY . /x/\n');
    await mkdir(join(ctx, 'd'));
    for (let i = 0; i < 200; i++) await writeFile(join(ctx, 'd', `f${i}`), `${i}\n`);
    const churn = spawn('bash', ['-c', 'cd "$1" && while :; do for i in 1 2 3 4 5 6 7 8 9; do rm -f f$i; ln -s /etc/shadow f$i; rm -f f$i; echo x > f$i; done; done', 'churn', join(ctx, 'd')], { stdio: 'ignore' });
    try {
      for (let k = 0; k < 8; k++) {
        const r = await build(ctx, '--no-cache');
        if (r.code !== 0) {
          expect(r.code, 'hung (timeout)').to.not.equal(124);
          expect(r.stderr).to.not.match(/internal error|\n\s+at /);
          expect(r.stderr).to.match(/^ERROR: failed to solve: .*Dockerfile:2: /m);
        }
      }
    } finally {
      churn.kill('SIGKILL');
    }
  });

  it('refuses a context path longer than PATH_MAX by name instead of an ENAMETOOLONG internal error', async () => {
    const ctx = await context('deep', 'FROM scratch\nCOPY . /x/\n');
    // Made one relative step at a time (cd), as no single path to it fits in PATH_MAX.
    execFileSync('bash', ['-c', 'n=$(printf "d%.0s" $(seq 200)); for i in $(seq 24); do mkdir "$n" && cd "$n" || exit 1; done; echo x > f'], { cwd: ctx });
    try {
      expectCleanError(await build(ctx), /Dockerfile:2: a path in the build context is longer than this host allows \(4096 bytes\)/);
    } finally {
      execFileSync('rm', ['-rf', ctx]);   // GNU rm walks it relative to fds; a path-based rm would fail on it
    }
  });

  it('refuses a Dockerfile (and a bake file) over 64 MiB, a file\'s by its size and an endless stream (-f /dev/zero) at the bound, not by exhausting memory', async () => {
    const ctx = await context('huge-dockerfile', 'FROM scratch\n');
    execFileSync('truncate', ['-s', '65M', join(ctx, 'Dockerfile')]);
    expectCleanError(await build(ctx), /Dockerfile is 68157440 bytes, more than 67108864 bytes/);
    expectCleanError(await build(ctx, '-f', '/dev/zero'), /\/dev\/zero is a stream, more than 67108864 bytes/);
    expectCleanError(await tsbuildWithin(60, ['bake', '--root', root, '-f', '/dev/zero']), /bake file \/dev\/zero is a stream, more than 67108864 bytes/);
  });

  it('refuses a context file whose name is not UTF-8 by name, not as a context that changed', async () => {
    const ctx = await context('latin1', 'FROM scratch\nCOPY . /x/\n');
    await mkdir(join(ctx, 'd'));
    await writeFile(Buffer.from(`${join(ctx, 'd')}/caf\xe9`, 'latin1'), 'x\n');   // "café" in Latin-1: 0xE9 alone
    expectCleanError(await build(ctx), /Dockerfile:2: a file name in the build context is not valid UTF-8: d\/caf\uFFFD/);
  });
});

