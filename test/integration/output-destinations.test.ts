import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

const exec = promisify(execFile);

// Where a build's outputs go is the user's own path, and some are not regular files: /dev/null, /dev/stdout's pipe, a
// named pipe, /dev/full, a place under /proc. tsbuild (as root) writes into a device or pipe and never replaces or
// removes it, says what a destination that cannot be written said (exit 1, the flag named), and never hangs.
describe('output destinations that are not regular files', function () {
  this.timeout(240_000);
  let env: BuildEnv;
  let ctx: string;
  let root: string;

  before(async () => {
    env = await startBuildEnv('tsbuild-out-dest-');
    ctx = join(env.dir, 'ctx');
    root = join(env.dir, 'root');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nRUN echo built > /f\n`);
  });
  after(async () => { await env.stop(); });

  const build = (...args: string[]) => tsbuild(['build', '--root', root, '--progress', 'plain', ...args, ctx]);

  it('writes an image tarball, a filesystem tar and an --iidfile into a device, which stays that device', async () => {
    // A device like /dev/null (1:3), made in the test's own directory.
    const dev = join(env.dir, 'null-device');
    await exec('mknod', [dev, 'c', '1', '3']);
    const link = join(env.dir, 'iid-link');
    await symlink(dev, link);
    for (const flags of [['-o', `type=oci,dest=${dev}`], ['-o', `type=docker,dest=${dev}`], ['-o', `type=tar,dest=${dev}`], ['--iidfile', link]]) {
      const r = await build(...flags);
      expect(r.code, `${flags.join(' ')}: ${r.stderr}`).to.equal(0);
      const st = await lstat(dev);
      expect(st.isCharacterDevice(), flags.join(' ')).to.equal(true);
      expect(st.rdev).to.equal((1 << 8) | 3);
      expect(await readlink(link)).to.equal(dev);
    }
  });

  it('writes the whole OCI tarball into a named pipe a reader drains', async () => {
    const fifo = join(env.dir, 'image.fifo');
    await exec('mkfifo', [fifo]);
    const names: string[] = [];
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => { names.push(header.name); stream.resume(); stream.on('end', next); });
    const read = new Promise<void>((resolve, reject) => { extract.on('finish', resolve); extract.on('error', reject); });
    createReadStream(fifo).pipe(extract);
    const r = await build('-o', `type=oci,dest=${fifo}`);
    expect(r.code, r.stderr).to.equal(0);
    await read;
    expect(names[0]).to.equal('oci-layout');
    expect(names).to.include('index.json');
    expect((await lstat(fifo)).isFIFO()).to.equal(true);
  });

  it('says which output could not be written, with exit status 1, when the device is full', async () => {
    for (const type of ['oci', 'tar']) {
      const r = await build('-o', `type=${type},dest=/dev/full`);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.contain(`-o type=${type},dest=/dev/full: writing failed: ENOSPC`);
      expect(r.stderr).to.not.contain('internal error');
      expect(r.stderr).to.not.match(/^\s+at /m);
    }
    expect((await lstat('/dev/full')).isCharacterDevice()).to.equal(true);
  });

  it('fails, instead of hanging at 100 % CPU, on directories that cannot be made (under /proc)', async () => {
    const local = await build('-o', 'type=local,dest=/proc/self/tsbuild-x');
    expect(local.code, local.stderr).to.equal(1);
    expect(local.stderr).to.contain('-o type=local,dest=/proc/self/tsbuild-x: writing failed: ENOENT');
    const cache = await build('--cache-to', 'type=local,dest=/proc/self/tsbuild-x');
    expect(cache.code, cache.stderr).to.equal(1);
    expect(cache.stderr).to.contain('--cache-to type=local,dest=/proc/self/tsbuild-x: writing failed: ENOENT');
    const state = await tsbuild(['build', '--root', '/proc/self/tsbuild-x', '--progress', 'plain', ctx]);
    expect(state.code, state.stderr).to.equal(2);
    expect(state.stderr).to.contain('cannot create the state root /proc/self/tsbuild-x: ENOENT');
    for (const r of [local, cache, state]) expect(r.stderr).to.not.contain('internal error');
    // Nothing of the build was the matter: without those destinations it succeeds.
    expect((await build()).code).to.equal(0);
  });
});
