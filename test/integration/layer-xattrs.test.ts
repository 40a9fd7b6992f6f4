import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';
import { copyToLayout, layoutBlobs, unpackLayout, type LayoutBlob } from './realworld-image.js';

// Which extended attributes leave a build. BuildKit's layers carry security.capability and nothing else: containerd's
// archive ChangeWriter.HandleChange (archive/tar.go) reads that one xattr of each entry, for BuildKit's overlay differ
// (util/overlay WriteUpperdir) as for its walking differ; moby's classic builder the same (pkg/archive
// ReadSecurityXattrToTarHeader). A download URL in user.xdg.origin.url, an ACL naming host uids or an SELinux label
// that COPY or RUN left on a file stays in the snapshot and never reaches an image. The layers are read here with
// Python's tarfile, unpacked with umoci and checked with getcap and getfattr, never with tsbuild's own code.

/** The host's setcap, getcap, setfattr and getfattr with the libraries they load, under `ctx/sys` at their own paths. */
async function hostTools(ctx: string): Promise<void> {
  const files = new Set<string>();
  for (const tool of ['/usr/sbin/setcap', '/usr/sbin/getcap', '/usr/bin/setfattr', '/usr/bin/getfattr']) {
    files.add(tool);
    for (const m of execFileSync('ldd', [tool], { encoding: 'utf8' }).matchAll(/(\/\S+) \(0x/g)) if (m[1] !== undefined) files.add(m[1]);
  }
  for (const file of files) {
    await mkdir(dirname(join(ctx, 'sys', file)), { recursive: true });
    await copyFile(file, join(ctx, 'sys', file));
  }
}

/** Every entry of a layer blob that has xattr records, with their names, as Python's tarfile reads the PAX headers. */
async function layerXattrs(blob: LayoutBlob): Promise<Record<string, string[]>> {
  const script = [
    'import json, sys, tarfile',
    'out = {}',
    'with tarfile.open(sys.argv[1]) as t:',
    '  for m in t:',
    '    names = sorted(k[len("SCHILY.xattr."):] for k in m.pax_headers if k.startswith("SCHILY.xattr."))',
    '    if names: out[m.name] = names',
    'print(json.dumps(out))',
  ].join('\n');
  const r = await run('python3', ['-c', script, blob.path]);
  expect(r.code, r.stderr).to.equal(0);
  return JSON.parse(r.stdout) as Record<string, string[]>;
}

describe('extended attributes in layers and COPY keys, as BuildKit has them', function () {
  this.timeout(240_000);
  let env: BuildEnv | undefined;
  let dir: string;
  let n = 0;

  before(async () => {
    env = await startBuildEnv('tsbuild-layer-xattrs-');
    dir = env.dir;
  });
  after(async () => { await env?.stop(); });

  const must = async (cmd: string, args: string[]): Promise<void> => {
    const r = await run(cmd, args);
    expect(r.code, `${cmd} ${args.join(' ')} (attr, acl, libcap2-bin: scripts/setup.sh): ${r.stderr}`).to.equal(0);
  };
  const build = (ctx: string, args: string[]): Promise<CliResult> =>
    tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--provenance=false', ...args, ctx]);
  const newContext = async (dockerfile: string[]): Promise<string> => {
    const ctx = join(dir, `ctx${++n}`);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `${dockerfile.join('\n').replaceAll('BASE', env?.base ?? '')}\n`);
    return ctx;
  };

  it('exports a COPY\'d or RUN-set capability and no other xattr; the snapshot keeps them all; the capability works after push and pull', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const ctx = await newContext([
      'FROM BASE',
      'COPY sys/ /',
      'COPY download.bin tool.bin /data/',
      'RUN cp /bin/busybox /bin/busybox-cap && setfattr -n user.run -v from-run /bin/busybox-cap && setcap cap_net_raw+ep /bin/busybox-cap',
      // What the snapshot holds, seen by a later step: every xattr COPY and RUN set.
      'RUN getfattr -d -m - --absolute-names /data/download.bin /bin/busybox-cap > /seen',
    ]);
    await hostTools(ctx);
    await writeFile(join(ctx, 'download.bin'), 'downloaded\n');
    await must('setfattr', ['-n', 'user.xdg.origin.url', '-v', 'https://intranet.example/secret.bin', join(ctx, 'download.bin')]);
    await must('setfacl', ['-m', 'u:1234:r', join(ctx, 'download.bin')]);
    await copyFile('/bin/busybox', join(ctx, 'tool.bin'));
    await must('setcap', ['cap_net_bind_service+ep', join(ctx, 'tool.bin')]);
    const ref = `${env.registry.host}/xattrs:1`;
    const r = await build(ctx, ['-t', ref, '--push']);
    expect(r.code, r.stderr).to.equal(0);

    const layout = await copyToLayout(`docker://${ref}`, join(dir, 'layout'));
    const carried: Record<string, string[]> = {};
    for (const layer of (await layoutBlobs(layout)).layers) Object.assign(carried, await layerXattrs(layer));
    expect(carried).to.deep.equal({ 'data/tool.bin': ['security.capability'], 'bin/busybox-cap': ['security.capability'] });

    const bundle = join(dir, 'bundle');
    const rootfs = await unpackLayout(layout, bundle);
    const seen = await readFile(join(rootfs, 'seen'), 'utf8');
    for (const kept of ['user.xdg.origin.url="https://intranet.example/secret.bin"', 'system.posix_acl_access=', 'user.run="from-run"', 'security.capability=']) {
      expect(seen, 'the snapshot keeps what COPY and RUN set').to.contain(kept);
    }
    expect((await run('getfattr', ['-d', '-m', '-', join(rootfs, 'data/download.bin')])).stdout).to.equal('');
    expect((await run('getcap', [join(rootfs, 'data/tool.bin')])).stdout).to.contain('cap_net_bind_service=ep');
    expect((await run('getcap', [join(rootfs, 'bin/busybox-cap')])).stdout).to.contain('cap_net_raw=ep');
    // It works: exec'd by an unprivileged user, the pulled binary gets CAP_NET_RAW (bit 13) and nothing else.
    for (const d of [dir, bundle]) await chmod(d, 0o755);
    const asNobody = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', join(rootfs, 'bin/busybox-cap'), 'grep', 'CapEff', '/proc/self/status']);
    expect(asNobody.stdout.trim(), asNobody.stderr).to.equal('CapEff:\t0000000000002000');

    // tsbuild's own pull applies it too: a build FROM the pushed image reads it back.
    const again = await newContext([`FROM ${ref}`, 'RUN getcap /bin/busybox-cap /data/tool.bin > /caps']);
    const out = join(dir, 'again.tar');
    const r2 = await build(again, ['-o', `type=tar,dest=${out}`]);
    expect(r2.code, r2.stderr).to.equal(0);
    const caps = execFileSync('tar', ['-xOf', out, 'caps'], { encoding: 'utf8' });
    expect(caps).to.contain('/bin/busybox-cap cap_net_raw=ep').and.to.contain('/data/tool.bin cap_net_bind_service=ep');
  });

  it('writes every xattr into a -o type=tar output, as fsutil\'s WriteTar writes BuildKit\'s', async () => {
    const ctx = await newContext(['FROM scratch', 'COPY download.bin /']);
    await writeFile(join(ctx, 'download.bin'), 'downloaded\n');
    await must('setfattr', ['-n', 'user.xdg.origin.url', '-v', 'https://intranet.example/x', join(ctx, 'download.bin')]);
    const out = join(dir, 'fs.tar');
    const r = await build(ctx, ['-o', `type=tar,dest=${out}`]);
    expect(r.code, r.stderr).to.equal(0);
    expect(await layerXattrs({ digest: '', mediaType: 'application/x-tar', path: out })).to.deep.equal({ 'download.bin': ['user.xdg.origin.url'] });
  });
});
