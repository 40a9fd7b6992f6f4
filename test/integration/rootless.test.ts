import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { anonymous, canonicalJson, MediaType, parseReference, RegistryClient, sha256, withDigest } from '../../registry/index.js';
import type { Descriptor, Digest, ImageManifest } from '../../registry/index.js';
import { busyboxConfig, busyboxLayer } from '../fixtures/busybox-image.js';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { startRegistry } from '../fixtures/registry-server.js';
import { PROJECT_ROOT, run, TSBUILD, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';
import { packTar } from '../fixtures/pack-tar.js';
import { bindCheckReport, hostTree, SUB_MTIME, writeBindContext } from '../fixtures/bind-context.js';

// Issue 20: `tsbuild build` run by an unprivileged user. The suite makes a real user with subordinate id ranges,
// runs the real CLI as that user (setpriv, HOME and XDG_* in a directory the user owns), and checks what matters:
// the image pushed to a real registry (skopeo, umoci), its layers' owners and modes against a rootful build of the
// same Dockerfile, what a base layer loses rootless (named in the output), and that hostile builds still cannot
// write outside their root, now with a host dir the user could write to. The machine is left as found: the user,
// its /etc/subuid and /etc/subgid lines and every file are removed in `after`, whatever failed.

const USER = `tsbrl${randomBytes(4).toString('hex')}`;
const EPOCH = '1700000000';

/** Runs `cmd` as the test user with a clean environment pointing into its home. */
function asUser(home: string, cmd: string, args: string[], extraEnv: string[] = []): Promise<CliResult> {
  return run('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', 'env', '-i', `HOME=${home}`, `XDG_DATA_HOME=${join(home, 'data')}`,
    `XDG_CONFIG_HOME=${join(home, 'config')}`, 'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', ...extraEnv, cmd, ...args], { cwd: home });
}

async function removeSubidLines(name: string): Promise<void> {
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const kept = text.split('\n').filter((l) => !l.startsWith(`${name}:`)).join('\n');
    if (kept !== text) await writeFile(file, kept);
  }
}

/** Gives the user a 65536-id range in both files unless useradd already did (Debian's does, from login.defs). */
async function ensureSubids(name: string): Promise<void> {
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.split('\n').some((l) => l.startsWith(`${name}:`))) continue;
    const end = Math.max(1_000_000, ...text.split('\n').map((l) => l.split(':')).filter((f) => f.length === 3).map((f) => Number(f[1]) + Number(f[2])));
    await writeFile(file, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${name}:${end}:65536\n`);
  }
}

/** One line per tar entry: what ownership, mode and type mean for the image (mtime clamped, so left out). */
async function layerHeaders(gz: Buffer): Promise<string[]> {
  const extract = tar.extract();
  const out: string[] = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h: Header, stream, next) => {
      const xattrs = Object.keys(h.pax ?? {}).filter((k) => k.startsWith('SCHILY.xattr.')).sort().join(',');
      out.push(`${h.name} ${h.type} ${(h.mode ?? 0).toString(8)} ${h.uid}:${h.gid} ${h.size} ${h.linkname ?? ''} ${xattrs}`);
      stream.on('end', next);
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(gunzipSync(gz));
  await done;
  return out;
}

/** An image in an OCI layout (skopeo copy): its manifest and the headers of each layer. */
async function imageLayers(layout: string): Promise<{ layers: Descriptor[]; headers: string[][] }> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const blob = (d: string): string => join(layout, 'blobs', 'sha256', d.slice('sha256:'.length));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]?.digest ?? ''), 'utf8')) as ImageManifest;
  const headers: string[][] = [];
  for (const l of manifest.layers) headers.push(await layerHeaders(await readFile(blob(l.digest))));
  return { layers: manifest.layers, headers };
}

/** Everything about a host tree a hostile build could change. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const st = await lstat(join(dir, name));
    out.push(`${name} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs}`);
    if (st.isDirectory()) out.push(...(await tree(join(dir, name))).map((l) => `${name}/${l}`));
  }
  return out;
}

/** Pushes busybox plus one more layer made of `entries` as `repo:1`. */
async function publishWithLayer(host: string, repo: string, entries: Array<Partial<Header> & { name: string; content?: string }>): Promise<void> {
  const c = new RegistryClient({ credentials: anonymous });
  const target = parseReference(`${host}/${repo}:1`);
  const base = await busyboxLayer();
  const plain = await packTar(entries);
  const gz = gzipSync(plain);
  const extra: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: sha256(gz), size: gz.length };
  const config = busyboxConfig(base.diffId, { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' });
  config.rootfs.diff_ids = [base.diffId, sha256(plain) as Digest];
  const configBytes = new TextEncoder().encode(canonicalJson(config));
  const configDesc: Descriptor = { mediaType: MediaType.ociConfig, digest: sha256(configBytes), size: configBytes.length };
  await c.pushBlob(target, base.descriptor, async () => base.open());
  await c.pushBlob(target, extra, async () => Readable.from([gz]));
  await c.pushBlob(target, configDesc, async () => Readable.from([Buffer.from(configBytes)]));
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: [base.descriptor, extra] };
  const bytes = new TextEncoder().encode(canonicalJson(manifest));
  await c.putManifest(withDigest(target, sha256(bytes)), MediaType.ociManifest, bytes);
  await c.putManifest(target, MediaType.ociManifest, bytes);
}

describe('issue 20: rootless builds by an unprivileged user', function () {
  this.timeout(300_000);
  let env: BuildEnv | undefined;
  let home = '';
  let ctx = '';
  let userCreated = false;

  before(async () => {
    // Nothing here may be skipped: a machine that cannot run the suite fails it, saying why.
    if (process.getuid?.() !== 0) throw new Error('the rootless suite must run as root: it creates (and removes) a test user');
    for (const tool of ['/usr/bin/newuidmap', '/usr/bin/newgidmap', '/usr/bin/setpriv', '/usr/sbin/useradd']) {
      if (!existsSync(tool)) throw new Error(`${tool} is missing: run make setup (packages uidmap, util-linux, passwd)`);
    }
    env = await startBuildEnv('tsbuild-rootless-');
    execFileSync('useradd', ['-M', '-U', '-s', '/usr/sbin/nologin', USER]);
    userCreated = true;
    await ensureSubids(USER);
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
    home = await mkdtemp(join(tmpdir(), 'tsbuild-rootless-home-'));
    await chown(home, uid, gid);
    await chmod(home, 0o700);
    // The CLI runs from this checkout: the user must be able to read dist/ and run Node through scripts/node.
    const readable = await asUser(home, 'test', ['-r', join(PROJECT_ROOT, 'dist/builder/main.js')]);
    if (readable.code !== 0) throw new Error(`${USER} cannot read ${PROJECT_ROOT}/dist: make the checkout world-readable (chmod -R o+rX)`);
    ctx = join(home, 'ctx');
    await mkdir(ctx);
    await writeFile(join(ctx, 'app.txt'), 'from the context\n');
    await writeFile(join(ctx, 'Dockerfile'), [
      'ARG BASE',
      'FROM ${BASE} AS build',
      'ARG N=1',
      'RUN mkdir -p /out/sub && echo hello > /out/greeting',
      'RUN --mount=type=cache,target=/cache,uid=1000,gid=1000 sh -c \'echo "$N" >> /cache/log && cp /cache/log /out/log && stat -c %u:%g /cache > /out/cache-owner\'',
      'RUN chown 1000:1000 /out/greeting && chmod 4755 /out/greeting && chown -R 1000:1000 /out/sub && chmod 2775 /out/sub',
      'FROM ${BASE}',
      'COPY --from=build /out /app',
      'COPY --chown=1000:1000 app.txt /app/app.txt',
      'RUN mkdir -p /opt/x && touch /opt/x/old && mkdir -p /home/app && chown 1000:1000 /home/app',
      'RUN rm -rf /opt/x && mkdir /opt/x && touch /opt/x/new && rm /bin/vi',
      'USER 1000:1000',
      'RUN id > /home/app/id && wc -c /app/app.txt > /home/app/size',
      '',
    ].join('\n'));
    execFileSync('chown', ['-R', `${uid}:${gid}`, ctx]);
  });

  after(async () => {
    await env?.stop();
    if (home !== '') await rm(home, { recursive: true, force: true });
    if (userCreated) {
      try { execFileSync('userdel', [USER], { stdio: 'ignore' }); } catch { /* removed below as far as we can */ }
    }
    await removeSubidLines(USER);
    const passwd = await readFile('/etc/passwd', 'utf8');
    if (passwd.includes(`\n${USER}:`)) throw new Error(`could not remove the test user ${USER}`);
  });

  const build = (extra: string[], extraEnv: string[] = []): Promise<CliResult> => {
    if (env === undefined) throw new Error('build env did not start');
    return asUser(home, TSBUILD, ['build', '--progress', 'plain', '--build-arg', `BASE=${env.base}`, '--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, ...extra], extraEnv);
  };
  const pull = async (ref: string, name: string): Promise<string> => {
    const layout = join(env?.dir ?? '', `oci-${name}`);
    const r = await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:x`]);
    expect(r.code, r.stderr).to.equal(0);
    return layout;
  };

  it('builds and pushes as an unprivileged user, with the layers a rootful build writes', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const ref = `${env.registry.host}/rootless:1`;
    const r = await build(['-t', ref, '--push', ctx]);
    expect(r.code, r.stderr).to.equal(0);
    // It says how it runs: the id mapping, the overlay flavour, and what RUN does without.
    expect(r.stderr).to.match(/rootless: user namespace: uid 0 = host uid \d+, uids 1-65536 = host \d+/);
    expect(r.stderr).to.contain('rootless: snapshots: kernel overlayfs (userxattr');
    expect(r.stderr).to.contain('rootless: RUN device allow-list skipped');
    expect(r.stderr).to.match(/rootless: RUN steps get no cgroup of their own: .*(not a cgroup v2|not delegated)/);
    // The state went to $XDG_DATA_HOME/tsbuild, owned by the user, not to /var/lib/tsbuild.
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
    expect((await stat(join(home, 'data', 'tsbuild'))).uid).to.equal(uid);

    const rootfulRef = `${env.registry.host}/rootful:1`;
    const rf = await tsbuild(['build', '--root', join(env.dir, 'rootful-root'), '--progress', 'plain', '--build-arg', `BASE=${env.base}`,
      '--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, '-t', rootfulRef, '--push', ctx]);
    expect(rf.code, rf.stderr).to.equal(0);

    const rootless = await imageLayers(await pull(ref, 'rootless'));
    const rootful = await imageLayers(await pull(rootfulRef, 'rootful'));
    // Names, types, modes (setuid, setgid), owners and sizes of every entry of every layer, in order.
    expect(rootless.headers).to.deep.equal(rootful.headers);
    // With SOURCE_DATE_EPOCH the builds are reproducible: the very same blobs.
    expect(rootless.layers.map((l) => l.digest)).to.deep.equal(rootful.layers.map((l) => l.digest));
    const all = rootless.headers.flat();
    expect(all).to.include.members([
      'app/greeting file 4755 1000:1000 6  ',
      'app/sub/ directory 2775 1000:1000 0  ',
      'app/app.txt file 644 1000:1000 17  ',
      'home/app/ directory 755 1000:1000 0  ',
    ]);
    expect(all.some((h) => h.startsWith('opt/x/.wh..wh..opq '))).to.equal(true);
    expect(all.some((h) => h.startsWith('bin/.wh.vi '))).to.equal(true);
    expect(all.some((h) => h.includes('overlay.'))).to.equal(false);

    // umoci (as root) unpacks what a runtime would see.
    const bundle = join(env.dir, 'bundle-rootless');
    const u = await run('umoci', ['unpack', '--image', `${join(env.dir, 'oci-rootless')}:x`, bundle]);
    expect(u.code, u.stderr).to.equal(0);
    const rootfs = join(bundle, 'rootfs');
    const greeting = await stat(join(rootfs, 'app/greeting'));
    expect([greeting.uid, greeting.gid, greeting.mode & 0o7777]).to.deep.equal([1000, 1000, 0o4755]);
    expect(await readFile(join(rootfs, 'app/cache-owner'), 'utf8')).to.equal('1000:1000\n');
    expect(await readFile(join(rootfs, 'home/app/id'), 'utf8')).to.match(/^uid=1000 gid=1000/);
    expect(await readdir(join(rootfs, 'opt/x'))).to.deep.equal(['new']);
    expect(existsSync(join(rootfs, 'bin/vi'))).to.equal(false);
  });

  it('builds with fuse-overlayfs (TSBUILD_SNAPSHOTTER=fuse-overlayfs) the very layers a rootful build writes, whiteouts and opaque dirs included', async () => {
    if (env === undefined) throw new Error('build env did not start');
    // FUSE needs /dev/fuse readable and writable by the user (make setup makes it 0666, the distributions' mode).
    const fuseMode = (await stat('/dev/fuse')).mode & 0o777;
    if (fuseMode !== 0o666) throw new Error(`/dev/fuse is ${fuseMode.toString(8)}, the test user cannot use FUSE: run make setup (chmod 0666 /dev/fuse)`);
    const ref = `${env.registry.host}/rootless-fuse:1`;
    // A state root of its own: nothing may come from the kernel-overlay builds' cache.
    const r = await build(['--root', join(home, 'fuse-root'), '-t', ref, '--push', ctx], ['TSBUILD_SNAPSHOTTER=fuse-overlayfs']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/rootless: snapshots: fuse-overlayfs \(fuse-overlayfs version [\d.]+; TSBUILD_SNAPSHOTTER=fuse-overlayfs\)/);
    expect(r.stderr).to.match(/RUN rm -rf \/opt\/x && mkdir \/opt\/x && touch \/opt\/x\/new && rm \/bin\/vi\n#\d+ MISS never built before/);
    const rootfulRef = `${env.registry.host}/rootful:1`;
    const rf = await tsbuild(['build', '--root', join(env.dir, 'rootful-root'), '--progress', 'plain', '--build-arg', `BASE=${env.base}`,
      '--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, '-t', rootfulRef, '--push', ctx]);
    expect(rf.code, rf.stderr).to.equal(0);
    const fuse = await imageLayers(await pull(ref, 'rootless-fuse'));
    const rootful = await imageLayers(await pull(rootfulRef, 'rootful-for-fuse'));
    expect(fuse.headers).to.deep.equal(rootful.headers);
    expect(fuse.layers.map((l) => l.digest)).to.deep.equal(rootful.layers.map((l) => l.digest));
    const all = fuse.headers.flat();
    // `rm -rf /opt/x && mkdir /opt/x`: opaque; `rm /bin/vi`: a whiteout; directories that replaced nothing
    // (fuse-overlayfs marks every one it creates) carry no marker, and its own marker entries never leave the host.
    expect(all.some((h) => h.startsWith('opt/x/.wh..wh..opq '))).to.equal(true);
    expect(all.some((h) => h.startsWith('bin/.wh.vi '))).to.equal(true);
    expect(all.filter((h) => h.includes('.wh..wh..opq')).map((h) => h.split(' ')[0])).to.deep.equal(['opt/x/.wh..wh..opq']);
    expect(all.some((h) => h.includes('.wh..opq ') && !h.includes('.wh..wh..opq'))).to.equal(false);
    expect(all.some((h) => h.includes('overlay'))).to.equal(false);
    // A RUN --mount from another stage, writable: a staged overlay the driver mounts with fuse-overlayfs too.
    const dir = join(home, 'ctx-fuse-mount');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), ['ARG BASE', 'FROM ${BASE} AS a', 'RUN mkdir /d && echo 1 > /d/x', 'FROM ${BASE}',
      'RUN --mount=type=bind,from=a,source=/d,target=/b,rw echo 2 > /b/y && cat /b/x /b/y > /seen', ''].join('\n'));
    execFileSync('chown', ['-R', `${USER}:${USER}`, dir]);
    const out = join(home, 'fuse-mount.tar');
    const m = await build(['--root', join(home, 'fuse-root'), '-o', `type=tar,dest=${out}`, dir], ['TSBUILD_SNAPSHOTTER=fuse-overlayfs']);
    expect(m.code, m.stderr).to.equal(0);
    expect(execFileSync('tar', ['-xOf', out, 'seen'], { encoding: 'utf8' })).to.equal('1\n2\n');
    expect(execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).split('\n')).not.to.include('b/');
    // Nothing stays mounted: the fuse-overlayfs daemons went with their mounts.
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    expect(mounts).not.to.contain(join(home, 'fuse-root'));
  });

  it('writes -o type=local as the user: every entry owned by the user on the host, and the user can remove it all', async () => {
    const dest = join(home, 'local-out');
    const r = await build(['-o', `type=local,dest=${dest}`, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
    // stat(1) on the host, entry by entry: the image's 1000:1000 and 0:0 files all land as the user, not as a
    // subordinate id the user could not delete.
    const owners = execFileSync('find', [dest, '-printf', '%u:%g %U:%G %p\n'], { encoding: 'utf8' }).trim().split('\n');
    expect(owners.length).to.be.greaterThan(10);
    expect(owners.filter((l) => !l.split(' ')[1]?.startsWith(`${uid}:${gid}`))).to.deep.equal([]);
    expect(owners.some((l) => l.endsWith('/app/greeting'))).to.equal(true);
    // The setuid bit of a file from the image does not survive onto the host.
    expect((await stat(join(dest, 'app/greeting'))).mode & 0o6000).to.equal(0);
    const rmr = await asUser(home, 'rm', ['-rf', dest]);
    expect(rmr.code, rmr.stderr).to.equal(0);
    expect(existsSync(dest)).to.equal(false);
  });

  it('fails with exit status 1 and a hint naming usermod for a user without subordinate ids (ROOTLESS_UNAVAILABLE)', async () => {
    const other = `${USER}x`;
    execFileSync('useradd', ['-M', '-U', '-s', '/usr/sbin/nologin', other]);
    try {
      await removeSubidLines(other);
      const r = await run('setpriv', ['--reuid', other, '--regid', other, '--init-groups', 'env', '-i', 'HOME=/nonexistent',
        'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', TSBUILD, 'build', '--progress', 'plain', '/nonexistent'], { cwd: '/' });
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.contain(`ERROR: rootless: /etc/subuid grants no subordinate ids to ${other}`);
      expect(r.stderr).to.contain(`hint: as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${other}`);
      expect(r.stderr).not.to.match(/\n\s+at /);
    } finally {
      execFileSync('userdel', [other]);
      await removeSubidLines(other);
    }
  });

  it('binds the host\'s /sys read-only all the way down for a --network=host step, where sysfs cannot be mounted', async () => {
    // In the user namespace a step on the host's network namespace cannot mount sysfs (the kernel wants the
    // network namespace's owner), so the helper binds the host's /sys, submounts and all. Only the top was made
    // read-only: /sys/fs/cgroup and the rest under it stayed writable, a delegated cgroup of the user's included.
    const dir = join(home, 'sys-ctx');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nRUN --network=host awk \'$5 ~ "^/sys" { print "mount", $5, $6 }\' /proc/self/mountinfo\n');
    execFileSync('chown', ['-R', USER, dir]);
    const r = await build(['--allow', 'network.host', '--no-cache', dir]);
    expect(r.code, r.stderr).to.equal(0);
    const mounts = new Map((r.stdout + r.stderr).split('\n').map((l) => /^#\d+ [\d.]+ mount (\/sys\S*) (\S+)$/.exec(l)).filter((m) => m !== null).map((m) => [m[1] ?? '', (m[2] ?? '').split(',')]));
    expect([...mounts.keys()], 'the host\'s /sys has submounts here').to.include.members(['/sys', '/sys/fs/cgroup']);
    expect([...mounts].filter(([, opts]) => !opts.includes('ro')).map(([at]) => at), 'writable').to.deep.equal([]);
    expect(mounts.get('/sys')).to.include.members(['nosuid', 'nodev', 'noexec']);
  });

  it('runs a default-network step whatever the kernel lets it mount at /sys/fs/cgroup, and nothing there is writable', async () => {
    // On its own network namespace the step gets a fresh sysfs, and the helper mounts the step's cgroups on its
    // /sys/fs/cgroup as for a rootful step. In the user namespace the kernel may refuse those mounts: the step runs
    // then with the empty directory, and a half-made tmpfs is never left writable.
    const dir = join(home, 'cgroup-ctx');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), [
      'ARG BASE', 'FROM ${BASE}',
      'RUN awk \'$5 ~ "^/sys/fs/cgroup" { print "mount", $5, $6 }\' /proc/self/mountinfo; ls /sys/fs/cgroup | sed "s/^/entry /"; touch /sys/fs/cgroup/x 2>/dev/null || echo "cgroup-ro-$((40+2))"',
      '',
    ].join('\n'));
    execFileSync('chown', ['-R', USER, dir]);
    const r = await build(['--no-cache', dir]);
    expect(r.code, r.stderr).to.equal(0);
    const out = r.stdout + r.stderr;
    expect(out).to.contain('cgroup-ro-42');
    const mounts = out.split('\n').map((l) => /^#\d+ [\d.]+ mount (\/sys\S*) (\S+)$/.exec(l)).filter((m) => m !== null);
    expect(mounts.filter((m) => !(m[2] ?? '').split(',').includes('ro')).map((m) => m[1]), 'writable').to.deep.equal([]);
    // An empty /sys/fs/cgroup has no mount of its own; one with entries is mounted.
    if (/^#\d+ [\d.]+ entry /m.test(out)) expect(mounts.map((m) => m[1])).to.include('/sys/fs/cgroup');
  });

  it('keeps the cache mount between rootless builds', async () => {
    const r = await build(['--build-arg', 'N=2', '--target', 'build', '-o', `type=tar,dest=${join(home, 'build-stage.tar')}`, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    const listing = execFileSync('tar', ['-xOf', join(home, 'build-stage.tar'), 'out/log'], { encoding: 'utf8' });
    expect(listing).to.equal('1\n2\n');
  });

  it('runs tsbuild debug build in the namespace too: the session in the image made, as root there, both id ranges mapped', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const invoke = 'entrypoint=["sh"],"args=[""-c"",""id -u; grep -c . /proc/self/uid_map""]"';
    const r = await asUser(home, TSBUILD, ['debug', '--invoke', invoke, 'build', '--build-arg', `BASE=${env.base}`, '--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, '--target', 'build', ctx]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('0\n2\n');
    expect(r.stderr).to.contain('rootless: user namespace');
  });

  it('mounts a file and an env= secret from the helper\'s tmpfs with their owner and mode, read-only, and writes them to no file of the state root', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const tag = randomBytes(4).toString('hex');
    const dir = join(home, `secret-ctx-${tag}`);
    await mkdir(dir);
    const FILE = `rootless-file-s3cr3t-${tag}`;
    const ENV = `rootless-env-s3cr3t-${tag}`;
    const fileBytes = Buffer.concat([Buffer.from(FILE), Buffer.from([0, 10, 0])]);
    const src = join(home, `secret-src-${tag}`);
    await writeFile(src, fileBytes);
    await writeFile(join(dir, 'Dockerfile'), `FROM ${env.base}\nRUN --mount=type=secret,id=f,uid=1000,gid=1001,mode=0440 --mount=type=secret,id=e,env=E,target=/run/e sh -c '` +
      'mkdir /out && stat -c "%u:%g %a" /run/secrets/f > /out/owner && ((echo x >> /run/secrets/f) 2>/dev/null && echo rw || echo ro) > /out/rw && ' +
      'sha256sum /run/secrets/f /run/e | cut -c1-64 > /out/sha && printf %s "$E" | sha256sum | cut -c1-64 >> /out/sha\'\n');
    execFileSync('chown', ['-R', `${USER}:${USER}`, dir, src]);
    const out = join(home, `secret-out-${tag}.tar`);
    const r = await build(['--secret', `id=f,src=${src}`, '--secret', 'id=e,env=TSB_SECRET_E', '-o', `type=tar,dest=${out}`, dir], [`TSB_SECRET_E=${ENV}`]);
    expect(r.code, r.stderr).to.equal(0);
    const inImage = (name: string): string => execFileSync('tar', ['-xOf', out, `out/${name}`], { encoding: 'utf8' });
    const hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
    expect(inImage('owner')).to.equal('1000:1001 440\n');
    expect(inImage('rw')).to.equal('ro\n');
    expect(inImage('sha')).to.equal(`${hex(fileBytes)}\n${hex(ENV)}\n${hex(ENV)}\n`);
    for (const needle of [FILE, ENV]) {
      const found = await run('grep', ['-rlaF', needle, join(home, 'data')]);
      expect(found.stdout, `files of the state root holding ${needle}`).to.equal('');
    }
  });

  it('downloads ADD <url> into its state root in the namespace, never into the user\'s TMPDIR', async () => {
    // 8 MiB in 64 KiB pieces every 10 ms: the download is on disk long enough to be seen where it is written.
    const piece = Buffer.alloc(64 * 1024, 7);
    const pieces = 128;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(piece.length * pieces) });
      let sent = 0;
      const timer = setInterval(() => { res.write(piece); if (++sent === pieces) { clearInterval(timer); res.end(); } }, 10);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow.bin`;
      const digest = sha256(Buffer.concat(Array.from({ length: pieces }, () => piece)));
      const dir = join(home, 'ctx-add-url');
      const userTmp = join(home, 'tmp-add-url');
      const root = join(home, 'add-url-root');
      await mkdir(dir);
      await mkdir(userTmp, { mode: 0o700 });
      await writeFile(join(dir, 'Dockerfile'), `FROM scratch\nADD --checksum=${digest} ${url} /slow.bin\n`);
      execFileSync('chown', ['-R', `${USER}:${USER}`, dir, userTmp]);
      let done = false;
      const building = build(['--root', root, '-o', `type=local,dest=${join(home, 'out-add-url')}`, dir], [`TMPDIR=${userTmp}`]).finally(() => { done = true; });
      const seen = new Set<string>();
      while (!done) {
        for (const entry of await readdir(join(root, 'tmp')).catch(() => [])) seen.add(entry);
        for (const entry of await readdir(userTmp)) seen.add(`TMPDIR/${entry}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const r = await building;
      expect(r.code, r.stderr).to.equal(0);
      // (The state root's temp dir also holds rootless mode's overlay probe for a moment: overlay-probe-<pid>-….)
      expect([...seen].filter((e) => e.startsWith('TMPDIR/')), 'TMPDIR during the build').to.deep.equal([]);
      expect([...seen].filter((e) => /^download-\d+-/.test(e)), 'the download dir, seen under the state root').to.have.length(1);
      expect(sha256(await readFile(join(home, 'out-add-url', 'slow.bin')))).to.equal(digest);
      expect(await readdir(join(root, 'tmp'))).to.deep.equal([]);
      expect(await readdir(userTmp)).to.deep.equal([]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('keeps a remote context and a mount point in its state root in the namespace, never the user\'s TMPDIR; the next build removes a killed one\'s', async () => {
    // The context is a tarball URL (fetched before the build, remote-<pid>-…) and the output a FIFO nobody reads yet:
    // the build waits with the image's filesystem mounted (mnt-<pid>-…) in its own mount namespace.
    const tarball = await packTar([{ name: 'Dockerfile', content: 'FROM scratch\nCOPY f /f\n' }, { name: 'f', content: 'rootless\n' }]);
    const server = createServer((_req, res) => { res.writeHead(200, { 'content-length': String(tarball.length) }).end(tarball); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const userTmp = join(home, 'tmp-kept');
    const root = join(home, 'kept-root');
    const fifo = join(home, 'kept.fifo');
    await mkdir(userTmp, { mode: 0o700 });
    execFileSync('mkfifo', [fifo]);
    execFileSync('chown', [`${USER}:${USER}`, userTmp, fifo]);
    const tmp = join(root, 'tmp');
    const args = ['--root', root, '-o', `type=tar,dest=${fifo}`, `http://127.0.0.1:${(server.address() as AddressInfo).port}/ctx.tar`];
    const start = (): { closed: Promise<unknown> } => {
      const child = spawn('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', 'env', '-i', `HOME=${home}`, `XDG_DATA_HOME=${join(home, 'data')}`, `TMPDIR=${userTmp}`,
        'TSBUILD_DAEMON=0', 'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', TSBUILD, 'build', '--progress', 'plain', ...args], { cwd: home, stdio: 'ignore' });
      return { closed: once(child, 'close') };
    };
    /** The build's temp dirs once its filesystem is mounted, with the pid they name (the CLI inside the namespace). */
    const waiting = async (): Promise<{ entries: string[]; pid: number }> => {
      for (let i = 0; i < 600; i++) {
        expect(await readdir(userTmp), 'TMPDIR during the build').to.deep.equal([]);
        const entries = (await readdir(tmp).catch(() => [] as string[])).sort();
        const mnt = entries.find((e) => e.startsWith('mnt-'));
        if (mnt !== undefined) return { entries, pid: Number(mnt.split('-')[1]) };
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the build never mounted its filesystem');
    };
    try {
      const first = start();
      const during = await waiting();
      expect(during.entries.map((e) => e.replace(/-\d+-.*/, ''))).to.deep.equal(['mnt', 'remote']);
      for (const e of during.entries) expect(e).to.match(new RegExp(`^[a-z]+-${during.pid}-`));
      const tarred = await readFile(fifo);
      await first.closed;
      expect(tarred.includes(Buffer.from('rootless\n'))).to.equal(true);
      expect(await readdir(tmp)).to.deep.equal([]);
      expect(await readdir(userTmp)).to.deep.equal([]);

      const killed = start();
      const left = await waiting();
      process.kill(left.pid, 'SIGKILL');
      await killed.closed;
      expect((await readdir(tmp)).sort(), 'what kill -9 left').to.deep.equal(left.entries);
      expect(await readdir(userTmp)).to.deep.equal([]);
      const small = join(home, 'ctx-kept');
      await mkdir(small);
      await writeFile(join(small, 'Dockerfile'), 'FROM scratch\nCOPY f /f\n');
      await writeFile(join(small, 'f'), 'next\n');
      execFileSync('chown', ['-R', `${USER}:${USER}`, small]);
      const next = await build(['--root', root, '-o', `type=local,dest=${join(home, 'out-kept')}`, small], [`TMPDIR=${userTmp}`]);
      expect(next.code, next.stderr).to.equal(0);
      expect(await readdir(tmp)).to.deep.equal([]);
      expect(await readdir(userTmp)).to.deep.equal([]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('names what a base layer loses rootless (a device node, a trusted.* xattr) and still builds', async () => {
    if (env === undefined) throw new Error('build env did not start');
    await publishWithLayer(env.registry.host, 'with-device', [
      { name: 'dev/', type: 'directory', mode: 0o755 },
      { name: 'dev/null2', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
      { name: 'etc/marked', type: 'file', mode: 0o644, content: 'x', pax: { 'SCHILY.xattr.trusted.tsbuild': 'kept-rootful', 'SCHILY.xattr.user.tsbuild': 'kept' } },
    ]);
    const dir = join(home, 'ctx-device');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), `FROM ${env.registry.host}/with-device:1\nRUN getfattr 2>/dev/null; ls /etc/marked > /seen\n`);
    execFileSync('chown', ['-R', `${USER}:${USER}`, dir]);
    const ref = `${env.registry.host}/from-device:1`;
    const r = await build(['-t', ref, '--push', dir]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain('dev/null2: character-device 1:3 not kept (refused in a user namespace)');
    expect(r.stderr).to.contain('etc/marked: xattr trusted.tsbuild not kept');
    // The image keeps the base layer as it was: only this build's RUN steps did without.
    const image = await imageLayers(await pull(ref, 'from-device'));
    expect(image.headers.flat()).to.include('dev/null2 character-device 666 0:0 0  ');
  });

  it('pushes with the credentials in the user\'s own ~/.docker/config.json', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const secured = await startRegistry({ htpasswd: { user: 'rootless', password: 'pw-of-the-user' } });
    try {
      const dir = join(home, 'ctx-auth');
      await mkdir(dir);
      await writeFile(join(dir, 'Dockerfile'), `FROM ${env.base}\nRUN echo pushed > /pushed\n`);
      // The user's earlier builds made ~/.docker already: buildx's local state of each build is in ~/.docker/buildx.
      await mkdir(join(home, '.docker'), { recursive: true });
      const auth = Buffer.from('rootless:pw-of-the-user').toString('base64');
      await writeFile(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [secured.host]: { auth } } }));
      execFileSync('chown', ['-R', `${USER}:${USER}`, dir, join(home, '.docker')]);
      const ref = `${secured.host}/private:1`;
      const r = await build(['-t', ref, '--push', dir]);
      expect(r.code, r.stderr).to.equal(0);
      const inspect = await run('skopeo', ['inspect', '--tls-verify=false', '--creds', 'rootless:pw-of-the-user', `docker://${ref}`]);
      expect(inspect.code, inspect.stderr).to.equal(0);
    } finally {
      await secured.stop();
    }
  });

  it('runs bake and push in the namespace too: a later push exports layers whose files only the namespace can read', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const dir = join(home, 'bakectx');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), `FROM ${env.base}\nRUN mkdir /p && echo s > /p/secret && chmod 700 /p && chown -R 1000:1000 /p\n`);
    await writeFile(join(dir, 'docker-bake.hcl'), `target "default" {\n  context = "."\n  tags = ["${env.registry.host}/rootless-bake:1"]\n}\n`);
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
    execFileSync('chown', ['-R', `${uid}:${uid}`, dir]);
    const bake = await run('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', 'env', '-i', `HOME=${home}`, `XDG_DATA_HOME=${join(home, 'data')}`,
      'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', TSBUILD, 'bake', '--progress', 'plain'], { cwd: dir });
    expect(bake.code, bake.stderr).to.equal(0);
    const push = await asUser(home, TSBUILD, ['push', `${env.registry.host}/rootless-bake:1`]);
    expect(push.code, push.stderr).to.equal(0);
    const layout = await pull(`${env.registry.host}/rootless-bake:1`, 'rootless-bake');
    const layers = await imageLayers(layout);
    const all = layers.headers.flat();
    expect(all.some((h) => h.startsWith('p/ directory 700 1000:1000 ')), all.join('\n')).to.equal(true);
    expect(all.some((h) => h.startsWith('p/secret file 644 1000:1000 ')), all.join('\n')).to.equal(true);
  });

  it('cancels on a SIGINT sent to the tsbuild process alone (a wrapper\'s child.kill), as rootful does: exit 130', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const dir = join(home, 'sigctx');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), `FROM ${env.base}\nRUN echo started && sleep 60\n`);
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
    execFileSync('chown', ['-R', `${uid}:${uid}`, dir]);
    // setpriv, env and bin/tsbuild each exec the next: the pid is the outer tsbuild's.
    const child = spawn('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', 'env', '-i', `HOME=${home}`, `XDG_DATA_HOME=${join(home, 'data')}`,
      'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', TSBUILD, 'build', '--progress', 'plain', '--no-cache', dir], { cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const closed = once(child, 'close');
    for (let i = 0; i < 300 && !/#\d+ [\d.]+ started/.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
    expect(stderr).to.match(/#\d+ [\d.]+ started/);
    const t0 = Date.now();
    child.kill('SIGINT');
    const [code] = await closed as [number | null];
    expect(code, stderr).to.equal(130);
    expect(Date.now() - t0, 'the step was not cut short').to.be.below(30_000);
    expect(stderr).not.to.contain('interrupted again');
    // Ctrl-C at a terminal: the whole process group gets it, the child inside from both; still one clean cancel.
    const group = spawn('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', 'env', '-i', `HOME=${home}`, `XDG_DATA_HOME=${join(home, 'data')}`,
      'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', TSBUILD, 'build', '--progress', 'plain', '--no-cache', dir], { cwd: home, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let groupErr = '';
    group.stderr.on('data', (c: Buffer) => { groupErr += c.toString(); });
    const groupClosed = once(group, 'close');
    for (let i = 0; i < 300 && !/#\d+ [\d.]+ started/.test(groupErr); i++) await new Promise((r) => setTimeout(r, 100));
    process.kill(-(group.pid ?? 0), 'SIGINT');
    const [groupCode] = await groupClosed as [number | null];
    expect(groupCode, groupErr).to.equal(130);
    expect(groupErr).not.to.contain('interrupted again');
  });

  it('refuses a root written under other subordinate ids, naming both ranges, instead of building with owners turned into 65534', async () => {
    const before = await build(['-o', 'type=cacheonly', ctx]);
    expect(before.code, before.stderr).to.equal(0);
    const saved = await Promise.all(['/etc/subuid', '/etc/subgid'].map((f) => readFile(f, 'utf8')));
    try {
      for (const file of ['/etc/subuid', '/etc/subgid']) {
        const text = await readFile(file, 'utf8');
        await writeFile(file, text.replace(new RegExp(`^${USER}:(\\d+):`, 'm'), (_all, start: string) => `${USER}:${Number(start) + 70000}:`));
      }
      const r = await build(['-o', 'type=cacheonly', ctx]);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.match(/ERROR: rootless: the state root .* was written with other subordinate ids \(uid \d+ 65536 gid \d+ 65536\) than \/etc\/subuid and \/etc\/subgid give now/);
      expect(r.stderr).to.contain('hint: use a new --root');
      expect(r.stderr).not.to.match(/\n\s+at /);
    } finally {
      await writeFile('/etc/subuid', saved[0] ?? '');
      await writeFile('/etc/subgid', saved[1] ?? '');
    }
    const after = await build(['-o', 'type=cacheonly', ctx]);
    expect(after.code, after.stderr).to.equal(0);
  });

  it('binds a context with .dockerignore as an overlay of the user\'s directory (kernel and fuse-overlayfs): excluded files hidden, the directory never written', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
    for (const [name, extraEnv, roType] of [['kernel', [], /^overlay$/], ['fuse', ['TSBUILD_SNAPSHOTTER=fuse-overlayfs'], /^fuse\.fuse-overlayfs$/]] as const) {
      const bindCtx = join(home, `bind-ctx-${name}`);
      await mkdir(bindCtx);
      await writeBindContext(bindCtx, env.base);
      // The user's own files: uid 0 in the namespace, so shown as 0:0 as the copy (and BuildKit) shows them.
      execFileSync('chown', ['-R', '-h', `${USER}:${USER}`, bindCtx]);
      const before = await hostTree(bindCtx);
      expect(before.every((l) => l.split(' ')[2] === `${uid}:${uid}`)).to.equal(true);
      const r = await build(['--root', join(home, `bind-root-${name}`), '--no-cache', bindCtx], [...extraEnv]);
      expect(r.code, r.stderr).to.equal(0);
      const report = bindCheckReport(r.stderr);
      expect(report.passed, r.stderr).to.deep.equal(['ro', 'rw', 'after']);
      for (const t of report.roMountTypes) expect(t, name).to.match(roType);
      expect(report.subMeta).to.deep.equal(Array(3).fill(`750 ${SUB_MTIME} 0:0`));
      expect(report.owners).to.deep.equal(['0:0', '0:0', '0:0']);
      expect(report.aclProbe).to.deep.equal(['644']);
      expect(await hostTree(bindCtx), name).to.deep.equal(before);
    }
  });

  describe('hostile builds stay inside their root (issue 14 cases, rootless, with a host dir the user owns)', () => {
    let hostDir = '';
    let marked: string[] = [];
    beforeEach(async () => {
      hostDir = join(home, `host-${randomBytes(3).toString('hex')}`);
      await mkdir(join(hostDir, 'secrets'), { recursive: true });
      await writeFile(join(hostDir, 'secrets', 'token'), '');
      await writeFile(join(hostDir, 'file'), 'host file\n');
      execFileSync('chown', ['-R', `${USER}:${USER}`, hostDir]);
      marked = await tree(hostDir);
    });
    afterEach(async () => {
      expect(await tree(hostDir)).to.deep.equal(marked);
    });

    it('COPY into a directory an earlier RUN made a symlink to the host dir writes inside the root', async () => {
      if (env === undefined) throw new Error('build env did not start');
      const dir = join(home, `ctx-${randomBytes(3).toString('hex')}`);
      await mkdir(dir);
      await writeFile(join(dir, 'f'), 'from the context\n');
      await writeFile(join(dir, 'Dockerfile'), `FROM ${env.base}\nRUN ln -s ${hostDir} /out\nCOPY --chmod=4755 f /out/\nCOPY f /out/file\n`);
      execFileSync('chown', ['-R', `${USER}:${USER}`, dir]);
      const out = join(home, 'copy-out.tar');
      const r = await build(['-o', `type=tar,dest=${out}`, dir]);
      expect(r.code, r.stderr).to.equal(0);
      // Followed as a chroot would: the files landed in <root><hostDir>.
      const inImage = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).split('\n');
      expect(inImage).to.include(`${hostDir.slice(1)}/f`).and.to.include(`${hostDir.slice(1)}/file`);
    });

    it('the RUN stub clean-up leaves the host dir alone when a step swaps /run (holding a secret target) for a symlink to it', async () => {
      if (env === undefined) throw new Error('build env did not start');
      const dir = join(home, `ctx-${randomBytes(3).toString('hex')}`);
      await mkdir(dir);
      await writeFile(join(home, 'token.txt'), 'secret\n');
      await writeFile(join(dir, 'Dockerfile'),
        `FROM ${env.base}\nRUN --mount=type=secret,id=token,target=/run/secrets/token mv /run /run.old && ln -s ${hostDir} /run\n`);
      execFileSync('chown', ['-R', `${USER}:${USER}`, dir, join(home, 'token.txt')]);
      const r = await build(['--secret', `id=token,src=${join(home, 'token.txt')}`, '-o', `type=tar,dest=${join(home, 'swap-out.tar')}`, dir]);
      expect(r.code, r.stderr).to.equal(0);
    });

    it('contains a base layer entry written through a symlink that leads to the host dir (it lands inside the root, as containerd applies it)', async () => {
      if (env === undefined) throw new Error('build env did not start');
      const repo = `hostile-${randomBytes(3).toString('hex')}`;
      await publishWithLayer(env.registry.host, repo, [
        { name: 'd', type: 'symlink', linkname: hostDir },
        { name: 'd/file', type: 'file', mode: 0o4755, content: 'evil' },
      ]);
      const dir = join(home, `ctx-${repo}`);
      await mkdir(dir);
      // The RUN reads the file where a chroot puts it: <root><hostDir>/file, the image's, not the host's (afterEach
      // checks the host dir is unchanged).
      await writeFile(join(dir, 'Dockerfile'), `FROM ${env.registry.host}/${repo}:1\nRUN cat ${hostDir}/file > /seen\n`);
      execFileSync('chown', ['-R', `${USER}:${USER}`, dir]);
      const r = await build(['-o', `type=tar,dest=${join(home, `${repo}.tar`)}`, dir]);
      expect(r.code, r.stderr).to.equal(0);
      const seen = execFileSync('tar', ['-xOf', join(home, `${repo}.tar`), 'seen']).toString();
      expect(seen).to.equal('evil');
    });
  });
});
