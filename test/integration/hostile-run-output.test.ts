// What a RUN step leaves in its upper directory is input too: a step can nest directories until their host paths (the
// root's own directories in front) pass the host's limit. That ends in a clean error at the step's line, never an
// internal error, and leaves nothing behind that breaks the next build on the root.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv } from '../fixtures/build-env.js';
import type { BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

describe('tsbuild build: a RUN step\'s own files as hostile input', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  before(async () => { env = await startBuildEnv('tsbuild-hostile-run-'); });
  after(async () => { await env.stop(); });

  it('ends a step that nests directories past the host\'s path limit in a clean error at its line, and the root builds on', async () => {
    const root = join(env.dir, 'root');
    const ctx = join(env.dir, 'deep');
    await mkdir(ctx, { recursive: true });
    const name = 'a'.repeat(45);
    // Inside the container the path stays under 4096 bytes (the shell's cd stops there); in the root it does not.
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base}`,
      `RUN mkdir /deep && cd /deep && i=0 && while [ $i -lt 88 ]; do mkdir ${name} && cd ${name} && i=$((i+1)); done && echo deep > f`,
      '',
    ].join('\n'));
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', ctx]);
    expect(r.code, r.stderr.slice(-2000)).to.equal(1);
    expect(r.stderr).to.match(/Dockerfile:2: a path this step wrote or read is longer than this host allows \(4096 bytes\): …a+\/a+/);
    expect(r.stderr).to.match(/^hint: nest the directories less deeply/m);
    expect(r.stderr).to.not.match(/internal error|\n\s+at /);
    // The step's snapshot went with it, whatever its depth (GNU find walks it by file descriptor).
    expect(execFileSync('find', [join(root, 'snapshots'), '-name', 'f', '-path', `*${name}*`], { encoding: 'utf8' })).to.equal('');
    // The next build on the same root opens it and succeeds.
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nRUN echo fine > /fine\n`);
    const next = await tsbuild(['build', '--root', root, '--progress', 'plain', ctx]);
    expect(next.code, next.stderr.slice(-2000)).to.equal(0);
  });
});
