import { expect } from 'chai';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { makeHostMarker, snapshotTree } from '../fixtures/host-marker.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';
import { writeTree } from '../../worker/index.js';

// Issue 14, outputs: writing an image's final filesystem into a user's directory (`-o type=local`) or a tar
// (`-o type=tar`) never follows a symlink from the image, or one already in the destination, out of it; the files
// are owned by the invoking user (as buildx's local exporter writes them) and carry no live host privilege.

describe('issue 14: -o type=local and type=tar keep a hostile image inside the destination', function () {
  this.timeout(240_000);
  let env: BuildEnv | undefined;
  let hostMarker: string;
  let marked: string[];
  let ctx: string;

  before(async () => {
    env = await startBuildEnv('tsbuild-issue14-out-');
    hostMarker = join(env.dir, 'host-marker');
    marked = await makeHostMarker(hostMarker);
    ctx = join(env.dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base}`,
      // x -> the host dir (absolute), y/up -> the host dir by climbing, a file and a hardlink to it, a root-owned
      // setuid binary, a file owned by a user of the image, and entries named like the host marker's files.
      `RUN ln -s ${hostMarker} /x && mkdir -p /y && ln -s ../../../../../../../..${hostMarker} /y/up`,
      'RUN echo from-image > /f && ln /f /hard && cp /bin/busybox /suid && chmod 4755 /suid && echo owned > /owned && chown 1000:1000 /owned',
      'RUN mkdir -p /y/dir && echo image-passwd > /y/passwd && echo image-inner > /y/dir/inner',
      '',
    ].join('\n'));
  });
  after(async () => { await env?.stop(); });
  afterEach(async () => {
    expect(await snapshotTree(hostMarker)).to.deep.equal(marked);
  });

  it('writes links as links, replaces a planted symlink in DEST instead of following it, and owns every entry as the invoking user', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const dest = join(env.dir, 'dest');
    await mkdir(dest);
    // Already in DEST before the output: `y` leads to the host dir; the image's directory `y` must replace it.
    await symlink(hostMarker, join(dest, 'y'));
    const r = await tsbuild(['build', '--root', join(env.dir, 'root'), '--progress', 'plain', '-o', `type=local,dest=${dest}`, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    expect(await readlink(join(dest, 'x'))).to.equal(hostMarker);
    expect((await lstat(join(dest, 'y'))).isDirectory()).to.equal(true);
    expect(await readlink(join(dest, 'y', 'up'))).to.equal(`../../../../../../../..${hostMarker}`);
    expect(await readFile(join(dest, 'y', 'passwd'), 'utf8')).to.equal('image-passwd\n');
    expect(await readFile(join(dest, 'y', 'dir', 'inner'), 'utf8')).to.equal('image-inner\n');
    const f = await lstat(join(dest, 'f'));
    const hard = await lstat(join(dest, 'hard'));
    expect(hard.ino).to.equal(f.ino);
    const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    for (const p of ['f', 'owned', 'suid', 'y', 'y/up', 'x']) {
      const st = await lstat(join(dest, p));
      expect([st.uid, st.gid], p).to.deep.equal([me.uid, me.gid]);
    }
    const suid = await lstat(join(dest, 'suid'));
    expect(suid.mode & 0o7777).to.equal(me.uid === 0 ? 0o755 : 0o4755);
  });

  it('with several platforms, replaces a platform\'s directory planted in DEST as a link instead of writing through it', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const scratch = join(env.dir, 'ctx-platforms');
    await mkdir(scratch, { recursive: true });
    await writeFile(join(scratch, 'Dockerfile'), 'FROM scratch\nCOPY foo /passwd\n');
    await writeFile(join(scratch, 'foo'), 'from-image\n');
    const dest = join(env.dir, 'dest-platforms');
    await mkdir(dest);
    // An earlier image exported with platform-split=false may leave any top-level name in DEST, a platform's too.
    await symlink(hostMarker, join(dest, 'linux_arm64'));
    const r = await tsbuild(['build', '--root', join(env.dir, 'root'), '--platform', 'linux/amd64,linux/arm64', '-o', `type=local,dest=${dest}`, scratch]);
    expect(r.code, r.stderr).to.equal(0);
    for (const p of ['linux_amd64', 'linux_arm64']) {
      expect((await lstat(join(dest, p))).isDirectory(), p).to.equal(true);
      expect(await readFile(join(dest, p, 'passwd'), 'utf8'), p).to.equal('from-image\n');
    }
    // afterEach: the host marker's passwd is its own.
  });

  it('writes --iidfile and --report as new files in place of links that the same build\'s -o type=local planted', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const linking = join(env.dir, 'ctx-links');
    await mkdir(linking, { recursive: true });
    await writeFile(join(linking, 'Dockerfile'), `FROM ${env.base}\nRUN ln -s ${hostMarker}/passwd /iid && ln -s ${hostMarker}/dir/inner /rep.json\n`);
    const dest = join(env.dir, 'artifacts');
    const r = await tsbuild(['build', '--root', join(env.dir, 'root'), '-o', `type=local,dest=${dest}`, '--iidfile', join(dest, 'iid'), '--report', join(dest, 'rep.json'), linking]);
    expect(r.code, r.stderr).to.equal(0);
    expect((await lstat(join(dest, 'iid'))).isFile()).to.equal(true);
    expect(await readFile(join(dest, 'iid'), 'utf8')).to.match(/^sha256:[0-9a-f]{64}$/);
    expect((await lstat(join(dest, 'rep.json'))).isFile()).to.equal(true);
    // afterEach: the host marker the links led to is unchanged.
  });

  it('refuses --iidfile, --metadata-file, --report and a file output below a directory link the same build\'s -o type=local planted', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const linking = join(env.dir, 'ctx-dirlink');
    await mkdir(linking, { recursive: true });
    await writeFile(join(linking, 'Dockerfile'), `FROM ${env.base}\nRUN ln -s ${hostMarker}/dir /meta\n`);
    const dest = join(env.dir, 'artifacts-dirlink');
    for (const flags of [['--iidfile', join(dest, 'meta', 'iid')], ['--metadata-file', join(dest, 'meta', 'md.json')], ['--report', join(dest, 'meta', 'rep.json')], ['-o', `type=tar,dest=${join(dest, 'meta', 'img.tar')}`]]) {
      const r = await tsbuild(['build', '--root', join(env.dir, 'root'), '-o', `type=local,dest=${dest}`, ...flags, linking]);
      expect(r.code, `${flags.join(' ')}: ${r.stderr}`).to.not.equal(0);
      expect(r.stderr).to.contain(`${join(dest, 'meta')} is a symbolic link that the image put in the -o type=local output`);
      expect(r.stderr).not.to.match(/\n\s+at /);
    }
    // afterEach: the host marker the link led to is unchanged (nothing new in its dir/).
  });

  it('keeps the state root private (0700), where image contents such as a setuid-root file sit as the image has them', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const root = join(env.dir, 'root-private');
    await mkdir(root, { mode: 0o755 });
    const r = await tsbuild(['build', '--root', root, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    expect((await lstat(root)).mode & 0o777, 'made private at the first build').to.equal(0o700);
    await run('chmod', ['0755', root]);   // as an older tsbuild left it
    expect((await tsbuild(['build', '--root', root, ctx])).code).to.equal(0);
    expect((await lstat(root)).mode & 0o777, 'made private again').to.equal(0o700);
  });

  it('leaves device nodes out and writes a root-owned setuid file without its setuid bit', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const source = join(env.dir, 'tree-src');
    const dest = join(env.dir, 'tree-dest');
    await mkdir(join(source, 'dev'), { recursive: true });
    await mkdir(dest);
    await writeFile(join(source, 'suid'), 'x', { mode: 0o6755 });
    await run('mknod', ['-m', '666', join(source, 'dev', 'mem'), 'c', '1', '1']);
    await run('mkfifo', [join(source, 'fifo')]);
    const { skipped } = await writeTree(source, dest, { owner: { uid: 0, gid: 0 } });
    expect(skipped).to.deep.equal(['dev/mem']);
    expect(await lstat(join(dest, 'dev', 'mem')).catch(() => undefined)).to.equal(undefined);
    expect((await lstat(join(dest, 'fifo'))).isFIFO()).to.equal(true);
    expect((await lstat(join(dest, 'suid'))).mode & 0o7777).to.equal(0o755);
  });

  it('writes the filesystem tar with the links as links and no host file content', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const out = join(env.dir, 'fs.tar');
    const r = await tsbuild(['build', '--root', join(env.dir, 'root'), '--progress', 'plain', '-o', `type=tar,dest=${out}`, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    const entries = new Map<string, Header & { body: string }>();
    const extract = tar.extract();
    createReadStream(out).pipe(extract);
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(Buffer.from(c as Uint8Array));
      entries.set(entry.header.name.replace(/\/$/, ''), { ...entry.header, body: Buffer.concat(chunks).toString() });
    }
    expect(entries.get('x')).to.include({ type: 'symlink', linkname: hostMarker });
    expect(entries.get('y/up')).to.include({ type: 'symlink', linkname: `../../../../../../../..${hostMarker}` });
    expect(entries.get('y/passwd')?.body).to.equal('image-passwd\n');
    expect(entries.has('x/passwd')).to.equal(false);
    expect(entries.has('y/up/passwd')).to.equal(false);
    for (const e of entries.values()) expect(e.body, e.name).to.not.contain('host:x:0:0');
  });
});
