import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { TSBUILD, run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// What buildx CI scripts do that tsbuild once got wrong (found by an audit against buildx's sources): several
// secrets in one RUN, index annotations from docker/metadata-action, and its `cwd://` bake file.

interface Index { annotations?: Record<string, string>; manifests: { platform?: { os: string }; annotations?: Record<string, string> }[] }

describe('buildx CI scripts', function () {
  this.timeout(240_000);
  let env: BuildEnv;
  let root = '';
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };
  const rawIndex = async (ref: string): Promise<Index> => {
    const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
    expect(raw.code, raw.stderr).to.equal(0);
    return JSON.parse(raw.stdout) as Index;
  };

  before(async () => {
    env = await startBuildEnv('tsbuild-buildx-ci-');
    root = join(env.dir, 'root');
  });
  after(async () => { await env?.stop(); });

  describe('docker/actions-toolkit\'s probes of the buildx it drives', () => {
    it('answers `buildx` with no arguments with its help on stdout and status 0 (Buildx.isAvailable)', async () => {
      // buildx's root command prints its help and succeeds (commands/root.go, RunE); the toolkit counts any other
      // status as "no buildx": setup-buildx-action then downloads one, build-push-action stops.
      const r = ok(await tsbuild(['--root', root], { env: { TSBUILD_ROOT: root } }));
      expect(r.stdout).to.match(/^Usage: /);
      const bare = ok(await tsbuild([], { env: { TSBUILD_ROOT: root } }));
      expect(bare.stdout).to.contain('Commands:');
    });

    it('reports a buildx version that passes the toolkit\'s version gates for the flags tsbuild takes', async () => {
      // Buildx.parseVersion reads the first ` vX.Y.Z` of `buildx version`; build-push-action leaves --metadata-file
      // out below 0.6.0 (and with it the job's `digest` output), --attest below 0.10.0, --annotation below 0.12.0,
      // and fails `call:` below 0.15.0; bake-action refuses `vars:` below 0.31.0. tsbuild printed its own v0.1.0.
      const out = ok(await tsbuild(['version'], { env: { TSBUILD_ROOT: root } })).stdout;
      const parsed = /\sv?([0-9a-f]{7}|[0-9.]+)/.exec(out)?.[1] ?? '';
      const [major = 0, minor = 0] = parsed.split('.').map(Number);
      expect(major > 0 || minor >= 31, `parsed "${parsed}" from ${out}`).to.equal(true);
    });
  });

  describe('`docker buildx` with tsbuild as docker\'s buildx plugin (build-push-action\'s command lines)', () => {
    // docker/actions-toolkit runs `docker buildx ARGS` whenever a `docker` is on PATH (Buildx.getCommand); docker
    // reaches tsbuild only if it answers the plugin protocol (builder/docker-cli-plugin.ts).
    let dockerConfig = '';
    let ctx = '';
    const docker = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
      run('docker', args, { cwd: ctx, env: { DOCKER_CONFIG: dockerConfig, TSBUILD_ROOT: root, BUILDX_BUILDER: '', ...extra } });
    before(async () => {
      const probe = await run('docker', ['--version']).catch((err: unknown) => ({ code: -1, stdout: '', stderr: String(err) }));
      if (probe.code !== 0) throw new Error(`these tests drive tsbuild through the docker CLI, which did not run here: ${probe.stderr}`);
      dockerConfig = join(env.dir, 'docker-config');
      await mkdir(join(dockerConfig, 'cli-plugins'), { recursive: true });
      await symlink(TSBUILD, join(dockerConfig, 'cli-plugins', 'docker-buildx'));
      ctx = join(env.dir, 'plugin-ctx');
      await mkdir(ctx, { recursive: true });
      await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nARG REV\nRUN echo "$REV" > /rev.txt\n`);
    });

    it('answers the probes setup-buildx-action and build-push-action make: `docker buildx`, version, inspect', async () => {
      expect(ok(await docker(['buildx'])).stdout).to.match(/^Usage: /);
      expect(ok(await docker(['buildx', 'version'])).stdout).to.match(/^tsbuild v\d+\.\d+\.\d+/);
      // Builder.inspect runs it with DEBUG=1 and reads `Key: value` lines.
      const inspect = ok(await docker(['buildx', 'inspect'], { DEBUG: '1' })).stdout;
      expect(inspect).to.match(/^Name: +default\nDriver: +docker\n/);
      expect(inspect).to.contain(`Endpoint:         local://${root}`);
    });

    it('builds and pushes with build-push-action\'s flags; the metadata file names the pushed index', async () => {
      const ref = `${env.registry.host}/audit/plugin:main`;
      const iid = join(env.dir, 'plugin-iid.txt');
      const meta = join(env.dir, 'plugin-metadata.json');
      ok(await docker(['buildx', 'build', '--build-arg', 'REV=abc123', '--iidfile', iid,
        '--label', 'org.opencontainers.image.source=https://github.com/o/r',
        '--attest', 'type=provenance,mode=max,builder-id=https://github.com/o/r/actions/runs/1/attempts/1',
        '--tag', ref, '--metadata-file', meta, '--push', '.'], { BUILDX_METADATA_WARNINGS: 'true' }));
      const metadata = JSON.parse(await readFile(meta, 'utf8')) as Record<string, unknown>;
      const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
      expect(raw.code, raw.stderr).to.equal(0);
      // Build.resolveDigest reads containerimage.digest; the job's `digest` output is what a later step pulls by.
      expect(metadata['containerimage.digest']).to.equal(`sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`);
      expect(metadata['buildx.build.ref']).to.match(/^[^/]+\/[^/]+\/[0-9a-z]+$/);
      // The record's provenance names the builder the job gave, as BuildKit's recordBuildHistory takes builder-id.
      const recorded = metadata['buildx.build.provenance'] as { builder?: { id?: string } } | undefined;
      expect(recorded?.builder?.id).to.equal('https://github.com/o/r/actions/runs/1/attempts/1');
      expect(await readFile(iid, 'utf8')).to.match(/^sha256:[0-9a-f]{64}$/);
    });
  });

  it('gives each RUN --mount=type=secret its own secret when a step mounts several', async () => {
    // BuildKit mounts each secret id at its own target; tsbuild's mount planner copied every secret of a step into
    // the same scratch file (worker/exec/mount-plan.ts: secret() never advances the scratch counter), so all of
    // them read the last one.
    const ctx = join(env.dir, 'secrets');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base}`,
      'RUN --mount=type=secret,id=a --mount=type=secret,id=b cat /run/secrets/a /run/secrets/b > /out.txt',
      '',
    ].join('\n'));
    await writeFile(join(env.dir, 'b.txt'), 'from-file\n');
    const out = join(env.dir, 'secrets-out');
    ok(await tsbuild(['build', '--root', root, '--progress', 'plain', '--secret', 'id=a,env=AUDIT_SECRET_A',
      '--secret', `id=b,src=${join(env.dir, 'b.txt')}`, '-o', `type=local,dest=${out}`, '.'],
    { cwd: ctx, env: { AUDIT_SECRET_A: 'from-env\n' } }));
    expect(await readFile(join(out, 'out.txt'), 'utf8')).to.equal('from-env\nfrom-file\n');
  });

  describe('index and manifest-descriptor annotations on a pushed image index', () => {
    let ctx = '';
    before(async () => {
      ctx = join(env.dir, 'annotations');
      await mkdir(ctx, { recursive: true });
      await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nRUN echo hi > /hi.txt\n`);
    });

    it('puts --annotation index:K=V on the index a push with default provenance writes (docker/metadata-action annotations)', async () => {
      const ref = `${env.registry.host}/audit/annotations:flag`;
      ok(await tsbuild(['build', '--root', root, '--progress', 'plain', '-t', ref, '--push',
        '--annotation', 'index:org.opencontainers.image.revision=abc', '--annotation', 'manifest-descriptor:audit.md=1', '.'], { cwd: ctx }));
      const index = await rawIndex(ref);
      expect(index.annotations ?? {}).to.deep.include({ 'org.opencontainers.image.revision': 'abc' });
      const image = index.manifests.find((m) => m.platform?.os === 'linux');
      expect(image?.annotations ?? {}).to.deep.include({ 'audit.md': '1' });
    });

    it('puts -o annotation-index.K=V on the pushed index', async () => {
      const ref = `${env.registry.host}/audit/annotations:attr`;
      ok(await tsbuild(['build', '--root', root, '--progress', 'plain',
        '-o', `type=image,name=${ref},push=true,annotation-index.audit.idx=yes`, '.'], { cwd: ctx }));
      expect((await rawIndex(ref)).annotations ?? {}).to.deep.include({ 'audit.idx': 'yes' });
    });
  });

  it('reads a bake file given as -f cwd://FILE (docker/metadata-action bake-file output)', async () => {
    const ctx = join(env.dir, 'bake');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\n`);
    await writeFile(join(ctx, 'docker-bake.hcl'), 'target "docker-metadata-action" {}\ntarget "build" {\n  inherits = ["docker-metadata-action"]\n}\n');
    await writeFile(join(ctx, 'meta.json'), JSON.stringify({ target: { 'docker-metadata-action': { tags: ['audit/app:main'] } } }));
    const r = ok(await tsbuild(['bake', '--root', root, '-f', './docker-bake.hcl', '-f', `cwd://${join(ctx, 'meta.json')}`, 'build', '--print'], { cwd: ctx }));
    expect((JSON.parse(r.stdout) as { target: Record<string, { tags?: string[] }> }).target.build?.tags).to.deep.equal(['audit/app:main']);
  });
});
