import { expect } from 'chai';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { startFaultProxy, type FaultProxy } from '../fixtures/fault-proxy.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// `tsbuild push REF`: pushes an image built earlier in the root; `--plan` says per blob what the push would do;
// the push itself follows the plan and reports where it did otherwise. The registry is the real one, behind a proxy
// only so the test can change the registry's state between the plan and the push.

interface PlanJson {
  target: string;
  blobs: { digest: string; size: number; what: string; action: string; from?: string }[];
  totals: { exists: number; mount: number; upload: number; uploadBytes: number };
}
interface ComparisonJson { pushed: string; outcomes: { digest: string; outcome: string }[]; differences: { digest: string; planned: string; outcome?: string; reason: string }[] }

describe('tsbuild push REF (--plan)', function () {
  this.timeout(240_000);
  let env: BuildEnv | undefined;
  let proxy: FaultProxy | undefined;
  let dir: string;
  let root: string;
  let host: string;

  before(async () => {
    env = await startBuildEnv('tsbuild-pushcmd-');
    proxy = await startFaultProxy(env.registry.host);
    dir = env.dir;
    root = join(dir, 'root');
    host = proxy.host;
    const ctx = join(dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'a.txt'), 'pushed later\n');
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${host}/busybox:latest\nCOPY a.txt /a.txt\n`);
    const built = await tsbuild(['build', '--root', root, '--progress', 'plain', '-t', `${host}/built/app:1`, '--iidfile', join(dir, 'iid'), ctx]);
    expect(built.code, built.stderr).to.equal(0);
  });
  after(async () => {
    await proxy?.close();
    await env?.stop();
  });

  const push = (args: string[]) => tsbuild(['push', '--root', root, '--progress', 'plain', ...args]);
  const inspect = (ref: string) => run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${env?.registry.host ?? ''}/${ref}`]);

  it('prints the plan per blob, as text and JSON, and pushes nothing', async () => {
    const text = await push([`${host}/plan/app:1`, '--plan']);
    expect(text.code, text.stderr).to.equal(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).to.match(new RegExp(`^push plan for ${host}/plan/app:1 \\(build \\w+; nothing sent\\):$`));
    expect(lines.filter((l) => l.endsWith(`mountable from ${host}/busybox`))).to.have.length(1);
    expect(lines.filter((l) => / \d+ bytes to upload$/.test(l))).to.have.length(2);   // the config and the COPY layer
    expect(text.stdout).to.match(/total: 0 already there, 1 mountable, 2 to upload \(\d+ bytes\), then the manifest/);

    const json = await push([`${host}/plan/app:1`, '--plan', '--format', 'json']);
    expect(json.code, json.stderr).to.equal(0);
    const plan = JSON.parse(json.stdout) as PlanJson;
    expect(plan.target).to.equal(`${host}/plan/app:1`);
    expect(plan.totals).to.include({ exists: 0, mount: 1, upload: 2 });
    expect(plan.totals.uploadBytes).to.equal(plan.blobs.filter((b) => b.action === 'upload').reduce((n, b) => n + b.size, 0));
    expect((await inspect('plan/app:1')).code).to.not.equal(0);
  });

  it('pushes the last built image following the plan, and a re-push finds every blob there', async () => {
    const first = await push([`${host}/plan/app:1`]);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.match(/the push followed the plan \(0 already there, 1 mounted, 2 uploaded\)/);
    const manifest = JSON.parse((await inspect('plan/app:1')).stdout) as { config: { digest: string }; layers: Array<{ mediaType: string }> };
    expect(manifest.config.digest).to.equal((await readFile(join(dir, 'iid'), 'utf8')).trim());
    // The build had no output, so its COPY layer stayed a plain tar in the store: the push sends it gzipped.
    expect(manifest.layers.map((l) => l.mediaType)).to.satisfy((types: string[]) => types.length === 2 && types.every((t) => /gzip$/.test(t)));

    const again = await push([`${host}/plan/app:1`, '--format', 'json']);
    expect(again.code, again.stderr).to.equal(0);
    const comparison = JSON.parse(again.stdout) as ComparisonJson;
    expect(comparison.differences).to.deep.equal([]);
    expect(comparison.outcomes.map((o) => o.outcome)).to.deep.equal(['exists', 'exists', 'exists']);
  });

  it('reports the blob it had to upload when the mount source lost it between plan and push', async () => {
    const plan = JSON.parse((await push([`${host}/moved/app:1`, '--plan', '--format', 'json'])).stdout) as PlanJson;
    const base = plan.blobs.find((b) => b.action === 'mount');
    expect(base?.from).to.equal(`${host}/busybox`);
    // Between this push's plan and its mount request, the layer leaves the busybox repository (as a delete would
    // leave it): the real registry then refuses the mount and opens an ordinary upload.
    const link = join(env?.registry.dir ?? '', 'storage/docker/registry/v2/repositories/busybox/_layers/sha256', (base?.digest ?? '').slice(7));
    expect((await stat(link)).isDirectory()).to.equal(true);
    proxy?.add({ method: 'POST', path: /[?&]mount=/, times: 1, fault: { kind: 'before', action: () => rm(link, { recursive: true }) } });

    const pushed = await push([`${host}/moved/app:1`]);
    expect(pushed.code, pushed.stderr).to.equal(0);
    expect(pushed.stdout).to.contain('1 blob differed from the plan (0 already there, 0 mounted, 3 uploaded)');
    expect(pushed.stdout).to.contain(`layer  ${base?.digest.slice(0, 19) ?? ''}  planned mount from ${host}/busybox, uploaded instead: the registry refused the mount`);
    expect((await inspect('moved/app:1')).code).to.equal(0);
  });

  it('pushes the build named by --image-id, and says so when the root has no such image', async () => {
    const iid = (await readFile(join(dir, 'iid'), 'utf8')).trim();
    const byId = await push([`${host}/byid/app:1`, '--image-id', iid, '--plan']);
    expect(byId.code, byId.stderr).to.equal(0);
    const missing = await push([`${host}/byid/app:1`, '--image-id', 'sha256:0000000000000000000000000000000000000000000000000000000000000000']);
    expect(missing.code).to.not.equal(0);
    expect(missing.stderr).to.contain('no successful build');
    const empty = await tsbuild(['push', '--root', join(dir, 'empty-root'), `${host}/byid/app:1`]);
    expect(empty.code).to.not.equal(0);
    expect(empty.stderr).to.contain('no image built in');
  });
});
