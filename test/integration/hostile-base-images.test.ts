import { expect } from 'chai';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { anonymous, canonicalJson, MediaType, parseReference, RegistryClient, sha256, type Descriptor, type ImageConfig, type ImageManifest } from '../../registry/index.js';
import { OverlaySnapshotter, applyLayer, withMountedSnapshot } from '../../worker/index.js';
import { busyboxConfig, busyboxLayer } from '../fixtures/busybox-image.js';
import { gnuLongHeader, packTar, type TarEntry } from '../fixtures/pack-tar.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { run, TSBUILD, type CliResult } from '../fixtures/tsbuild-cli.js';
import { inspectConfig } from './realworld-image.js';

// Base images as an attacker crafts them: layers that are valid tars but say odd things to the applier. What
// containerd's archive.Apply (applyNaive, and the overlay converter BuildKit's overlay snapshotter applies with)
// decides is right; where containerd leaves the mount in a state overlayfs cannot show, tsbuild leaves a state it can.

describe('hostile base images', function () {
  this.timeout(60_000);
  let root: string;
  let snap: OverlaySnapshotter;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-hostile-base-'));
    snap = await OverlaySnapshotter.open(join(root, 'snapshots'));
  });
  afterEach(async () => {
    snap.close();
    await rm(root, { recursive: true, force: true });
  });

  async function unpack(name: string, parent: string | undefined, entries: TarEntry[]): Promise<void> {
    await snap.prepare(`${name}-key`, parent);
    const { upperDir, lowerDirs } = snap.activeDirs(`${name}-key`);
    const tar = await packTar(entries, { mode: 0o644, mtime: new Date(0) });
    await applyLayer(Readable.from([tar]), upperDir, { layer: `sha256:${name}`, lowerDirs, allowDevices: true });
    await snap.commit(name, `${name}-key`);
  }

  /** Every name the merged view lists under `dir`, each with whether lstat finds it (overlay lists whiteouts it cannot stat). */
  async function listing(merged: string, dir: string): Promise<string[]> {
    const out: string[] = [];
    for (const name of (await readdir(join(merged, dir))).sort()) {
      out.push(await lstat(join(merged, dir, name)).then(() => name, () => `${name} (listed, but lstat fails)`));
    }
    return out;
  }

  it('leaves no whiteout overlayfs would list but not stat: in a new directory, in an opaque one, or written as a 0/0 device', async () => {
    await unpack('base', undefined, [
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' },
      { name: 'etc/group', content: 'root:x:0:\n' },
      { name: 'd/', type: 'directory', mode: 0o755 },
      { name: 'd/f', content: 'f\n' },
      { name: 'keep/', type: 'directory', mode: 0o755 },
      { name: 'keep/gone', content: 'gone\n' },
      { name: 'keep/stays', content: 'stays\n' },
    ]);
    await unpack('top', 'base', [
      // A whiteout of a name no lower layer has, in a directory no lower layer has.
      { name: 'newdir/.wh.x', content: '' },
      { name: 'newdir/keep', content: 'k\n' },
      // Opaque, then a whiteout in it; and a whiteout, then opaque.
      { name: 'etc/.wh..wh..opq', content: '' },
      { name: 'etc/.wh.passwd', content: '' },
      { name: 'etc/new', content: 'n\n' },
      { name: 'd/.wh.f', content: '' },
      { name: 'd/.wh..wh..opq', content: '' },
      // A 0/0 character device (what an overlay upper dir holds for a whiteout) in a new directory.
      { name: 'nd/z', type: 'character-device', devmajor: 0, devminor: 0 },
      { name: 'nd/keep', content: 'k\n' },
      // A whiteout that does hide a lower file still does, as a device (or as a 0/0 entry) does.
      { name: 'keep/.wh.gone', content: '' },
      { name: 'keep/stays', type: 'character-device', devmajor: 0, devminor: 0 },
    ]);
    await withMountedSnapshot(snap, 'top', async (merged) => {
      expect(await listing(merged, 'newdir')).to.deep.equal(['keep']);
      expect(await listing(merged, 'etc')).to.deep.equal(['new']);
      expect(await listing(merged, 'd')).to.deep.equal([]);
      expect(await listing(merged, 'nd')).to.deep.equal(['keep']);
      expect(await listing(merged, 'keep')).to.deep.equal([]);
      expect(await readFile(join(merged, 'etc/new'), 'utf8')).to.equal('n\n');
    });
  });

  it('refuses an entry whose name (a 1 MiB GNU long name, all Go\'s reader allows) or hardlink target is longer than PATH_MAX, at once and in a message of bounded size', async function () {
    this.timeout(20_000);   // the union walk down 500,000 components of the name never ended
    const deep = `${'a/'.repeat(500_000)}f`;
    for (const layer of [
      Buffer.concat([gnuLongHeader('L', deep), await packTar([{ name: 'placeholder', content: 'x' }])]),
      Buffer.concat([await packTar([{ name: 'f', content: 'x' }]).then((t) => t.subarray(0, 1024)), gnuLongHeader('K', deep), await packTar([{ name: 'h', type: 'link', linkname: 'f' }])]),
      await packTar([{ name: `${'d/'.repeat(2100)}f`, content: 'x' }]),
    ]) {
      const dir = await mkdtemp(join(root, 'long-'));
      const err = await applyLayer(Readable.from([layer]), dir, { layer: 'sha256:long', allowDevices: true }).then(() => undefined, (e: unknown) => e);
      expect(err).to.have.property('code', 'INVALID_LAYER');
      expect((err as Error).message).to.match(/refused: a path of \d+ bytes, longer than this host allows \(4096 bytes\)/);
      expect((err as Error).message.length).to.be.below(1200);
    }
  });

  it('refuses an owner of 4294967295 or more as no Linux id, not as one a user namespace lacks (the hint said to edit /etc/subuid as root)', async () => {
    for (const owner of [{ uid: 4294967295, gid: 0 }, { uid: 0, gid: 99_999_999_999 }]) {
      // As PAX records: the ustar fields hold 7 octal digits.
      const dir = await mkdtemp(join(root, 'owner-'));
      const err = await applyLayer(Readable.from([await packTar([{ name: 'f', content: 'x', pax: { uid: String(owner.uid), gid: String(owner.gid) } }])]), dir, { layer: 'sha256:owner' }).then(() => undefined, (e: unknown) => e);
      expect(err).to.have.property('code', 'INVALID_LAYER');
      expect((err as Error).message).to.contain(`entry "f": refused: owner ${owner.uid}:${owner.gid} is not a Linux id`);
      expect(err).to.have.property('hint').that.does.not.contain('subuid');
    }
  });
});

/**
 * Pushes `<host>/<repo>:latest`: the busybox layer, then each of `extra` (an uncompressed tar) as a layer of its own,
 * under a config `edit` may change to anything, JSON or not.
 */
async function publishWithConfig(host: string, repo: string, edit: (config: ImageConfig) => unknown, extra: Buffer[] = []): Promise<void> {
  const client = new RegistryClient({ credentials: anonymous });
  try {
    const target = parseReference(`${host}/${repo}:latest`);
    const layer = await busyboxLayer();
    await client.pushBlob(target, layer.descriptor, async () => layer.open());
    const layers = [layer.descriptor];
    const base = busyboxConfig(layer.diffId, { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' });
    for (const tar of extra) {
      const desc: Descriptor = { mediaType: MediaType.ociLayerTar, digest: sha256(tar), size: tar.length };
      await client.pushBlob(target, desc, async () => Readable.from([tar]));
      layers.push(desc);
      base.rootfs.diff_ids.push(desc.digest);
    }
    const config = Buffer.from(JSON.stringify(edit(base)));
    const configDesc: Descriptor = { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length };
    await client.pushBlob(target, configDesc, async () => Readable.from([config]));
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers };
    await client.putManifest(target, MediaType.ociManifest, new TextEncoder().encode(canonicalJson(manifest)));
  } finally {
    await client.close();
  }
}

describe('hostile base images through the CLI', function () {
  this.timeout(120_000);
  let registry: RunningRegistry | undefined;
  let dir: string;

  before(async () => {
    registry = await startRegistry();
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-hostile-base-cli-'));
  });
  after(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** `bin/tsbuild build` of `dockerfile`, killed after 60 s (a hang shows as exit 124). */
  async function build(name: string, dockerfile: string, ...extra: string[]): Promise<CliResult> {
    const ctx = join(dir, name);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    return run('timeout', ['-k', '5', '60', TSBUILD, 'build', '--root', join(dir, 'root'), '--progress', 'plain', ...extra, ctx], { env: { TSBUILD_DAEMON: '0' } });
  }

  it('refuses a config whose Env, User or Labels have another type, naming the image and the member (was an internal error)', async () => {
    if (registry === undefined) throw new Error('registry did not start');
    const cases = [
      ['env', (c: ImageConfig) => ({ ...c, config: { ...c.config, Env: 'PATH=/bin' } }), 'config.Env is not an array of strings'],
      ['user', (c: ImageConfig) => ({ ...c, config: { ...c.config, User: 0 } }), 'config.User is not a string'],
      ['labels', (c: ImageConfig) => ({ ...c, config: { ...c.config, Labels: { a: 1 } } }), 'config.Labels is not an object of strings'],
    ] as const;
    for (const [repo, edit, member] of cases) {
      await publishWithConfig(registry.host, repo, edit);
      for (const dockerfile of [`FROM ${registry.host}/${repo}\nRUN true\n`, `FROM scratch\nCOPY --from=${registry.host}/${repo} /etc/passwd /p\n`]) {
        const r = await build(repo, dockerfile, '-o', `type=local,dest=${join(dir, `out-${repo}`)}`);
        expect(r.code, r.stderr).to.equal(1);
        expect(r.stderr).to.contain(`image config of ${registry.host}/${repo}:latest is not valid: ${member}`);
        expect(r.stderr).to.not.match(/internal error|\n\s+at /);
      }
    }
  });

  it('takes a relative WorkingDir in the base config as BuildKit does: joined to itself under / ("app" is /app/app) for RUN, COPY, WORKDIR and the result\'s config', async () => {
    if (registry === undefined) throw new Error('registry did not start');
    // dockerfile2llb (convert.go, dispatching a stage) replays the base config's WorkingDir as a WORKDIR through
    // dispatchWorkdir, whose system.NormalizeWorkdir(current, wd) (util/system/path.go NormalizePath) roots the
    // current "app" at / and joins the relative "app" to it: /app/app. A stage FROM that stage keeps /app/app.
    await publishWithConfig(registry.host, 'wd-rel', (c) => ({ ...c, config: { ...c.config, WorkingDir: 'app' } }));
    const dockerfile = `FROM ${registry.host}/wd-rel AS base\nRUN pwd > /pwd-run\nCOPY Dockerfile ./\nFROM base AS sub\nWORKDIR sub\nRUN pwd > /pwd-sub\n`;
    const out = join(dir, 'out-wd-rel');
    const r = await build('wd-rel', dockerfile, '-o', `type=local,dest=${out}`);
    expect(r.code, r.stderr).to.equal(0);
    expect(await readFile(join(out, 'pwd-run'), 'utf8')).to.equal('/app/app\n');
    expect(await readFile(join(out, 'app/app/Dockerfile'), 'utf8')).to.equal(dockerfile);
    expect(await readFile(join(out, 'pwd-sub'), 'utf8')).to.equal('/app/app/sub\n');
    for (const [target, wd] of [['base', '/app/app'], ['sub', '/app/app/sub']] as const) {
      const tar = join(dir, `wd-rel-${target}.tar`);
      const o = await build('wd-rel', dockerfile, '--target', target, '--provenance=false', '-o', `type=oci,dest=${tar}`);
      expect(o.code, o.stderr).to.equal(0);
      const config = (await inspectConfig(`oci-archive:${tar}`)) as { config: { WorkingDir?: string } };
      expect(config.config.WorkingDir).to.equal(wd);
    }
  });

  it('makes a working directory the config names through a dangling symlink at the link\'s target inside the root, as BuildKit\'s executor (was: chdir failed)', async () => {
    if (registry === undefined) throw new Error('registry did not start');
    // BuildKit (executor/runcexecutor/executor.go, Run) takes continuity's fs.RootPath of the cwd and makes what is
    // missing there: an absolute link target is the root's path, `..` stops at the root.
    const escape = `/etc/tsbuild-wd-escape-${process.pid}`;
    const cases = [
      ['wd-abs', '/srv/app', 'srv/app'],
      ['wd-escape', `../../../..${escape}`, escape.slice(1)],
    ] as const;
    for (const [repo, target, lands] of cases) {
      const layer = await packTar([{ name: 'app', type: 'symlink', linkname: target }], { mode: 0o777, mtime: new Date(0) });
      await publishWithConfig(registry.host, repo, (c) => ({ ...c, config: { ...c.config, WorkingDir: '/app' } }), [layer]);
      // The RUN first (the helper makes the cwd), then after a COPY to a relative destination (the confined writer).
      for (const [i, steps] of ['RUN echo here > here', 'COPY Dockerfile ./\nWORKDIR sub\nRUN echo here > ../here'].entries()) {
        const out = join(dir, `out-${repo}-${i}`);
        const r = await build(repo, `FROM ${registry.host}/${repo}\n${steps}\n`, '-o', `type=local,dest=${out}`);
        expect(r.code, r.stderr).to.equal(0);
        expect(await readFile(join(out, lands, 'here'), 'utf8')).to.equal('here\n');
        expect((await lstat(join(out, 'app'))).isSymbolicLink()).to.equal(true);
        expect(await lstat(escape).then(() => 'made on the host', () => 'absent')).to.equal('absent');
      }
      expect(await readFile(join(dir, `out-${repo}-1`, lands, 'Dockerfile'), 'utf8')).to.contain('COPY Dockerfile');
    }
  });
});
