import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { git, serveGitHttp, type GitHttpServer } from '../fixtures/git-http-server.js';
import { packTar } from '../fixtures/pack-tar.js';
import { run, tsbuild, type CliResult, type RunOptions } from '../fixtures/tsbuild-cli.js';
import { writeFiles } from '../fixtures/write-files.js';

// docker/buildx's own CLI tests of `buildx build` (tests/build.go), run against `tsbuild build`: each `it` is named
// after the Go function(s) it ports, with buildx's flags, Dockerfiles and assertions. One registry, one root, one
// buildx config dir; cases share builds where buildx's assertions allow. The ledger is test/compat/buildx-parity/build.md.

interface Descriptor { mediaType: string; digest: string; size: number; annotations?: Record<string, string>; platform?: { os: string; architecture: string } }
interface Index { manifests: Descriptor[]; annotations?: Record<string, string> }
interface Manifest { layers: Descriptor[]; annotations?: Record<string, string>; subject?: Descriptor }
type Metadata = Record<string, unknown>;

/** buildx's createTestProject (tests/build.go), FROM the test registry's busybox. */
const projectDockerfile = (base: string): string => `
FROM ${base} AS base
COPY foo /etc/foo
RUN cp /etc/foo /etc/bar

FROM scratch
COPY --from=base /etc/bar /bar
`;

/** buildx's lint case: three findings (two FromAsCasing, one ConsistentInstructionCasing). */
const LINT_DOCKERFILE = (base: string): string => `
frOM ${base} as base
cOpy Dockerfile .
from scratch
COPy --from=base \\
  /Dockerfile \\
  /
\t`;

describe('buildx parity: tests/build.go', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  let root = '';
  let config = '';
  let n = 0;
  /** `tsbuild ARGS` on the suite's root, with the suite's buildx config dir (BUILDX_CONFIG). */
  const tsb = (args: string[], opts: RunOptions = {}): Promise<CliResult> =>
    tsbuild([...args, '--root', root], { ...opts, env: { BUILDX_CONFIG: config, BUILDX_METADATA_PROVENANCE: '', BUILDX_METADATA_WARNINGS: '', ...opts.env } });
  /** buildx's buildCmd: `build --progress=quiet ARGS`. */
  const buildCmd = (args: string[], opts: RunOptions = {}): Promise<CliResult> => tsb(['build', '--progress=quiet', ...args], opts);
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };
  const failed = (r: CliResult): CliResult => { expect(r.code, r.stdout).not.to.equal(0); return r; };
  /** A fresh directory holding `files`. */
  const tmpdir = (files: Record<string, string>): Promise<string> => writeFiles(join(env.dir, `t${++n}`), files, { mode: 0o600 });
  const createTestProject = (): Promise<string> => tmpdir({ Dockerfile: projectDockerfile(env.base), foo: 'foo' });
  const readJson = async <T>(file: string): Promise<T> => JSON.parse(await readFile(file, 'utf8')) as T;
  /** One file of a tar (gzip or not), as `tar -xOf` prints it. */
  const fileInTar = async (tar: string, name: string): Promise<string> => ok(await run('tar', ['-xOf', tar, name])).stdout;
  /** A document of the test registry, as `tsbuild imagetools inspect --raw` prints it (buildx's requireLegacyAttestationStorage). */
  const rawOf = async <T>(ref: string): Promise<T> => JSON.parse(ok(await tsb(['imagetools', 'inspect', ref, '--raw'])).stdout) as T;
  /** A blob of the test registry, saved to a file. */
  const blobFile = async (repo: string, digest: string): Promise<string> => {
    const res = await fetch(`http://${env.registry.host}/v2/${repo}/blobs/${digest}`);
    expect(res.status).to.equal(200);
    const file = join(env.dir, `blob-${++n}`);
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    return file;
  };
  /** The build's local state as buildx's localstate.ReadRef finds it from `buildx.build.ref`. */
  const localStateOf = async (mdFile: string): Promise<{ Target: string; LocalPath: string; DockerfilePath: string }> => {
    const ref = (await readJson<Metadata>(mdFile))['buildx.build.ref'];
    expect(ref).to.be.a('string');
    const parts = String(ref).split('/');
    expect(parts).to.have.length(3);
    return readJson(join(config, 'refs', ...parts));
  };

  before(async () => {
    env = await startBuildEnv('tsbuild-buildx-parity-build-');
    root = join(env.dir, 'root');
    config = join(env.dir, 'buildx-config');
  });
  after(async () => { await env?.stop(); });

  describe('building and exporting', () => {
    it('testBuild, testBuildLocalExport: a build, and -o type=local writes its files', async () => {
      const dir = await createTestProject();
      ok(await buildCmd([dir]));
      ok(await buildCmd([`--output=type=local,dest=${dir}/result`, dir]));
      expect(await readFile(join(dir, 'result', 'bar'), 'utf8')).to.equal('foo');
    });

    it('testBuildAlias: `b` is build', async () => {
      const dir = await createTestProject();
      ok(await tsb(['b', dir], { cwd: dir }));
    });

    it('testBuildStdin, testBuildTarExport: -f- reads the Dockerfile from stdin; -o type=tar writes the files as a tar', async () => {
      const dir = await tmpdir({ foo: 'foo' });
      ok(await tsb(['build', '--progress=quiet', '-f-', `--output=type=tar,dest=${dir}/out/result.tar`, dir], { cwd: dir, input: projectDockerfile(env.base) }));
      expect(await fileInTar(join(dir, 'out', 'result.tar'), 'bar')).to.equal('foo');
    });

    it('testBuildRegistryExport, testBuildRegistryExportAttestations, testBuildAnnotations: a pushed image, its provenance and its annotations', async () => {
      const dir = await createTestProject();
      const target = `${env.registry.host}/buildx/registry:latest`;
      ok(await buildCmd(['--annotation', 'example1=www', '--annotation', 'index:example2=xxx', '--annotation', 'manifest:example3=yyy',
        '--annotation', 'manifest-descriptor[linux/amd64]:example4=zzz', `--output=type=image,name=${target},push=true`, '--provenance=true', dir]));
      const index = await rawOf<Index>(target);
      expect(index.annotations?.['example2']).to.equal('xxx');
      const image = index.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64');
      expect(image?.annotations?.['example4']).to.equal('zzz');
      const manifest = await rawOf<Manifest>(`${target}@${image?.digest}`);
      expect(manifest.annotations).to.deep.include({ example1: 'www', example3: 'yyy' });
      expect(manifest.layers).to.have.length(1);
      expect(await fileInTar(await blobFile('buildx/registry', manifest.layers[0]?.digest ?? ''), 'bar')).to.equal('foo');
      const att = index.manifests.find((m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest');
      expect(att?.annotations?.['vnd.docker.reference.digest']).to.equal(image?.digest);
      expect((await rawOf<Manifest>(`${target}@${att?.digest}`)).layers).to.have.length(1);
    });

    it('testBuildRegistryExportNoDefaultOCIArtifact: BUILDX_NO_DEFAULT_OCI_ARTIFACT=true pushes attestation manifests without a subject', async () => {
      const dir = await createTestProject();
      const target = `${env.registry.host}/buildx/registry-no-default-oci-artifact:latest`;
      ok(await buildCmd([`--output=type=image,name=${target},push=true`, '--provenance=true', dir], { env: { BUILDX_NO_DEFAULT_OCI_ARTIFACT: 'true' } }));
      const index = await rawOf<Index>(target);
      const att = index.manifests.find((m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest');
      expect(att?.digest).to.be.a('string');
      const manifest = await rawOf<Manifest>(`${target}@${att?.digest}`);
      expect(manifest.subject).to.equal(undefined);
      expect(manifest.layers).not.to.be.empty;
    });

    it('testImageIDOutput: -q prints the image id, --iidfile holds it, and it is the metadata\'s config digest', async () => {
      const dir = await tmpdir({ Dockerfile: `FROM ${env.base}` });
      const out = await tmpdir({});
      const r = ok(await tsb(['build', '-q', '--provenance', 'false', `--output=type=docker,dest=${out}/image.tar`, '--iidfile', join(out, 'iid.txt'), '--metadata-file', join(out, 'md.json'), dir]));
      const iid = await readFile(join(out, 'iid.txt'), 'utf8');
      expect(iid).to.match(/^sha256:[0-9a-f]{64}$/);
      expect(r.stdout.trim()).to.equal(iid);
      const md = await readJson<Metadata>(join(out, 'md.json'));
      expect(md['containerimage.digest']).to.be.a('string').and.not.be.empty;
      expect([md['containerimage.config.digest'], md['containerimage.digest']]).to.include(iid);
    });

    it('testBuildMultiPlatform, testBuildMetadataProvenanceMultiplatform: two platforms pushed, a provenance per platform in the metadata', async () => {
      const dir = await tmpdir({ foo: 'foo', Dockerfile: `
	FROM --platform=$BUILDPLATFORM ${env.base} AS base
	COPY foo /etc/foo
	RUN cp /etc/foo /etc/bar

	FROM scratch
	COPY --from=base /etc/bar /bar
	` });
      const target = `${env.registry.host}/buildx/registry:multi`;
      for (const mode of ['', 'max', 'min', 'disabled']) {
        const md = join(dir, `md${mode}.json`);
        ok(await tsb(['build', '--platform=linux/amd64,linux/arm64', '--metadata-file', md, `--output=type=image,name=${target},push=true`, dir], { env: { BUILDX_METADATA_PROVENANCE: mode } }));
        const meta = await readJson<Metadata>(md);
        expect(meta['buildx.build.ref']).to.be.a('string').and.not.be.empty;
        for (const p of ['linux/amd64', 'linux/arm64']) {
          const prov = meta[`buildx.build.provenance/${p}`] as { buildType?: string } | undefined;
          if (mode === 'disabled') expect(prov, `${mode} ${p}`).to.equal(undefined);
          else expect(prov?.buildType, `${mode} ${p}`).to.equal('https://mobyproject.org/buildkit@v1');
        }
      }
      const platforms = (await rawOf<Index>(target)).manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`);
      expect(platforms).to.include.members(['linux/amd64', 'linux/arm64']);
    });

    it('testBuildMultiExporters: one build pushed and written as an OCI layout (the docker store left out: no daemon here)', async () => {
      const dir = await createTestProject();
      const target = `${env.registry.host}/buildx/registry:multi-exporters`;
      ok(await tsb(['build', '--output', `type=image,name=${target},push=true`, '--output', `type=oci,dest=${dir}/result`, dir]));
      expect((await rawOf<Index>(target)).manifests).not.to.be.empty;
      expect(await fileInTar(join(dir, 'result'), 'index.json')).to.contain('"manifests"');
    });

    it('testBuildMetadataProvenance: the provenance in the metadata of a docker export, per BUILDX_METADATA_PROVENANCE', async () => {
      const dir = await createTestProject();
      for (const mode of ['', 'max', 'min', 'disabled']) {
        const md = join(dir, `md${mode}.json`);
        ok(await tsb(['build', `--output=type=docker,dest=${dir}/image.tar`, '--metadata-file', md, dir], { env: { BUILDX_METADATA_PROVENANCE: mode } }));
        const meta = await readJson<Metadata>(md);
        expect(meta['buildx.build.ref']).to.be.a('string').and.not.be.empty;
        const prov = meta['buildx.build.provenance'] as { buildType?: string } | undefined;
        if (mode === 'disabled') expect(prov).to.equal(undefined);
        else expect(prov?.buildType, mode).to.equal('https://mobyproject.org/buildkit@v1');
      }
    });

    it('testBuildMetadataWarnings: the lint warnings in the metadata with BUILDX_METADATA_WARNINGS=true only', async () => {
      const dir = await tmpdir({ Dockerfile: LINT_DOCKERFILE(env.base) });
      for (const mode of ['', 'true', 'false']) {
        const md = join(dir, `md${mode}.json`);
        ok(await tsb(['build', '--metadata-file', md, dir], { env: { BUILDX_METADATA_WARNINGS: mode } }));
        const meta = await readJson<Metadata>(md);
        expect(meta['buildx.build.ref']).to.be.a('string').and.not.be.empty;
        expect((meta['buildx.build.warnings'] as unknown[] | undefined) ?? [], mode).to.have.length(mode === 'true' ? 3 : 0);
      }
    });

    it('testBuildLocalExportDeleteMode: mode=delete removes stale files, without --allow only in a subdirectory of the working directory', async () => {
      const needsAllow = 'local output mode=delete for destination';
      // requires allow for current working directory
      let dir = await createTestProject();
      expect(failed(await buildCmd(['--output=type=local,dest=.,mode=delete', '.'], { cwd: dir })).stderr).to.contain(`${needsAllow} "."`).and.contain('--allow=buildx.local.delete');
      // requires allow for outside destination
      const outside = join(await tmpdir({}), 'out');
      expect(failed(await buildCmd([`--output=type=local,dest=${outside},mode=delete`, '.'], { cwd: dir })).stderr).to.contain('--allow=buildx.local.delete');
      // requires allow for symlink outside destination (nothing was written through it)
      await symlink(await tmpdir({}), join(dir, 'out'));
      expect(failed(await buildCmd(['--output=type=local,dest=out,mode=delete', '.'], { cwd: dir })).stderr).to.contain('--allow=buildx.local.delete');
      // allow does not accept value
      expect(failed(await buildCmd(['--allow=buildx.local.delete=true', '--output=type=local,dest=out2', '.'], { cwd: dir })).stderr).to.contain('buildx.local.delete does not accept a value');
      // an unknown mode, in ParseLocalExporterMode's words
      expect(failed(await buildCmd(['--output=type=local,dest=out2,mode=mirror', '.'], { cwd: dir })).stderr).to.contain('invalid local exporter mode "mirror"');
      // deletes stale files in subdirectory without allow (the mode trimmed and in any case, as BuildKit reads it)
      dir = await createTestProject();
      await mkdir(join(dir, 'out', 'olddir', 'sub'), { recursive: true });
      await writeFile(join(dir, 'out', 'stale'), 'stale', { mode: 0o600 });
      await writeFile(join(dir, 'out', 'olddir', 'sub', 'f'), 'stale');
      ok(await buildCmd(['--output=type=local,dest=out,mode= Delete ', '.'], { cwd: dir }));
      expect(await readdir(join(dir, 'out'))).to.deep.equal(['bar']);
      // mode=copy (the default) keeps them
      await writeFile(join(dir, 'out', 'stale'), 'stale');
      ok(await buildCmd(['--output=type=local,dest=out,mode=copy', '.'], { cwd: dir }));
      expect((await readdir(join(dir, 'out'))).sort()).to.deep.equal(['bar', 'stale']);
      // allow permits current working directory
      dir = await createTestProject();
      await writeFile(join(dir, 'stale'), 'stale', { mode: 0o600 });
      ok(await buildCmd(['--allow=buildx.local.delete', '--output=type=local,dest=.,mode=delete', '.'], { cwd: dir }));
      expect(await readdir(dir)).to.deep.equal(['bar']);
    });

    it('testBuildIndexAnnotationsLoadDocker: an index annotation on a single-platform docker export is refused', async () => {
      const dir = await createTestProject();
      const r = failed(await buildCmd(['--annotation', 'index:foo=bar', '--provenance', 'false', '--output', `type=docker,dest=${dir}/image.tar`, dir]));
      expect(r.stderr).to.contain('index annotations not supported for single platform export');
    });
  });

  describe('the local state of a build', () => {
    it('testBuildLocalState: buildx.build.ref names the context and the Dockerfile, made absolute', async () => {
      const dir = await tmpdir({ 'build.Dockerfile': projectDockerfile(env.base), foo: 'foo' });
      ok(await buildCmd(['-f', 'build.Dockerfile', '--metadata-file', join(dir, 'md.json'), '.'], { cwd: dir }));
      const state = await localStateOf(join(dir, 'md.json'));
      expect(state.LocalPath).to.equal(dir);
      expect(state.DockerfilePath).to.equal(join(dir, 'build.Dockerfile'));
    });

    it('testBuildLocalStateStdin: a Dockerfile from stdin is "-"', async () => {
      const dir = await tmpdir({ foo: 'foo' });
      ok(await tsb(['build', '--progress=quiet', '--metadata-file', join(dir, 'md.json'), '-f-', dir], { cwd: dir, input: projectDockerfile(env.base) }));
      const state = await localStateOf(join(dir, 'md.json'));
      expect(state.LocalPath).to.equal(dir);
      expect(state.DockerfilePath).to.equal('-');
    });
  });

  describe('remote contexts (a dumb-HTTP git server, as buildx\'s GitServeHTTP)', () => {
    let repo = '';
    let server: GitHttpServer | undefined;
    let authed: GitHttpServer | undefined;
    const token = createHash('sha256').update(String(Date.now())).digest('hex').slice(0, 20);
    before(async () => {
      repo = await tmpdir({ Dockerfile: `\nFROM ${env.base}\nCOPY foo /foo\n`, 'build.Dockerfile': `\nFROM ${env.base}\nCOPY foo /foo\n`, foo: 'foo' });
      await git(repo, 'init', '-q', '-b', 'main');
      await git(repo, 'add', 'Dockerfile', 'build.Dockerfile', 'foo');
      await git(repo, 'commit', '-q', '-m', 'initial commit');
      await git(repo, 'tag', 'v0.1.0');
      // buildx's "tag ref with query string frontend 1.17 / 1.18.0" cases: the same Dockerfile under a # syntax line.
      for (const syntax of ['docker/dockerfile:1.17', 'docker/dockerfile-upstream:1.18.0']) {
        await writeFile(join(repo, 'Dockerfile'), `\n# syntax=${syntax}\nFROM ${env.base}\nCOPY foo /foo\n`);
        await git(repo, 'commit', '-q', '-am', syntax);
        await git(repo, 'tag', `v0.1.0-${syntax.split(':')[1] ?? ''}`);
      }
      server = await serveGitHttp(repo);
      authed = await serveGitHttp(repo, { token });
    });
    after(async () => { await server?.stop(); await authed?.stop(); });

    it('testBuildRemote: the default branch, a tag as #fragment and as ?tag= (with # syntax= lines too)', async () => {
      for (const suffix of ['', '#v0.1.0', '?tag=v0.1.0', '?tag=v0.1.0-1.17', '?tag=v0.1.0-1.18.0']) {
        const dest = await tmpdir({});
        ok(await buildCmd([`--output=type=local,dest=${dest}`, `${server?.url}${suffix}`], { cwd: repo }));
        expect(await readFile(join(dest, 'foo'), 'utf8'), suffix).to.equal('foo');
      }
    });

    it('testBuildRemoteAuth: --secret id=GIT_AUTH_TOKEN authenticates the fetch', async () => {
      const dest = await tmpdir({});
      ok(await buildCmd(['--secret', 'id=GIT_AUTH_TOKEN,env=GIT_AUTH_TOKEN', `--output=type=local,dest=${dest}`, authed?.url ?? ''], { cwd: repo, env: { GIT_AUTH_TOKEN: token } }));
      expect(await readFile(join(dest, 'foo'), 'utf8')).to.equal('foo');
    });

    it('ADD <http git url> in a Dockerfile authenticates with --secret id=GIT_AUTH_TOKEN too, as BuildKit\'s git source', async () => {
      // BuildKit's git source reads the session's GIT_AUTH_* secrets whoever asked for the source (source/git/
      // source.go, authSecretNames); without them the private repository cannot be read.
      // A server of its own: the fixture stops asking once a request has passed (as GitServeHTTP's WithAccessToken).
      const own = await serveGitHttp(repo, { token });
      try {
        const ctx = await tmpdir({ Dockerfile: `FROM scratch\nADD ${own.url}#main /src\n` });
        const refused = await buildCmd([`--output=type=local,dest=${await tmpdir({})}`, ctx]);
        expect(refused.code, refused.stderr).to.not.equal(0);
        const dest = await tmpdir({});
        ok(await buildCmd(['--secret', 'id=GIT_AUTH_TOKEN,env=GIT_AUTH_TOKEN', `--output=type=local,dest=${dest}`, ctx], { env: { GIT_AUTH_TOKEN: token } }));
        expect(await readFile(join(dest, 'src', 'foo'), 'utf8')).to.equal('foo');
      } finally {
        await own.stop();
      }
    });

    it('testBuildLocalStateRemote: a remote context is its URL, -f as given', async () => {
      const dest = await tmpdir({});
      ok(await buildCmd(['-f', 'build.Dockerfile', '--metadata-file', join(dest, 'md.json'), '--output', `type=local,dest=${dest}`, server?.url ?? ''], { cwd: repo }));
      expect(await readFile(join(dest, 'foo'), 'utf8')).to.equal('foo');
      const state = await localStateOf(join(dest, 'md.json'));
      expect(state.LocalPath).to.equal(server?.url);
      expect(state.DockerfilePath).to.equal('build.Dockerfile');
    });
  });

  it('testBuildNamedContextOCILayoutDigestOnly: --build-context NAME=oci-layout://DIR@DIGEST', async () => {
    const dir = await tmpdir({ Dockerfile: '\nFROM scratch\nCOPY --from=proxy /foo /foo\n' });
    const layout = join(dir, 'layout');
    await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
    const put = async (bytes: Buffer): Promise<string> => {
      const hex = createHash('sha256').update(bytes).digest('hex');
      await writeFile(join(layout, 'blobs', 'sha256', hex), bytes);
      return `sha256:${hex}`;
    };
    const layer = await packTar([{ name: 'foo', mode: 0o644, content: 'from-oci-layout' }]);
    const layerDigest = await put(layer);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { WorkingDir: '/' }, rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await put(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    }));
    const manifestDigest = await put(manifest);
    await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }));
    const dest = await tmpdir({});
    ok(await buildCmd(['--build-context', `proxy=oci-layout://layout@${manifestDigest}`, `--output=type=local,dest=${dest}`, dir], { cwd: dir }));
    expect(await readFile(join(dest, 'foo'), 'utf8')).to.equal('from-oci-layout');
  });

  describe('flags', () => {
    it('testBuildBuildArgNoKey, testBuildLabelNoKey: an empty key is refused in buildx\'s words', async () => {
      const dir = await createTestProject();
      for (const flag of ['--build-arg', '--label']) {
        const r = failed(await tsb(['build', flag, '=TEST_STRING', dir]));
        expect(r.stderr.split('\n')[0]).to.equal('ERROR: invalid key-value pair "=TEST_STRING": empty key');
      }
    });

    it('testBuildBuildKitSyntaxEmpty: --build-arg BUILDKIT_SYNTAX= is refused', async () => {
      const dir = await createTestProject();
      const r = failed(await tsb(['build', '--build-arg', 'BUILDKIT_SYNTAX=', dir]));
      expect(r.stderr).to.contain('empty BUILDKIT_SYNTAX build-arg is invalid, use --build-arg BUILDKIT_SYNTAX without \'=\' for optional behavior');
    });

    it('testBuildTargetPlatformOSVersion: --platform windows(10.0.17763)/amd64 sets TARGETPLATFORM and TARGETOSVERSION', async () => {
      const dir = await tmpdir({ Dockerfile: `
FROM --platform=$BUILDPLATFORM ${env.base}
ARG TARGETPLATFORM
ARG TARGETOSVERSION
RUN test "$TARGETPLATFORM" = "windows(10.0.17763)/amd64"
RUN test "$TARGETOSVERSION" = "10.0.17763"
` });
      ok(await buildCmd(['--platform=windows(10.0.17763)/amd64', '--output=type=cacheonly', dir]));
    });

    it('testDockerHostGateway: --add-host NAME:host-gateway is refused without a docker daemon', async () => {
      const dir = await tmpdir({ Dockerfile: `\nFROM ${env.base}\nRUN ping -c 1 buildx.host-gateway-ip.local\n` });
      const r = failed(await tsb(['build', '--add-host=buildx.host-gateway-ip.local:host-gateway', '--output=type=cacheonly', dir]));
      expect(r.stderr).to.contain('host-gateway is not supported');
    });

    it('testBuildShmSize, testBuildUlimit, testBuildExtraHosts, testBuildSecret: RUN\'s /dev/shm, limits, hosts and secrets', async () => {
      // buildx's four Dockerfiles as one: a stage per RUN of theirs, the files copied out as each test reads them.
      const dir = await tmpdir({ tokenfile: 'abcd1234', Dockerfile: `
FROM ${env.base} AS build
RUN mount | grep /dev/shm > /shmsize
RUN ulimit -n > first > /ulimit
RUN cat /etc/hosts | grep myhost | grep 1.2.3.4
RUN cat /etc/hosts | grep myhostmulti | grep 162.242.195.81
RUN cat /etc/hosts | grep myhostmulti | grep 162.242.195.82
RUN --mount=type=secret,id=token cat /run/secrets/token | tee /token
FROM scratch
COPY --from=build /shmsize /ulimit /token /
` });
      const flags = ['--shm-size=128m', '--ulimit=nofile=1024:1024', '--add-host=myhost=1.2.3.4', '--add-host=myhostmulti=162.242.195.81', '--add-host=myhostmulti=162.242.195.82'];
      ok(await tsb(['build', ...flags, '--secret=id=token,env=TOKEN', `--output=type=local,dest=${dir}/env`, dir], { env: { TOKEN: 'abcd1234' } }));
      expect(await readFile(join(dir, 'env', 'shmsize'), 'utf8')).to.contain('size=131072k');
      expect(await readFile(join(dir, 'env', 'ulimit'), 'utf8')).to.contain('1024');
      expect(await readFile(join(dir, 'env', 'token'), 'utf8')).to.equal('abcd1234');
      ok(await tsb(['build', ...flags, `--secret=id=token,src=${join(dir, 'tokenfile')}`, `--output=type=local,dest=${dir}/file`, dir]));
      expect(await readFile(join(dir, 'file', 'token'), 'utf8')).to.equal('abcd1234');
    });
  });

  describe('--call', () => {
    it('testBuildCall check, check metadata: three lint findings as JSON, the status says so, the metadata has result.json and no ref', async () => {
      const dir = await tmpdir({ Dockerfile: LINT_DOCKERFILE('busybox') });
      const r = failed(await tsb(['build', '--call=check,format=json', '--metadata-file', join(dir, 'md.json'), dir]));
      expect((JSON.parse(r.stdout) as { warnings: unknown[] }).warnings).to.have.length(3);
      const md = await readJson<Metadata>(join(dir, 'md.json'));
      expect(md['buildx.build.ref'] ?? '').to.equal('');
      expect((md['result.json'] as { warnings: unknown[] }).warnings).to.have.length(3);
    });

    it('testBuildCall outline, outline-quiet-output: the target\'s args, secrets and SSH; -q prints what --progress=none does', async () => {
      const dir = await tmpdir({ Dockerfile: `
FROM busybox AS first
RUN --mount=type=secret,target=/etc/passwd,required=true --mount=type=ssh true

FROM alpine AS second
RUN --mount=type=secret,id=unused --mount=type=ssh,id=ssh2 true

FROM scratch AS third
ARG BAR
RUN --mount=type=secret,id=second\${BAR} true

FROM third AS target
COPY --from=first /foo /
RUN --mount=type=ssh,id=ssh3,required true

FROM second
	` });
      const r = ok(await tsb(['build', '--build-arg=BAR=678', '--target=target', '--call=outline,format=json', dir]));
      const res = JSON.parse(r.stdout) as { name: string; args: { name: string; value: string }[]; secrets: { name: string; required?: boolean }[]; ssh: { name: string; required?: boolean }[]; sources: unknown[] };
      expect(res.name).to.equal('target');
      expect(res.args.map((a) => [a.name, a.value])).to.deep.equal([['BAR', '678']]);
      expect(res.secrets.map((s) => [s.name, s.required ?? false])).to.deep.equal([['passwd', true], ['second678', false]]);
      expect(res.ssh.map((s) => [s.name, s.required ?? false])).to.deep.equal([['default', false], ['ssh3', true]]);
      expect(res.sources).to.have.length(1);
      const quiet = await tmpdir({ Dockerfile: '\nFROM busybox\nARG FOO=bar\n' });
      const q = ok(await tsb(['build', '-q', '--call=outline', quiet])).stdout;
      expect(q).to.equal(ok(await tsb(['build', '--progress=none', '--call=outline', quiet])).stdout);
      expect(q.startsWith('\n')).to.equal(false);
    });

    it('testBuildCall targets: the stages, their descriptions, bases and the default', async () => {
      const dir = await tmpdir({ Dockerfile: `
# build defines stage for compiling the binary
FROM alpine AS build
RUN true

FROM busybox as second
RUN false

FROM alpine
RUN false

# binary returns the compiled binary
FROM second AS binary
	` });
      const res = JSON.parse(ok(await tsb(['build', '--call=targets,format=json', dir])).stdout) as { targets: { name?: string; description?: string; base?: string; default?: boolean }[]; sources: unknown[] };
      expect(res.targets.map((t) => [t.name ?? '', t.description ?? '', t.base, t.default ?? false])).to.deep.equal([
        ['build', 'defines stage for compiling the binary', 'alpine', false],
        ['second', '', 'busybox', false],
        ['', '', 'alpine', false],
        ['binary', 'returns the compiled binary', 'second', true],
      ]);
      expect(res.sources).to.have.length(1);
    });

    it('testBuildCheckCallOutput: the count of findings, and each finding at the Dockerfile\'s path and line', async () => {
      const cases: [string, string, boolean][] = [
        ['\nFROM busybox AS base\nCOPY Dockerfile .\n\t', 'Check complete, no warnings found.', true],
        ['\nFROM busybox as base\nCOPY Dockerfile .\n\t', 'Check complete, 1 warning has been found!', false],
        ['\nfrOM busybox as base\ncOpy Dockerfile .\n\t', 'Check complete, 2 warnings have been found!', false],
      ];
      for (const [dockerfile, summary, isClean] of cases) {
        const r = await tsb(['build', '--call=check', await tmpdir({ Dockerfile: dockerfile })]);
        expect(r.code === 0, r.stderr).to.equal(isClean);
        expect(r.stdout).to.contain(summary);
      }
      const dir = await tmpdir({ 'subdir/Dockerfile': '\nfrOM busybox as base\ncOpy Dockerfile .\n\t' });
      const path = join(dir, 'subdir', 'Dockerfile');
      const r = failed(await tsb(['build', '--call=check', '-f', path, dir]));
      expect(r.stdout).to.contain('Check complete, 2 warnings have been found!').and.contain(`${path}:2`).and.contain(`${path}:3`);
    });
  });
});
