import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { buildahSplit, formatRunPairs, runTimes, timedDockerfile, tsbuildSplit, unwrappedCommand } from './run-split.js';

describe('bench run split', () => {
  it('times every shell-form RUN from inside, keeping its flags and joining continuation lines', () => {
    const out = timedDockerfile([
      'FROM x',
      'RUN --mount=type=secret,id=ca,target=/ca A=1 \\',
      '    echo hi && false',
      'RUN ["echo", "exec form"]',
      'COPY . .',
    ].join('\n'));
    const lines = out.split('\n');
    expect(lines[0]).to.equal('FROM x');
    expect(lines[1]).to.match(/^RUN --mount=type=secret,id=ca,target=\/ca __t0=\$\(date \+%s%N\); \( A=1 +echo hi && false \); __rc=\$\?; echo "@@run-ms .*"; exit \$__rc$/);
    expect(lines[2]).to.equal('RUN ["echo", "exec form"]');
    expect(lines[3]).to.equal('COPY . .');
  });

  it('keeps the exit status and prints the marker, as /bin/sh runs it', () => {
    const line = timedDockerfile('RUN echo hi && exit 3').replace(/^RUN /, '');
    let status = 0;
    let stdout = '';
    try {
      stdout = execFileSync('/bin/sh', ['-c', line], { encoding: 'utf8' });
    } catch (err) {
      status = (err as { status: number }).status;
      stdout = (err as { stdout: string }).stdout;
    }
    expect(status).to.equal(3);
    expect(stdout).to.match(/^hi\n@@run-ms \d+\n$/);
  });

  it('splits a tsbuild-json run into pull, RUN processes, RUN-step overhead, export and the rest', () => {
    const log = (vertex: string, text: string): string => JSON.stringify({ type: 'log', vertex, stream: 'stdout', time: 0, data: Buffer.from(text).toString('base64') });
    const stderr = [
      JSON.stringify({ type: 'start', vertex: 'a', text: 'FROM $BASE', time: 1100 }),
      JSON.stringify({ type: 'status', vertex: 'a', text: 'unpacking sha256:ab', time: 1150 }),
      JSON.stringify({ type: 'done', vertex: 'a', time: 1300, durationMs: 200 }),
      JSON.stringify({ type: 'start', vertex: 'b', text: 'RUN apt-get install gcc', time: 1300 }),
      log('b', 'x\n@@run-ms 600\n').replace('"time":0', '"time":1950'),
      JSON.stringify({ type: 'done', vertex: 'b', time: 2000, durationMs: 700 }),
    ].join('\n');
    expect(tsbuildSplit(stderr, 1000, 1500)).to.deep.equal({
      wall: 1500, pull: 200, unpack: 150, run: 600, runs: 1, perRun: [{ command: 'RUN apt-get install gcc', ms: 600 }],
      runStepOverhead: 100, runSetup: 50, runLayer: 50, export: 500, other: 100,
    });
    expect(runTimes('@@run-ms 5\nSTEP\n@@run-ms 7')).to.deep.equal([5, 7]);
    expect(buildahSplit(100, 1000, 'STEP 2/3: RUN make\n@@run-ms 700', 50)).to.deep.equal({
      wall: 1150, pull: 100, run: 700, runs: 1, perRun: [{ command: 'make', ms: 700 }], export: 50, other: 300,
    });
  });

  it('pairs each RUN process time of the two builders by its command, the timing wrapper taken off', () => {
    const [timed = ''] = timedDockerfile('RUN npm ci \\\n  --no-audit').split('\n');
    expect(unwrappedCommand(`RUN /bin/sh -c ${timed.replace(/^RUN /, '')}`)).to.equal('npm ci --no-audit');
    expect(unwrappedCommand(`[2/5] STEP 2/4: ${timed}`)).to.equal('npm ci --no-audit');
    const line = formatRunPairs(
      [{ command: 'apt-get update', ms: 6868 }, { command: 'npm ci', ms: 3250 }, { command: 'npm ci', ms: 3757 }, { command: 'tsc', ms: 20 }],
      [{ command: 'npm ci', ms: 2210 }, { command: 'apt-get update', ms: 6795 }, { command: 'npm ci', ms: 1954 }],
    );
    expect(line).to.equal('RUN processes, tsbuild / buildah: `apt-get update` 6,868 / 6,795 ms; `npm ci` 3,250 / 2,210 ms; `npm ci` 3,757 / 1,954 ms; `tsc` 20 / – ms');
  });
});
