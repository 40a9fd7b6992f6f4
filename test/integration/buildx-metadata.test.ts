import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, TSBUILD, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// `--metadata-file` as CI scripts written for buildx read it (docker/buildx commands/build.go, build/provenance.go):
// `buildx.build.provenance` (BUILDX_METADATA_PROVENANCE=min|max|disabled, min by default), `buildx.build.warnings`
// (BUILDX_METADATA_WARNINGS=1), the exporters' `containerimage.*` keys per output type, and buildx's `-D`. Real
// builds, the real registry, skopeo for what the registry holds.

type Metadata = Record<string, unknown> & {
  'buildx.build.ref': string;
  'containerimage.digest'?: string;
  'containerimage.config.digest'?: string;
  'containerimage.descriptor'?: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> };
  'image.name'?: string;
};
interface Predicate { buildType: string; invocation: { parameters: { args: Record<string, string> } }; materials: { uri: string }[]; buildConfig?: unknown; metadata?: unknown }
interface Warning { level: number; short: string; detail: string[]; url?: string; sourceInfo: { filename: string; data: string; language: string }; range: { start: { line: number } }[] }

const BUILDKIT_BUILD_TYPE = 'https://mobyproject.org/buildkit@v1';
const EPOCH = '1700000000';
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

describe('buildx --metadata-file keys and -D', function () {
  this.timeout(240_000);
  let env: BuildEnv;
  let ctx = '';
  let multiCtx = '';
  let n = 0;
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };
  /** A build with --metadata-file; the file's text and its parsed object. */
  const build = async (args: string[], vars: NodeJS.ProcessEnv = {}, context = ctx): Promise<{ text: string; meta: Metadata }> => {
    const file = join(env.dir, `meta-${++n}.json`);
    ok(await tsbuild(['build', '--root', join(env.dir, 'root'), '--progress', 'plain', '--metadata-file', file, ...args, context],
      { env: { SOURCE_DATE_EPOCH: EPOCH, BUILDX_METADATA_PROVENANCE: '', BUILDX_METADATA_WARNINGS: '', ...vars } }));
    const text = await readFile(file, 'utf8');
    return { text, meta: JSON.parse(text) as Metadata };
  };

  before(async () => {
    env = await startBuildEnv('tsbuild-buildx-metadata-');
    ctx = join(env.dir, 'ctx');
    await mkdir(ctx);
    await writeFile(join(ctx, 'app.txt'), 'app\n');
    // FromAsCasing (line 1) and JSONArgsRecommended (line 3): two build check warnings.
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base} as build\nCOPY app.txt /app.txt\nCMD cat /app.txt\n`);
    multiCtx = join(env.dir, 'multi');
    await mkdir(multiCtx);
    await writeFile(join(multiCtx, 'app.txt'), 'app\n');
    await writeFile(join(multiCtx, 'Dockerfile'), 'FROM scratch\nCOPY app.txt /app.txt\n');
  });
  after(async () => { await env?.stop(); });

  describe('buildx.build.provenance', () => {
    it('holds the minimal SLSA v0.2 predicate by default, without buildConfig and metadata, even with --provenance=false', async () => {
      const { meta } = await build(['--provenance=false', '--build-arg', 'FLAVOUR=mint', '-o', `type=oci,dest=${join(env.dir, 'min.tar')}`]);
      const prv = meta['buildx.build.provenance'] as Predicate;
      expect(prv.buildType).to.equal(BUILDKIT_BUILD_TYPE);
      // BuildKit's materials: the base image; local sources are none.
      const uris = prv.materials.map((m) => m.uri);
      expect(uris).to.have.length(1);
      expect(uris[0]).to.match(/^pkg:docker\/.*busybox@latest\?platform=/);
      // buildx's min is the record's (max) predicate with buildConfig and metadata reset: the build args stay.
      expect(prv.invocation.parameters.args['build-arg:FLAVOUR']).to.equal('mint');
      expect(prv).to.not.have.property('buildConfig');
      expect(prv).to.not.have.property('metadata');
      // BUILDER/NODE/ID, as buildx writes it (docker/actions-toolkit splits it in three), and history takes it whole.
      expect(meta['buildx.build.ref']).to.match(/^default\/default\/[0-9a-z]+$/);
      const inspected = await tsbuild(['history', 'inspect', '--json', '--root', join(env.dir, 'root'), meta['buildx.build.ref']]);
      expect(inspected.code, inspected.stderr).to.equal(0);
      expect((JSON.parse(inspected.stdout) as { id: string }).id).to.equal(meta['buildx.build.ref'].split('/')[2]);
    });

    it('holds the whole predicate with BUILDX_METADATA_PROVENANCE=max, and none with disabled or false', async () => {
      const max = (await build([], { BUILDX_METADATA_PROVENANCE: 'max' })).meta['buildx.build.provenance'] as Predicate;
      expect(max.buildType).to.equal(BUILDKIT_BUILD_TYPE);
      expect(max.buildConfig).to.have.property('llbDefinition');
      expect(max.metadata).to.have.property('buildInvocationID');
      for (const off of ['disabled', 'false', '0']) {
        const { meta } = await build([], { BUILDX_METADATA_PROVENANCE: off });
        expect(Object.keys(meta).filter((k) => k.startsWith('buildx.build.provenance')), off).to.deep.equal([]);
        expect(meta['buildx.build.ref'], off).to.be.a('string');
      }
    });

    it('gives one key per platform for a multi-platform push, and describes the pushed index', async () => {
      const ref = `${env.registry.host}/meta/multi:1`;
      const { meta } = await build(['--platform', 'linux/amd64,linux/arm64', '-t', ref, '--push'], {}, multiCtx);
      for (const p of ['linux/amd64', 'linux/arm64']) {
        expect((meta[`buildx.build.provenance/${p}`] as Predicate).buildType, p).to.equal(BUILDKIT_BUILD_TYPE);
      }
      expect(meta).to.not.have.property('buildx.build.provenance');
      const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
      expect(raw.code, raw.stderr).to.equal(0);
      const pushed = `sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`;
      expect(meta['containerimage.digest']).to.equal(pushed);
      expect(meta['containerimage.descriptor']).to.deep.include({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: pushed, size: Buffer.byteLength(raw.stdout) });
      expect(meta['containerimage.descriptor']).to.not.have.property('annotations');
      // An index has no one config: buildx's image exporter gives no containerimage.config.digest then.
      expect(meta).to.not.have.property('containerimage.config.digest');
      expect(meta['image.name']).to.equal(ref);
    });
  });

  describe('buildx.build.warnings', () => {
    it('holds the build check warnings in BuildKit\'s VertexWarning shape with BUILDX_METADATA_WARNINGS=1', async () => {
      const { meta } = await build(['-o', 'type=cacheonly'], { BUILDX_METADATA_WARNINGS: '1' });
      const warnings = meta['buildx.build.warnings'] as Warning[];
      expect(warnings.map((w) => unb64(w.short))).to.deep.equal([
        'FromAsCasing: \'as\' and \'FROM\' keywords\' casing do not match (line 1)',
        'JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 3)',
      ]);
      const [from] = warnings;
      expect(from?.level).to.equal(1);
      expect(from?.url).to.equal('https://docs.docker.com/go/dockerfile/rule/from-as-casing/');
      expect(from?.detail.map(unb64)).to.deep.equal(['The \'as\' keyword should match the case of the \'from\' keyword']);
      expect(from?.sourceInfo.filename).to.equal('Dockerfile');
      expect(from?.sourceInfo.language).to.equal('Dockerfile');
      expect(unb64(from?.sourceInfo.data ?? '')).to.equal(await readFile(join(ctx, 'Dockerfile'), 'utf8'));
      expect(from?.range).to.deep.equal([{ start: { line: 1 }, end: { line: 1 } }]);
    });

    it('leaves them out by default and with BUILDX_METADATA_WARNINGS=false', async () => {
      for (const v of ['', 'false']) {
        const { meta } = await build(['-o', 'type=cacheonly'], { BUILDX_METADATA_WARNINGS: v });
        expect(meta, v).to.not.have.property('buildx.build.warnings');
      }
    });
  });

  describe('keys per output type', () => {
    it('gives no containerimage keys for local, tar and cacheonly outputs (their exporters answer none)', async () => {
      for (const out of [`type=local,dest=${join(env.dir, 'local-out')}`, `type=tar,dest=${join(env.dir, 'fs.tar')}`, 'type=cacheonly']) {
        const { meta } = await build(['-t', 'app:1', '-o', out]);
        expect(Object.keys(meta).filter((k) => k.startsWith('containerimage.') || k === 'image.name'), out).to.deep.equal([]);
        expect(meta['buildx.build.provenance'], out).to.be.an('object');
      }
    });

    it('stamps an oci export\'s descriptor with its creation time (SOURCE_DATE_EPOCH) and writes the keys sorted, as Go does', async () => {
      const layout = join(env.dir, 'layout');
      const { text, meta } = await build(['-t', 'app:1', '--provenance=false', '-o', `type=oci,tar=false,dest=${layout}`]);
      const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; size: number; annotations?: Record<string, string> }[] };
      const written = index.manifests[0];
      const created = new Date(Number(EPOCH) * 1000).toISOString().replace('.000Z', 'Z');
      expect(meta['containerimage.digest']).to.equal(written?.digest);
      expect(meta['containerimage.descriptor']).to.deep.equal({
        mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: written?.digest, size: written?.size,
        annotations: { 'org.opencontainers.image.created': created },
      });
      // index.json's entry carries it too, beside the names (BuildKit exporter/oci/export.go stamps the descriptor).
      expect(written?.annotations).to.deep.equal({ 'io.containerd.image.name': 'docker.io/library/app:1', 'org.opencontainers.image.created': created, 'org.opencontainers.image.ref.name': '1' });
      expect(meta['containerimage.config.digest']).to.match(/^sha256:[0-9a-f]{64}$/);
      expect(meta['image.name']).to.equal('app:1');
      const keys = Object.keys(JSON.parse(text) as object);
      expect(keys).to.deep.equal([...keys].sort());
    });

    it('lets annotation-manifest-descriptor name the creation time of an oci export\'s entry, as BuildKit keeps a given one', async () => {
      const layout = join(env.dir, 'layout-created');
      const { meta } = await build(['-t', 'app:1', '--provenance=false', '-o', `type=oci,tar=false,dest=${layout},annotation-manifest-descriptor.org.opencontainers.image.created=2020-01-01T00:00:00Z`]);
      const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
      expect(index.manifests[0]?.annotations?.['org.opencontainers.image.created']).to.equal('2020-01-01T00:00:00Z');
      expect(meta['containerimage.descriptor']?.annotations).to.deep.equal({ 'org.opencontainers.image.created': '2020-01-01T00:00:00Z' });
    });

    it('stamps a docker export\'s descriptor too, and gives an image output\'s as the registry holds it', async () => {
      const docker = (await build(['-t', 'app:1', '--provenance=false', '-o', `type=docker,dest=${join(env.dir, 'docker.tar')}`])).meta;
      expect(docker['containerimage.descriptor']?.annotations).to.deep.equal({ 'org.opencontainers.image.created': '2023-11-14T22:13:20Z' });
      expect(docker['containerimage.config.digest']).to.match(/^sha256:/);
      const ref = `${env.registry.host}/meta/single:1`;
      const pushed = (await build(['--provenance=false', '-o', `type=image,name=${ref},push=true`])).meta;
      const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
      expect(raw.code, raw.stderr).to.equal(0);
      expect(pushed['containerimage.descriptor']).to.deep.equal({
        mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`, size: Buffer.byteLength(raw.stdout),
      });
      expect(pushed['containerimage.config.digest']).to.equal((JSON.parse(raw.stdout) as { config: { digest: string } }).config.digest);
      expect(pushed['image.name']).to.equal(ref);
    });
  });

  describe('the file\'s bytes', () => {
    it('are json.MarshalIndent\'s, as buildx writes them: two-space indent, <, >, &, U+2028 escaped, no final newline', async () => {
      const value = 'a<&>\u2028b';
      const { text, meta } = await build(['--provenance=false', '--build-arg', `V=${value}`, '-o', `type=oci,dest=${join(env.dir, 'escape.tar')}`]);
      expect((meta['buildx.build.provenance'] as Predicate).invocation.parameters.args['build-arg:V']).to.equal(value);
      expect(text).to.contain('"build-arg:V": "a\\u003c\\u0026\\u003e\\u2028b"');
      expect(text).to.not.match(/[<>&\u2028]/);
      expect(text).to.match(/^\{\n {2}"buildx\.build\.provenance": \{\n {4}"/);
      expect(text.endsWith('}')).to.equal(true);
    });

    it('are the same for bake\'s one object keyed by target, and a --call\'s answer', async () => {
      const bakeDir = join(env.dir, 'bake-escape');
      await mkdir(bakeDir, { recursive: true });
      await writeFile(join(bakeDir, 'docker-bake.hcl'), `target "default" {\n  context = "${ctx}"\n  args = { V = "<&>" }\n  output = ["type=oci,dest=${join(env.dir, 'bake-escape.tar')}"]\n}\n`);
      const file = join(env.dir, 'bake-escape.json');
      // The context and the tarball are outside the bake's directory: granted, as buildx bake needs it (fs entitlements).
      ok(await tsbuild(['bake', '--root', join(env.dir, 'root'), '--progress', 'plain', '--allow', `fs=${env.dir}`, '--metadata-file', file], { cwd: bakeDir, env: { SOURCE_DATE_EPOCH: EPOCH } }));
      const text = await readFile(file, 'utf8');
      expect(text).to.contain('"build-arg:V": "\\u003c\\u0026\\u003e"');
      expect(text).to.match(/^\{\n {2}"default": \{\n {4}"/);
      expect(text.endsWith('}')).to.equal(true);
      const call = join(env.dir, 'call-escape.json');
      ok(await tsbuild(['build', '--call=outline', '--metadata-file', call, ctx]));
      const answer = await readFile(call, 'utf8');
      expect(answer).to.match(/^\{\n {2}"result\.json": /);
      expect(answer.endsWith('}')).to.equal(true);
    });
  });

  describe('the files a build writes beside its output (moby atomicwriter and buildx --iidfile rules)', () => {
    it('refuses a --metadata-file that is a symbolic link, before building, and leaves the link and its target alone', async () => {
      const target = join(env.dir, 'meta-target.json');
      await writeFile(target, 'keep');
      const link = join(env.dir, 'meta-link.json');
      await symlink(target, link);
      const r = await tsbuild(['build', '--root', join(env.dir, 'root'), '--progress', 'plain', '--metadata-file', link, ctx]);
      expect(r.code, r.stderr).to.not.equal(0);
      expect(r.stderr).to.contain(`cannot write to a symbolic link directly: ${link}`);
      expect(r.stderr).to.match(/^hint: /m);
      expect(await readFile(target, 'utf8')).to.equal('keep');
      expect((await lstat(link)).isSymbolicLink()).to.equal(true);
    });

    it('writes the metadata file with mode 0644 whatever the umask, replacing a regular file', async () => {
      const file = join(env.dir, 'meta-mode.json');
      await writeFile(file, 'old', { mode: 0o600 });
      ok(await run('sh', ['-c', 'umask 077 && exec "$@"', 'sh', TSBUILD, 'build', '--root', join(env.dir, 'root'), '--progress', 'plain', '--metadata-file', file, ctx]));
      expect((await stat(file)).mode & 0o777).to.equal(0o644);
      expect(JSON.parse(await readFile(file, 'utf8'))).to.have.property('containerimage.config.digest');
    });

    it('replaces an --iidfile symbolic link with a file (its target untouched), and removes an old one when the build fails', async () => {
      const target = join(env.dir, 'iid-target');
      await writeFile(target, 'keep');
      const link = join(env.dir, 'iid-link');
      await symlink(target, link);
      ok(await tsbuild(['build', '--root', join(env.dir, 'root'), '--progress', 'plain', '--iidfile', link, ctx]));
      expect(await readFile(target, 'utf8')).to.equal('keep');
      expect((await lstat(link)).isFile()).to.equal(true);
      expect(await readFile(link, 'utf8')).to.match(/^sha256:[0-9a-f]{64}$/);
      const broken = join(env.dir, 'broken');
      await mkdir(broken, { recursive: true });
      await writeFile(join(broken, 'Dockerfile'), 'FROM scratch\nCOPY missing /x\n');
      const r = await tsbuild(['build', '--root', join(env.dir, 'root'), '--progress', 'plain', '--iidfile', link, broken]);
      expect(r.code).to.not.equal(0);
      expect(await lstat(link).then(() => 'there', () => 'gone')).to.equal('gone');
    });
  });

  describe('-D', () => {
    it('is --debug, before or after the command: the error\'s cause chain is printed', async () => {
      const missing = join(env.dir, 'no-such.Dockerfile');
      const plain = await tsbuild(['build', '--root', join(env.dir, 'root'), '-f', missing, ctx]);
      expect(plain.code).to.not.equal(0);
      expect(plain.stderr).to.not.contain('caused by:');
      const root = join(env.dir, 'root');
      for (const args of [['-D', 'build', '--root', root, '-f', missing, ctx], ['build', '--root', root, '-D', '-f', missing, ctx], ['-D', '--root', root, '-f', missing, ctx]]) {
        const r = await tsbuild(args);
        expect(r.code, args.join(' ')).to.equal(plain.code);
        expect(r.stderr, args.join(' ')).to.contain('caused by:').and.to.contain('ENOENT');
      }
    });
  });
});
