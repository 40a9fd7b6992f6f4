import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishBusybox } from '../fixtures/busybox-image.js';
import { startFaultProxy, type FaultProxy } from '../fixtures/fault-proxy.js';
import { freePort, startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// Registry mirrors from tsbuild.toml ($TSBUILD_CONFIG), in buildkitd.toml's shape, through the real CLI: two real
// registries, each behind a counting proxy, one the origin and one its mirror.

describe('registry mirrors from tsbuild.toml', function () {
  this.timeout(180_000);
  let origin: RunningRegistry;
  let mirror: RunningRegistry;
  let originProxy: FaultProxy;
  let mirrorProxy: FaultProxy;
  let dir = '';
  let ctx = '';
  let builds = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-mirrors-'));
    origin = await startRegistry();
    mirror = await startRegistry();
    await publishBusybox(origin.host, 'busybox');
    await publishBusybox(mirror.host, 'busybox');
    originProxy = await startFaultProxy(origin.host);
    mirrorProxy = await startFaultProxy(mirror.host);
    ctx = join(dir, 'ctx');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${originProxy.host}/busybox:latest\nLABEL mirrored=1\n`);
  });
  after(async () => {
    await originProxy?.close();
    await mirrorProxy?.close();
    await origin?.stop();
    await mirror?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function config(text: string): Promise<string> {
    const file = join(dir, `tsbuild-${builds}.toml`);
    await writeFile(file, text);
    return file;
  }
  const build = (configFile: string, extra: string[] = []) =>
    tsbuild(['build', '--root', join(dir, `root-${builds++}`), '--progress', 'plain', ...extra, ctx], { env: { TSBUILD_CONFIG: configFile } });
  const reads = (p: FaultProxy, from: number) => p.log.slice(from).filter((e) => e.method === 'GET' && /\/(manifests|blobs)\//.test(e.path));
  const writes = (p: FaultProxy, from: number) => p.log.slice(from).filter((e) => ['POST', 'PUT', 'PATCH'].includes(e.method));

  it('pulls the base image from the mirror and pushes the result to the origin only', async () => {
    const file = await config(`# as buildkitd.toml\n[registry."${originProxy.host}"]\nmirrors = ["${mirrorProxy.host}"]\n`);
    const [o, m] = [originProxy.log.length, mirrorProxy.log.length];
    const r = await build(file, ['-t', `${originProxy.host}/app:1`, '--push']);
    expect(r.code, r.stderr).to.equal(0);
    expect(reads(mirrorProxy, m).some((e) => e.path.includes('/busybox/manifests/latest'))).to.equal(true);
    expect(reads(originProxy, o).filter((e) => e.path.includes('/busybox/'))).to.deep.equal([]);
    expect(writes(originProxy, o).some((e) => e.method === 'PUT' && e.path.includes('/app/manifests/1'))).to.equal(true);
    expect(writes(mirrorProxy, m)).to.deep.equal([]);
  });

  it('falls back to the origin when the mirror is down', async () => {
    const down = `127.0.0.1:${await freePort()}`;
    const file = await config(`[registry."${originProxy.host}"]\nmirrors = ["${down}"]\n`);
    const o = originProxy.log.length;
    const r = await build(file);
    expect(r.code, r.stderr).to.equal(0);
    expect(reads(originProxy, o).some((e) => e.path.includes('/busybox/manifests/latest'))).to.equal(true);
  });

  it('falls back to the origin when the mirror lacks the image', async () => {
    const file = await config(`[registry."${originProxy.host}"]\nmirrors = ["${mirrorProxy.host}"]\n`);
    await publishBusybox(origin.host, 'only-origin');
    const [o, m] = [originProxy.log.length, mirrorProxy.log.length];
    await writeFile(join(ctx, 'Dockerfile.other'), `FROM ${originProxy.host}/only-origin:latest\n`);
    const r = await build(file, ['-f', join(ctx, 'Dockerfile.other')]);
    expect(r.code, r.stderr).to.equal(0);
    expect(reads(mirrorProxy, m).some((e) => e.path.includes('/only-origin/manifests/latest'))).to.equal(true);
    expect(reads(originProxy, o).some((e) => e.path.includes('/only-origin/manifests/latest'))).to.equal(true);
  });

  it('refuses a config file with bad TOML, naming file:line:column', async () => {
    const file = await config(`[registry."${originProxy.host}"]\nmirrors = ["a"\nhttp = true\n`);
    const r = await build(file);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain(`${file}:3:`);
  });

  it('refuses an unknown key instead of ignoring a typo', async () => {
    const file = await config(`[registry."${originProxy.host}"]\nmirror = ["${mirrorProxy.host}"]\n`);
    const r = await build(file);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('unknown key "mirror"');
  });
});
