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

/** Every entry of a tar (a layer blob, gzip or plain) that has xattr records: their names and values (hex), as Python's tarfile reads them. */
async function tarXattrs(path: string): Promise<Record<string, Record<string, string>>> {
  const script = [
    'import json, sys, tarfile',
    'out = {}',
    'with tarfile.open(sys.argv[1]) as t:',
    '  for m in t:',
    '    x = {k[len("SCHILY.xattr."):]: v.encode("utf-8", "surrogateescape").hex() for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr.")}',
    '    if x: out[m.name] = x',
    'print(json.dumps(out))',
  ].join('\n');
  const r = await run('python3', ['-c', script, path]);
  expect(r.code, r.stderr).to.equal(0);
  return JSON.parse(r.stdout) as Record<string, Record<string, string>>;
}

/** The names of tarXattrs's xattrs, sorted. */
async function layerXattrs(blob: LayoutBlob): Promise<Record<string, string[]>> {
  return Object.fromEntries(Object.entries(await tarXattrs(blob.path)).map(([name, x]) => [name, Object.keys(x).sort()]));
}

const hex = (text: string): string => Buffer.from(text).toString('hex');

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
    expect(await tarXattrs(out)).to.deep.equal({ 'download.bin': { 'user.xdg.origin.url': hex('https://intranet.example/x') } });
  });

  // BuildKit's COPY key hashes each source entry's tar header with its xattrs, but security.* other than
  // security.capability and system.* (cache/contenthash tarsum.go v1TarHeaderSelect, over the fsutil Stat the context
  // transfer sends or NewFileHash reads from a snapshot). Before, a changed xattr left the COPY CACHED with the old one.
  const isCopyCached = (r: CliResult, copy: string): boolean => r.stderr.split('\n').some((line, i, lines) => line.endsWith(copy) && /^#\d+ CACHED$/.test(lines[i + 1] ?? ''));

  it('runs a COPY again when a context file\'s user.* xattr or capability changed, and not for an ACL alone', async () => {
    const ctx = await newContext(['FROM scratch', 'COPY f /f']);
    await writeFile(join(ctx, 'f'), 'content\n');
    const out = join(dir, 'key.tar');
    const step = async (change?: [string, string[]]): Promise<{ isCached: boolean; xattrs: Record<string, string> }> => {
      if (change !== undefined) await must(change[0], [...change[1], join(ctx, 'f')]);
      const r = await build(ctx, ['-o', `type=tar,dest=${out}`]);
      expect(r.code, r.stderr).to.equal(0);
      // A tar output has every xattr of the COPY's snapshot.
      return { isCached: isCopyCached(r, 'COPY f /f'), xattrs: (await tarXattrs(out))['f'] ?? {} };
    };
    expect((await step()).isCached).to.equal(false);
    expect((await step()).isCached).to.equal(true);
    expect(await step(['setfattr', ['-n', 'user.x', '-v', '1']])).to.deep.equal({ isCached: false, xattrs: { 'user.x': hex('1') } });
    expect(await step(['setfattr', ['-n', 'user.x', '-v', '2']])).to.deep.equal({ isCached: false, xattrs: { 'user.x': hex('2') } });
    const capped = await step(['setcap', ['cap_net_raw+ep']]);
    expect(capped.isCached).to.equal(false);
    expect(Object.keys(capped.xattrs).sort()).to.deep.equal(['security.capability', 'user.x']);
    // An ACL that leaves the mode as it was: BuildKit's key leaves system.* out, so the step stays cached.
    const acl = await step(['setfacl', ['-m', 'u:1234:r']]);
    expect(acl.isCached).to.equal(true);
    expect((await step()).isCached).to.equal(true);
  });

  it('runs a COPY --from again when only an xattr of the file it copies changed in the stage', async () => {
    // The stage runs again (its ARG changed) and makes a file with the same content: COPY --from's key is the
    // content digest of what it copies, so only the xattr tells the two results apart.
    const ctx = await newContext(['FROM BASE AS stage', 'COPY sys/ /', 'ARG V', 'RUN echo same > /f && setfattr -n user.v -v "$V" /f',
      'FROM scratch', 'COPY --from=stage /f /f']);
    await hostTools(ctx);
    const out = join(dir, 'from.tar');
    for (const v of ['one', 'two']) {
      const r = await build(ctx, ['--build-arg', `V=${v}`, '-o', `type=tar,dest=${out}`]);
      expect(r.code, r.stderr).to.equal(0);
      expect(isCopyCached(r, 'COPY --from=stage /f /f'), v).to.equal(false);
      expect((await tarXattrs(out))['f']).to.deep.equal({ 'user.v': hex(v) });
    }
  });
});
