// `tsbuild debug build` (buildx's `debug --on=error|always --invoke …`): a process a person talks to, where a RUN
// failed or in the image made, in the same sandbox as the build's steps; what it changes is thrown away.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { TSBUILD, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

describe('tsbuild debug build: a session where a RUN failed, or in the image made', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  let failing = '';
  let passing = '';
  const root = (): string => join(env.dir, 'root');
  /** `tsbuild debug DEBUG_FLAGS build --root ROOT BUILD_ARGS`, the session's input on stdin. */
  const debug = (debugFlags: string[], buildArgs: string[], input: string): Promise<CliResult> =>
    tsbuild(['debug', ...debugFlags, 'build', '--root', root(), ...buildArgs], { input });

  before(async () => {
    env = await startBuildEnv('tsbuild-debug-');
    failing = join(env.dir, 'failing');
    passing = join(env.dir, 'passing');
    await mkdir(failing, { recursive: true });
    await mkdir(passing, { recursive: true });
    await writeFile(join(env.dir, 'token'), 's3cr3t-value\n');
    await writeFile(join(failing, 'Dockerfile'), [
      `FROM ${env.base}`, 'WORKDIR /app', 'RUN echo hello > greeting', 'ENV COLOR=blue',
      'RUN --mount=type=secret,id=token cat greeting /run/secrets/token >/dev/null && exit 7', '',
    ].join('\n'));
    await writeFile(join(passing, 'Dockerfile'), [`FROM ${env.base}`, 'WORKDIR /srv', 'RUN echo made > file', 'ENV MODE=prod', 'USER 1000:1000', ''].join('\n'));
  });
  after(async () => { await env.stop(); });

  it('opens a shell where a RUN failed: the filesystem before it, its mounts (the secret too), WORKDIR and ENV; the build still fails', async () => {
    const r = await debug([], ['--secret', `id=token,src=${join(env.dir, 'token')}`, failing],
      'pwd; cat greeting; echo "color=$COLOR"; cat /run/secrets/token; touch /app/left-behind; exit 3\n');
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stdout).to.equal('/app\nhello\ncolor=blue\ns3cr3t-value\n');
    expect(r.stderr).to.contain('debug: sh in the container of the RUN that failed').and.contain('debug: sh exited with status 3');
    expect(r.stderr).to.contain('did not complete successfully: exit code: 7');
    // What the session changed is gone: the next one does not see it.
    const again = await debug([], ['--secret', `id=token,src=${join(env.dir, 'token')}`, failing], 'ls /app\n');
    expect(again.stdout).to.equal('greeting\n');
  });

  it('runs --invoke in the image made after a build that succeeded, with its USER, WORKDIR and ENV, and buildx\'s long form', async () => {
    const r = await debug(['--invoke', 'entrypoint=["sh"],"args=[""-c"", ""pwd; cat file; echo mode=$MODE extra=$EXTRA; id -u; exit 5""]","env=[""EXTRA=1""]"'], [passing], '');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('/srv\nmade\nmode=prod extra=1\n1000\n');
    expect(r.stderr).to.contain('debug: sh exited with status 5');
    // Without --invoke and --on=always nothing starts after a success; with --on=always a shell does.
    const plain = await debug([], [passing], 'echo should-not-run\n');
    expect(plain.stdout).to.equal('');
    const always = await debug(['--on=always'], [passing], 'echo ran-$((40+2))\n');
    expect(always.stdout).to.equal('ran-42\n');
  });

  it('gives the session pipes, never the file or terminal tsbuild was given', async () => {
    // Through /proc/self/fd a process can open what an fd names again, as root in the container: only pipes go in.
    const r = await debug(['--on=always'], [passing], 'for f in 0 1 2; do readlink /proc/self/fd/$f; done; ls /proc/self/fd | wc -l\n');
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 3).every((l) => l.startsWith('pipe:['))).to.equal(true, r.stdout);
    expect(lines[3]?.trim()).to.equal('4');   // 0, 1, 2 and the directory ls reads
  });

  it('with a terminal: a pseudo-terminal of the step\'s own devpts (its size copied), Ctrl-C reaching the shell\'s process, not the build', async () => {
    // `script` gives tsbuild a terminal; the keys are typed once the shell's prompt is there (raw mode by then).
    const out = await typeInTerminal(`stty cols 99 rows 33; ${TSBUILD} debug --on=always build --root ${root()} ${passing}; echo EXIT=$?`, [
      ['$ ', 'tty; stty size; sleep 30\r'],
      ['33 99', '\x03'],
      ['$ ', 'echo after-$((1+1)); exit 4\r'],
    ]);
    expect(out).to.contain('33 99');
    // The pty is the container's devpts's first (runc's console): the step holds nothing of the host's devpts.
    expect(out).to.match(/\n\/dev\/pts\/0\r?\n/);
    expect(out).to.match(/after-2/);
    expect(out).to.contain('debug: sh exited with status 4');
    expect(out).to.contain('EXIT=0');
  });

  it('refuses what it cannot do: the context on stdin (the session reads it), an --invoke it does not know', async () => {
    const stdin = await tsbuild(['debug', 'build', '--root', root(), '-'], { input: `FROM ${env.base}\n` });
    expect(stdin.code).to.equal(2);
    expect(stdin.stderr).to.contain('the context or Dockerfile cannot come from it too');
    const bad = await debug(['--invoke', 'bogus=1'], [passing], '');
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('--invoke: unknown key "bogus"').and.not.contain('    at ');
  });
});

/**
 * Runs `command` in a terminal (`script`), typing each answer once the output since the last one shows its cue;
 * resolves with everything the terminal showed.
 */
function typeInTerminal(command: string, steps: [cue: string, keys: string][]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let shown = '';
    let from = 0;
    let next = 0;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`terminal session stalled at step ${next}: ${shown}`)); }, 60_000);
    const onData = (chunk: Buffer): void => {
      shown += chunk.toString();
      const step = steps[next];
      if (step === undefined) return;
      const at = shown.indexOf(step[0], from);
      if (at < 0) return;
      from = at + step[0].length;
      next++;
      child.stdin.write(step[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', () => { clearTimeout(timer); resolve(shown.replaceAll('\r', '')); });
  });
}
