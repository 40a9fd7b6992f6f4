import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { run, runBytes, tsbuild, TSBUILD } from '../fixtures/tsbuild-cli.js';

const exec = promisify(execFile);

// `-o type=tar` of several platforms, as BuildKit's tar exporter writes it (exporter/tar/export.go): one tar, each
// platform's filesystem under its own directory named as the local exporter names them (linux_amd64/), whatever
// platform-split says; one platform alone stays at the top. FROM scratch and COPY only, so nothing needs an emulator;
// GNU tar reads what was written.
describe('-o type=tar of several platforms', function () {
  this.timeout(240_000);
  let dir: string;
  let ctx: string;
  let root: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-mp-tar-'));
    ctx = join(dir, 'ctx');
    root = join(dir, 'root');
    await mkdir(ctx);
    // `app` is in both platforms' filesystems: platform-split=false would have to merge them, the local exporter refuses.
    // A directory's COPY keeps the symlink in it as a symlink.
    await writeFile(join(ctx, 'Dockerfile'), ['FROM scratch', 'ARG TARGETARCH', 'COPY tree/ /', 'COPY ${TARGETARCH}.txt /arch.txt', ''].join('\n'));
    await mkdir(join(ctx, 'tree'));
    await writeFile(join(ctx, 'tree', 'app'), 'same\n');
    await symlink('/app', join(ctx, 'tree', 'abs'));
    for (const arch of ['amd64', 'arm64']) await writeFile(join(ctx, `${arch}.txt`), `${arch}\n`);
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  const build = async (platforms: string, output: string): Promise<void> => {
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '--platform', platforms, '-o', output, ctx]);
    expect(r.code, r.stderr).to.equal(0);
  };
  /** `tar -tv` of `file`: "MODE OWNER NAME [-> TARGET]" a line (the size and date dropped). */
  const listing = async (file: string): Promise<string[]> => {
    const r = await run('tar', ['--numeric-owner', '-tvf', file], { env: { TZ: 'UTC' } });
    expect(r.code, r.stderr).to.equal(0);
    return r.stdout.trim().split('\n').map((l) => l.split(/\s+/)).map(([mode, owner, , , , ...rest]) => [mode, owner, ...rest].join(' '));
  };
  const tree = (p: string): string[] => [
    `lrwxrwxrwx 0/0 ${p}abs -> /${p}app`,
    `-rw-r--r-- 0/0 ${p}app`,
    `-rw-r--r-- 0/0 ${p}arch.txt`,
  ];

  it('writes one directory per platform, with or without platform-split=false, to a file, stdout and a named pipe', async () => {
    const split = join(dir, 'split.tar');
    await build('linux/amd64,linux/arm64', `type=tar,dest=${split}`);
    expect(await listing(split)).to.deep.equal([
      'drwxr-xr-x 0/0 linux_amd64/', ...tree('linux_amd64/'),
      'drwxr-xr-x 0/0 linux_arm64/', ...tree('linux_arm64/'),
    ]);
    expect((await run('tar', ['-tvf', split], { env: { TZ: 'UTC' } })).stdout).to.match(/ 1970-01-01 00:00 linux_arm64\/\n/);
    for (const arch of ['amd64', 'arm64']) {
      expect((await run('tar', ['-xOf', split, `linux_${arch}/arch.txt`])).stdout).to.equal(`${arch}\n`);
    }
    const bytes = await readFile(split);

    // Not merged, so the `app` both platforms have is no clash: the same tar, byte for byte.
    const merged = join(dir, 'merged.tar');
    await build('linux/amd64,linux/arm64', `type=tar,dest=${merged},platform-split=false`);
    expect((await readFile(merged)).equals(bytes), 'platform-split=false gives the same tar').to.equal(true);

    const stdout = await runBytes(TSBUILD, ['build', '--root', root, '--platform', 'linux/amd64,linux/arm64', '-o', '-', ctx]);
    expect(stdout.code, stdout.stderr).to.equal(0);
    expect(stdout.stdout.equals(bytes), '-o - writes the same tar to stdout').to.equal(true);

    const fifo = join(dir, 'out.fifo');
    await exec('mkfifo', [fifo]);
    const read = text(createReadStream(fifo, { encoding: 'latin1' }));
    await build('linux/amd64,linux/arm64', `type=tar,dest=${fifo}`);
    expect(Buffer.from(await read, 'latin1').equals(bytes), 'a named pipe gets the same tar').to.equal(true);
  });

  it('keeps one platform at the top of the tar even with platform-split=true', async () => {
    const one = join(dir, 'one.tar');
    await build('linux/arm64', `type=tar,dest=${one},platform-split=true`);
    expect(await listing(one)).to.deep.equal(tree(''));
    expect((await run('tar', ['-xOf', one, 'arch.txt'])).stdout).to.equal('arm64\n');
  });
});
