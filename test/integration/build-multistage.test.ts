import { expect } from 'chai';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningRegistry } from '../fixtures/registry-server.js';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { PROJECT_ROOT, run, tsbuild } from '../fixtures/tsbuild-cli.js';

// Multi-stage builds with RUN through the native helper: the example the demo builds, a target stage, a stage the
// target does not need (and that would fail), and a failing RUN that points at its line.

describe('multi-stage builds with RUN', function () {
  this.timeout(180_000);
  let env: BuildEnv | undefined;
  let registry: RunningRegistry;
  let dir: string;

  before(async () => {
    env = await startBuildEnv('tsbuild-ms-');
    ({ registry, dir } = env);
  });
  after(async () => {
    await env?.stop();
  });

  const unpack = async (ref: string, name: string): Promise<string> => {
    const oci = join(dir, `oci-${name}`);
    const bundle = join(dir, `bundle-${name}`);
    expect((await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${oci}:x`])).code).to.equal(0);
    const r = await run('umoci', ['unpack', '--image', `${oci}:x`, bundle]);
    expect(r.code, r.stderr).to.equal(0);
    return join(bundle, 'rootfs');
  };

  it('builds examples/hello: a RUN in the build stage, its output copied into the final stage', async () => {
    const ref = `${registry.host}/hello:1`;
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--build-arg', `BASE=${registry.host}/busybox:latest`, '-t', ref, '--push', join(PROJECT_ROOT, 'examples/hello')]);
    expect(r.code, r.stderr).to.equal(0);
    const rootfs = await unpack(ref, 'hello');
    expect(await readFile(join(rootfs, 'app/greeting.txt'), 'utf8')).to.equal('Hello from tsbuild!\nbuilt at step RUN\n');
    expect(await readFile(join(rootfs, 'usr/local/bin/hello'), 'utf8')).to.contain('cat "$GREETING_FILE"');
    // The build stage's /out and /src never reach the final image.
    await readFile(join(rootfs, 'out/greeting.txt')).then(() => expect.fail('/out leaked from the build stage'), () => undefined);
  });

  it('builds only what --target needs and never touches an unused stage that would fail', async () => {
    const ctx = join(dir, 'target');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${registry.host}/busybox:latest AS base`,
      'RUN echo base > /base.txt',
      `FROM ${registry.host}/no-such-image:1 AS broken`,
      'RUN exit 1',
      'FROM base AS tool',
      'RUN echo tool > /tool.txt',
      'FROM broken',
      '',
    ].join('\n'));
    const out = join(dir, 'tool-fs');
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--target', 'tool', '-o', `type=local,dest=${out}`, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    expect(await readFile(join(out, 'base.txt'), 'utf8')).to.equal('base\n');
    expect(await readFile(join(out, 'tool.txt'), 'utf8')).to.equal('tool\n');
    expect(r.stderr).to.not.contain('no-such-image');
  });

  it('reports a failing RUN with its Dockerfile line, the exit code and the last output lines', async () => {
    const ctx = join(dir, 'failing');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${registry.host}/busybox:latest`,
      'RUN echo one',
      'RUN echo "about to fail" && exit 7',
      '',
    ].join('\n'));
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', ctx]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/Dockerfile:3/).and.to.contain('exit code: 7').and.to.contain('about to fail');
  });

  it('builds a COPY --chown user the image does not have as BuildKit does (0:0), warning with the name in the step\'s log', async () => {
    const ctx = join(dir, 'chown');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'f'), 'f\n');
    await writeFile(join(ctx, 'Dockerfile'), [`FROM ${registry.host}/busybox:latest`, 'COPY --chown=nosuchuser f /f', 'RUN test "$(stat -c %u:%g /f)" = 0:0', ''].join('\n'));
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', ctx]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain('warning: --chown=nosuchuser: user "nosuchuser" (not in /etc/passwd); owned by 0:0');
  });

  it('refuses RUN --security=insecure unless --allow security.insecure grants it', async () => {
    const ctx = join(dir, 'insecure');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), [`FROM ${registry.host}/busybox:latest`, 'RUN --security=insecure grep CapEff /proc/self/status > /caps', ''].join('\n'));
    const refused = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', ctx]);
    // The Dockerfile asks for what the command line did not grant: a failed build, as buildx's "failed to solve".
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain('security.insecure').and.to.contain('--allow security.insecure');
    const out = join(dir, 'insecure-fs');
    const granted = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--allow', 'security.insecure', '-o', `type=local,dest=${out}`, ctx]);
    expect(granted.code, granted.stderr).to.equal(0);
    // Privileged: every capability, unlike Docker's default set (0x00000000a80425fb).
    expect(await readFile(join(out, 'caps'), 'utf8')).to.not.contain('00000000a80425fb');
  });

  it('runs every step again with --no-cache, and only the named stage and what follows it with --no-cache-filter', async () => {
    const ctx = join(dir, 'nocache');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${registry.host}/busybox:latest AS deps`,
      'RUN echo deps > /deps.txt',
      `FROM ${registry.host}/busybox:latest AS app`,
      'RUN echo app > /app.txt',
      'COPY --from=deps /deps.txt /deps.txt',
      '',
    ].join('\n'));
    const build = async (extra: string[]) => {
      const meta = join(dir, 'nocache-meta.json');
      const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--metadata-file', meta, ...extra, '-o', `type=local,dest=${join(dir, 'nocache-out')}`, ctx]);
      expect(r.code, r.stderr).to.equal(0);
      const m = JSON.parse(await readFile(meta, 'utf8')) as { 'tsbuild.cache': { steps: number; cached: number }; 'tsbuild.transfer': { requests: Record<string, number> } };
      return { stderr: r.stderr, cache: m['tsbuild.cache'], requests: m['tsbuild.transfer'].requests };
    };
    await build([]);
    const again = await build([]);
    expect(again.cache.cached).to.equal(5);
    // The tag both stages start FROM is asked once (sent ahead of the compile, which takes that answer), nothing else.
    expect(Object.entries(again.requests).filter(([, n]) => n > 0)).to.deep.equal([['manifest-get', 1]]);
    const forced = await build(['--no-cache']);
    // Both stages start FROM the same image: that is one step, shared, so only four steps can run.
    expect(forced.stderr.match(/MISS --no-cache/g)).to.have.length(4);
    expect(forced.stderr).to.match(/RUN echo deps > \/deps.txt\n#\d+ MISS --no-cache/);
    const filtered = await build(['--no-cache-filter', 'app']);
    expect(filtered.stderr).to.match(/RUN echo deps > \/deps.txt\n#\d+ CACHED/);
    expect(filtered.stderr).to.match(/RUN echo app > \/app.txt\n#\d+ MISS --no-cache/);
    expect(filtered.stderr).to.match(/COPY --from=deps \/deps.txt \/deps.txt\n#\d+ MISS --no-cache/);
  });
});
