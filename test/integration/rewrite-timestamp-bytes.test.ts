import { expect } from 'chai';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { busyboxBinary } from '../fixtures/busybox-image.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// `-o type=oci,rewrite-timestamp=true` with SOURCE_DATE_EPOCH re-encodes each layer the build made. It did so with
// tar-stream, which decoded names and PAX values as UTF-8: a Latin-1 name came out as `caf\xef\xbf\xbd` and a
// security.capability value (cap_setfcap: bytes >= 0x80) was mangled. Checked here with GNU tar and getcap.
describe('rewrite-timestamp keeps names and xattrs that are not UTF-8', function () {
  this.timeout(300_000);
  const EPOCH = 1_700_000_000;   // 2023-11-14 22:13:20 UTC
  let env: BuildEnv;

  before(async () => { env = await startBuildEnv('tsbuild-rewrite-ts-'); });
  after(async () => { await env.stop(); });

  async function must(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
    const r = await run(cmd, args, { env });
    expect(r.code, `${cmd} ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  }

  /** An OCI layout (tag `cap`) whose one layer, written by umoci, holds busybox and `/captool` with cap_setfcap=ep. */
  async function capBase(): Promise<string> {
    const layout = join(env.dir, 'cap-layout');
    const bundle = join(env.dir, 'cap-bundle');
    await must('umoci', ['init', '--layout', layout]);
    await must('umoci', ['new', '--image', `${layout}:cap`]);
    await must('umoci', ['unpack', '--image', `${layout}:cap`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    await mkdir(join(rootfs, 'bin'));
    await copyFile(busyboxBinary(), join(rootfs, 'bin/busybox'));
    for (const applet of ['sh', 'touch', 'mkdir', 'printf', 'ln', 'echo']) await symlink('busybox', join(rootfs, 'bin', applet));
    await writeFile(join(rootfs, 'captool'), 'cap\n');
    await must('setcap', ['cap_setfcap=ep', join(rootfs, 'captool')]);
    await must('umoci', ['repack', '--image', `${layout}:cap`, bundle]);
    await must('umoci', ['config', '--image', `${layout}:cap`, '--config.env', 'PATH=/bin']);
    return layout;
  }

  /** The last layer of the single image in an OCI tarball, unpacked into `dir`. */
  async function lastLayer(tarball: string, dir: string): Promise<{ file: string; diffId: string }> {
    await mkdir(dir);
    await must('tar', ['-xf', tarball, '-C', dir]);
    const blob = async (digest: string): Promise<Buffer> => readFile(join(dir, 'blobs', ...digest.split(':')));
    // index.json → the image index tsbuild writes (the image and its attestation manifest) → the image's manifest.
    type Index = { manifests: Array<{ digest: string; mediaType: string; platform?: { os: string } }> };
    let doc = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Index;
    for (;;) {
      const next = doc.manifests.find((m) => m.platform?.os !== 'unknown')!;
      doc = JSON.parse((await blob(next.digest)).toString()) as Index;
      if (next.mediaType !== 'application/vnd.oci.image.index.v1+json') break;
    }
    const manifest = doc as unknown as { config: { digest: string }; layers: Array<{ digest: string }> };
    const config = JSON.parse((await blob(manifest.config.digest)).toString()) as { rootfs: { diff_ids: string[] } };
    return { file: join(dir, 'blobs', ...manifest.layers.at(-1)!.digest.split(':')), diffId: config.rootfs.diff_ids.at(-1)! };
  }

  it('writes a Latin-1 name, a symlink and a hard link to it and a file capability byte for byte, mtimes clamped', async () => {
    const layout = await capBase();
    const ctx = join(env.dir, 'ctx');
    await mkdir(ctx);
    // `touch` copies captool up into the RUN's upper dir, capability and all (overlay copy-up keeps xattrs).
    await writeFile(join(ctx, 'Dockerfile'), [
      'FROM capbase',
      `RUN touch /captool && mkdir /latin && cd /latin && echo latin > "$(printf 'caf\\351')" \\`,
      `  && ln -s "$(printf 'caf\\351')" link && ln "$(printf 'caf\\351')" "$(printf 'h\\351')"`,
      '',
    ].join('\n'));
    const out = join(env.dir, 'out.tar');
    const built = await tsbuild(['build', '--root', join(env.dir, 'root'), '--progress', 'plain', '--build-context', `capbase=oci-layout://${layout}:cap`,
      '-o', `type=oci,dest=${out},rewrite-timestamp=true`, ctx], { env: { SOURCE_DATE_EPOCH: String(EPOCH) } });
    expect(built.code, built.stderr.slice(-2000)).to.equal(0);
    const layer = await lastLayer(out, join(env.dir, 'out'));

    const listing = await must('tar', ['-tvf', layer.file, '--quoting-style=escape', '--full-time', '--numeric-owner'], { TZ: 'UTC' });
    const lines = listing.trim().split('\n');
    const named = (suffix: string): string => lines.find((l) => l.endsWith(suffix)) ?? `(no entry ending ${JSON.stringify(suffix)} in\n${listing})`;
    expect(named(' latin/caf\\351')).to.match(/^-rw-r--r-- 0\/0 +6 /);
    expect(named(' latin/link -> caf\\351')).to.match(/^lrwxrwxrwx /);
    expect(named(' latin/h\\351 link to latin/caf\\351')).to.match(/^hrw-r--r-- /);
    expect(listing).to.not.include('\\357\\277\\275');   // U+FFFD, what tar-stream made of 0xe9
    for (const line of lines) expect(line, 'every entry of the RUN layer is newer than the epoch: clamped').to.include(' 2023-11-14 22:13:20 ');

    const x = join(env.dir, 'x');
    await mkdir(x);
    await must('tar', ['--xattrs', '--xattrs-include=*', '-xpf', layer.file, '-C', x]);
    expect(await must('getcap', [join(x, 'captool')])).to.contain('cap_setfcap=ep');
    const sha = (await must('sh', ['-c', 'gzip -dcf "$1" | sha256sum', 'sh', layer.file])).split(' ')[0];
    expect(layer.diffId, 'the config names the rewritten (uncompressed) layer').to.equal(`sha256:${sha}`);
  });
});
