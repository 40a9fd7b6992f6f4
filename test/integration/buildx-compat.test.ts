import { expect } from 'chai';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { TSBUILD, run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// tsbuild issue 17: a CI script written for `docker buildx build` runs with `tsbuild build` in its place and does
// the same thing, or says BY NAME what it cannot do. Every case goes through the real command, registry and skopeo.

interface OciIndex { manifests: { digest: string; annotations?: Record<string, string> }[]; annotations?: Record<string, string> }

describe('buildx compatibility (issue 17)', function () {
  this.timeout(240_000);
  let env: BuildEnv;
  let ctx = '';
  let root = '';
  const build = (args: string[], extra: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> =>
    tsbuild(['build', '--root', root, '--progress', 'plain', ...args], { cwd: extra.cwd ?? ctx, ...(extra.env ? { env: extra.env } : {}) });
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };

  before(async () => {
    env = await startBuildEnv('tsbuild-buildx-compat-');
    ctx = join(env.dir, 'ctx');
    root = join(env.dir, 'root');
    await mkdir(join(ctx, 'Build'), { recursive: true });
    await mkdir(join(ctx, 'build'), { recursive: true });
    await writeFile(join(ctx, 'Build', 'kept.txt'), 'upper\n');
    await writeFile(join(ctx, 'build', 'dropped.txt'), 'lower\n');
    await writeFile(join(ctx, '.dockerignore'), 'build\n');
    await writeFile(join(ctx, 'app.txt'), 'app\n');
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nCOPY . /ctx/\nRUN cat /etc/hosts > /hosts.txt \\\n`);
  });
  after(async () => { await env?.stop(); });

  describe('never loses a user\'s files', () => {
    it('refuses an OCI layout dest that holds other files, and leaves them', async () => {
      const dest = join(env.dir, 'precious');
      await mkdir(dest);
      await writeFile(join(dest, 'thesis.tex'), 'years of work');
      const r = await build(['-o', `type=oci,tar=false,dest=${dest}`, '.']);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain('is not an OCI image layout').and.to.contain('hint:');
      expect(await readFile(join(dest, 'thesis.tex'), 'utf8')).to.equal('years of work');
    });

    it('adds to an existing OCI layout as buildx does: both images are in index.json', async () => {
      const dest = join(env.dir, 'layout');
      ok(await build(['-t', 'app:one', '-o', `type=oci,tar=false,dest=${dest}`, '.']));
      ok(await build(['-t', 'app:two', '--build-arg', 'X=1', '--label', 'v=2', '-o', `type=oci,tar=false,dest=${dest}`, '.']));
      const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as OciIndex;
      expect(index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'])).to.deep.equal(['one', 'two']);
      const check = await run('skopeo', ['inspect', `oci:${dest}:two`]);
      expect(check.code, check.stderr).to.equal(0);
    });

    it('refuses a --cache-to type=local dest that is not a layout, before building', async () => {
      const dest = join(env.dir, 'notcache');
      await mkdir(dest);
      await writeFile(join(dest, 'keep'), 'x');
      const r = await build(['--cache-to', `type=local,dest=${dest}`, '.']);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain('--cache-to type=local').and.to.contain('not an OCI image layout');
      expect(r.stderr).not.to.contain('#1');   // refused before any step ran
      expect(await readdir(dest)).to.deep.equal(['keep']);
    });

    it('creates the parent directories of --report, --metadata-file, --iidfile and dest', async () => {
      const out = join(env.dir, 'nested');
      ok(await build(['--report', join(out, 'reports', 'build'), '--metadata-file', join(out, 'meta', 'm.json'), '--iidfile', join(out, 'iid', 'id'),
        '-o', `type=oci,dest=${join(out, 'images', 'app.tar')}`, '.']));
      expect(await readdir(join(out, 'reports'))).to.include.members(['build.json', 'build.md', 'build.html']);
      expect(await readFile(join(out, 'iid', 'id'), 'utf8')).to.match(/^sha256:/);
      expect(await readdir(join(out, 'images'))).to.deep.equal(['app.tar']);
    });

    it('writes dest=- to standard output and no file named "-"', async () => {
      const r = await run('bash', ['-c', `"${TSBUILD}" build --root "${root}" -q -o type=oci,dest=- . | tar t`], { cwd: ctx });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout.split('\n')).to.include.members(['oci-layout', 'index.json']);
      expect(await readdir(ctx)).not.to.include('-');
    });
  });

  describe('-o and --cache-to attributes', () => {
    it('exports zstd layers with compression=zstd, and skopeo reads the image', async () => {
      const tar = join(env.dir, 'zstd.tar');
      // --provenance=false: one manifest in the layout, so skopeo's --raw shows its layers (the default adds an index).
      ok(await build(['--provenance=false', '-o', `type=oci,dest=${tar},compression=zstd,compression-level=3`, '.']));
      const raw = await run('skopeo', ['inspect', '--raw', `oci-archive:${tar}`]);
      const manifest = JSON.parse(raw.stdout) as { layers: { mediaType: string }[] };
      const mine = manifest.layers.slice(-2);
      expect(mine.map((l) => l.mediaType)).to.deep.equal(['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.v1.tar+zstd']);
      // The busybox base layer stays gzip unless force-compression is set, as in BuildKit.
      expect(manifest.layers[0]?.mediaType).to.equal('application/vnd.oci.image.layer.v1.tar+gzip');
      ok(await build(['--provenance=false', '-o', `type=oci,dest=${tar},compression=zstd,force-compression=true`, '.']));
      const forced = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci-archive:${tar}`])).stdout) as { layers: { mediaType: string }[] };
      expect(forced.layers.every((l) => l.mediaType.endsWith('+zstd'))).to.equal(true);
      const copy = await run('skopeo', ['copy', `oci-archive:${tar}`, `dir:${join(env.dir, 'zstd-dir')}`]);
      expect(copy.code, copy.stderr).to.equal(0);
    });

    it('pushes docker media types and manifest annotations to the registry', async () => {
      const ref = `${env.registry.host}/compat:annotated`;
      // Docker media types hold no attestation manifest: as with buildx, a user who wants them turns provenance off.
      ok(await build(['--provenance=false', '-t', ref, '--annotation', 'org.opencontainers.image.title=compat', '-o', 'type=registry,oci-mediatypes=false,compression=uncompressed', '.']));
      const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
      const manifest = JSON.parse(raw.stdout) as { mediaType: string; annotations?: Record<string, string>; layers: { mediaType: string }[] };
      expect(manifest.mediaType).to.equal('application/vnd.docker.distribution.manifest.v2+json');
      expect(manifest.annotations).to.deep.equal({ 'org.opencontainers.image.title': 'compat' });
      expect(manifest.layers.at(-1)?.mediaType).to.equal('application/vnd.docker.image.rootfs.diff.tar');
    });

    it('refuses an unknown or unsupported attribute by name, before building', async () => {
      for (const [args, name] of [
        [['-o', 'type=oci,dest=x.tar,unpack=true'], '"unpack"'],
        [['-o', 'type=oci,dest=x.tar,compression=estargz'], 'compression=estargz'],
        [['--cache-to', 'type=gha,token=t,url=http://127.0.0.1:1/'], 'version 1 of GitHub\'s cache service is not supported'],
        [['--cache-to', `type=local,dest=${join(env.dir, 'c')},compression=zstd`], 'compression=zstd'],
        [['--provenance', 'mode=huge'], 'mode must be min or max'],
        [['--ulimit', 'nofiles=1024'], 'unknown --ulimit type "nofiles"'],
        [['--build-context', 'src=target:other'], 'a bake target as a named context is not supported outside bake'],
      ] as [string[], string][]) {
        const r = await build([...args, '.']);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
        expect(r.stderr).to.contain(name);
        expect(r.stderr).not.to.contain('#1 ');
      }
    });

    it('accepts the off values of --provenance/--sbom/--attest, --pull, and ignore-error on a failing cache export', async () => {
      const blocker = join(env.dir, 'blocker');
      await writeFile(blocker, 'a file where the cache directory should go');
      const r = ok(await build(['--provenance=false', '--sbom=false', '--attest', 'type=provenance,disabled=true', '--pull',
        '--cache-to', `type=local,dest=${join(blocker, 'cache')},ignore-error=true`, '--cache-to', 'type=registry,ref=127.0.0.1:1/nowhere:cache,ignore-error=true', '.']));
      expect(r.stderr).to.contain('127.0.0.1:1/nowhere:cache failed');
      expect(r.stderr).to.contain('ignore-error=true');
    });

    it('builds without an s3 cache without credentials, an azblob one without its key, or gha\'s retired version 1 service, saying so: any --cache-from, and a --cache-to with ignore-error=true', async () => {
      // build-push-action's usual `cache-from: type=gha` / `cache-to: type=gha,mode=max,ignore-error=true`, in an
      // environment with only version 1 of the runner's cache service (ACTIONS_CACHE_URL; GitHub retired it in 2025;
      // version 2 is spoken: gha-cache.test.ts), and without it buildx drops the entries (below).
      const runner = { ACTIONS_RUNTIME_TOKEN: 'runtime-token', ACTIONS_CACHE_URL: 'http://127.0.0.1:1/', ACTIONS_RESULTS_URL: '', ACTIONS_CACHE_SERVICE_V2: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '',
        AWS_PROFILE: '', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials', AWS_CONFIG_FILE: '/nonexistent/aws-config' };
      const r = ok(await build(['--cache-from', 'type=gha', '--cache-from', 'type=s3,region=eu-west-1,bucket=b',
        '--cache-from', 'type=azblob,account_url=https://acct.blob.core.windows.net', '--cache-to', 'type=gha,mode=max,ignore-error=true', '.'], { env: runner }));
      expect(r.stderr).to.contain('warning: --cache-from type=gha: version 1 of GitHub\'s cache service (retired in 2025) is not supported by tsbuild; building without it');
      expect(r.stderr).to.contain('warning: --cache-from type=s3,region=eu-west-1,bucket=b: no AWS credentials');
      expect(r.stderr).to.contain('warning: --cache-from type=azblob,account_url=https://acct.blob.core.windows.net: no secret_access_key');
      expect(r.stderr).to.contain('warning: --cache-to type=gha,mode=max,ignore-error=true: version 1 of GitHub');
    });

    it('drops a gha cache without a runner\'s cache service silently, --cache-to included, as buildx does', async () => {
      // buildx build/opt.go CreateCaches: addGithubToken fills token and url from ACTIONS_RUNTIME_TOKEN and
      // ACTIONS_CACHE_URL / ACTIONS_RESULTS_URL; isActive drops an entry still missing them. A workflow's
      // `--cache-to type=gha,mode=max` run outside the action (a `run:` step, act, a laptop) builds with no cache.
      const none = { ACTIONS_RUNTIME_TOKEN: '', ACTIONS_CACHE_URL: '', ACTIONS_RESULTS_URL: '' };
      const r = ok(await build(['--cache-from', 'type=gha,scope=main', '--cache-to', 'type=gha,mode=max,scope=main', '.'], { env: none }));
      expect(r.stderr).not.to.contain('gha');
      // A token without any URL is as inactive (isActive needs both).
      ok(await build(['--cache-to', 'type=gha,mode=max', '.'], { env: { ...none, ACTIONS_RUNTIME_TOKEN: 'runtime-token' } }));
      // With the service's version 2 URL only, the entry is active: the export is tried (nothing listens there).
      const v2 = await build(['--cache-to', 'type=gha,mode=max', '.'], { env: { ...none, ACTIONS_RUNTIME_TOKEN: 't', ACTIONS_CACHE_SERVICE_V2: 'true', ACTIONS_RESULTS_URL: 'http://127.0.0.1:1/' } });
      expect(v2.code, v2.stderr).to.equal(1);
      expect(v2.stderr).to.contain('GitHub Actions cache gha:buildkit: cannot reach 127.0.0.1:1');
    });

    it('adds --add-host lines to RUN\'s /etc/hosts', async () => {
      const out = join(env.dir, 'hosts-out');
      ok(await build(['--add-host', 'db.internal:10.1.2.3', '-o', `type=local,dest=${out}`, '.']));
      expect(await readFile(join(out, 'hosts.txt'), 'utf8')).to.contain('10.1.2.3\tdb.internal');
    });
  });

  describe('Dockerfile fidelity', () => {
    it('matches .dockerignore case-sensitively (build/ dropped, Build/ kept) and accepts a trailing \\ at end of file', async () => {
      const out = join(env.dir, 'fs');
      ok(await build(['-o', `type=local,dest=${out}`, '.']));
      expect(await readdir(join(out, 'ctx'))).to.include('Build').and.not.to.include('build');
    });

    it('exits 1 with file:line for an invalid FROM reference, in plan as in build', async () => {
      const dir = join(env.dir, 'badref');
      await mkdir(dir);
      await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nFROM localhost:5000/Bad:x\n');
      for (const cmd of ['plan', 'build']) {
        const r = await tsbuild([cmd, '--root', root, dir]);
        expect(r.code, r.stderr).to.equal(1);
        expect(r.stderr).to.match(/Dockerfile:2:\d+: /);
      }
    });

    it('prints the build checks with --check as buildx does, exits 1 on findings, and fails them with # check=error=true', async () => {
      const dir = join(env.dir, 'checks');
      await mkdir(dir);
      await writeFile(join(dir, 'Dockerfile'), `FROM ${env.base} as Build\nCMD echo hi\n`);
      const r = await tsbuild(['build', '--check', dir]);
      // buildx: result.statuscode 1 when anything was found (ignorestatus=true turns it off).
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stdout.split('\n')[0]).to.equal('Check complete, 3 warnings have been found!');
      expect(r.stdout).to.contain([
        '', 'WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/',
        'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals',
        `${join(dir, 'Dockerfile')}:2`, '--------------------', `   1 |     FROM ${env.base} as Build`, '   2 | >>> CMD echo hi',
        '   3 |     ', '--------------------', '',
      ].join('\n'));
      const ignored = await tsbuild(['build', '--call=check,ignorestatus=true', dir]);
      expect(ignored.code, ignored.stderr).to.equal(0);
      expect(ignored.stdout).to.equal(r.stdout);
      const clean = join(env.dir, 'checks-clean');
      await mkdir(clean);
      await writeFile(join(clean, 'Dockerfile'), `FROM ${env.base}\nCMD ["true"]\n`);
      const none = await tsbuild(['build', '--check', clean]);
      expect(none.code, none.stderr).to.equal(0);
      expect(none.stdout).to.equal('Check complete, no warnings found.\n');
      await writeFile(join(dir, 'Dockerfile'), `# check=error=true\nFROM ${env.base} as build\n`);
      const failed = await tsbuild(['build', '--call=check', dir]);
      expect(failed.code).to.equal(1);
      expect(failed.stdout).to.contain('WARNING: FromAsCasing');
      expect(failed.stderr).to.contain('lint violation found for rules: FromAsCasing');
    });

    it('reads the BUILDKIT_* build args as BuildKit\'s dockerui: DOCKERFILE_CHECK over # check=, MULTI_PLATFORM for an index of one', async () => {
      const dir = join(env.dir, 'check-arg');
      await mkdir(dir);
      await writeFile(join(dir, 'Dockerfile'), `# check=skip=all\nFROM ${env.base} as base\nrun true\n`);
      // The build arg wins over the directive (newRuleLinter), in a build as in --check.
      const failed = await build(['--build-arg', 'BUILDKIT_DOCKERFILE_CHECK=skip=ConsistentInstructionCasing;error=true', dir]);
      expect(failed.code, failed.stderr).to.equal(1);
      expect(failed.stderr).to.contain('Dockerfile:2: error: FromAsCasing').and.not.to.contain('ConsistentInstructionCasing');
      const checked = await tsbuild(['build', '--check', '--build-arg', 'BUILDKIT_DOCKERFILE_CHECK=', dir]);
      expect(checked.stdout.split('\n')[0]).to.equal('Check complete, 2 warnings have been found!');
      const bad = await build(['--build-arg', 'BUILDKIT_DOCKERFILE_CHECK=skip', dir]);
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.contain('failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK: invalid check option "skip"');
      // BUILDKIT_MULTI_PLATFORM=1: one platform, no attestation, and still an index naming it (skopeo reads it).
      const dest = join(env.dir, 'one-platform-index');
      ok(await build(['--provenance=false', '--build-arg', 'BUILDKIT_MULTI_PLATFORM=1', '--build-arg', 'BUILDKIT_DOCKERFILE_CHECK=skip=all',
        '-o', `type=oci,tar=false,dest=${dest}`, dir]));
      const raw = ok(await run('skopeo', ['inspect', '--raw', `oci:${dest}`])).stdout;
      const index = JSON.parse(raw) as { mediaType: string; manifests: { platform?: { architecture: string } }[] };
      expect(index.mediaType).to.equal('application/vnd.oci.image.index.v1+json');
      expect(index.manifests.map((m) => m.platform?.architecture)).to.deep.equal(['amd64']);
      const plain = join(env.dir, 'one-platform-manifest');
      ok(await build(['--provenance=false', '--build-arg', 'BUILDKIT_DOCKERFILE_CHECK=skip=all', '-o', `type=oci,tar=false,dest=${plain}`, dir]));
      expect(JSON.parse(ok(await run('skopeo', ['inspect', '--raw', `oci:${plain}`])).stdout).mediaType).to.equal('application/vnd.oci.image.manifest.v1+json');
      const conflict = await build(['--platform', 'linux/amd64,linux/arm64', '--build-arg', 'BUILDKIT_MULTI_PLATFORM=false', dir]);
      expect(conflict.code).to.not.equal(0);
      expect(conflict.stderr).to.contain('conflicting config: returning multiple target platforms is not allowed');
    });

    it('warns CopyIgnoredFile for a source .dockerignore excludes, and reports dispatch-time checks only for the stages built', async () => {
      const dir = join(env.dir, 'copy-ignored');
      await mkdir(dir);
      await writeFile(join(dir, '.dockerignore'), 'secret.txt\n');
      await writeFile(join(dir, 'secret.txt'), 'x\n');
      await writeFile(join(dir, 'Dockerfile'), `FROM ${env.base} AS unused\nCOPY $nowhere /x\nFROM ${env.base}\nCOPY secret.txt /s\n`);
      // BuildKit's testCopyIgnoredFiles: the warning at the COPY, then the build fails there (the file is not sent).
      const built = await build([dir]);
      expect(built.code).to.equal(1);
      expect(built.stderr).to.contain('Dockerfile:4: warning: CopyIgnoredFile: Attempting to Copy file "secret.txt" that is excluded by .dockerignore');
      // testAllTargetUnmarshal: the unused stage is not dispatched, so its UndefinedVar is not reported by a build…
      expect(built.stderr).to.not.contain('$nowhere');
      // … but --check converts every stage.
      const checked = await tsbuild(['build', '--check', dir]);
      expect(checked.stdout).to.contain('Check complete, 2 warnings have been found!').and.to.contain("Usage of undefined variable '$nowhere'")
        .and.to.contain('Attempting to Copy file "secret.txt" that is excluded by .dockerignore');
    });

    it('prints the experimental InvalidDefinitionDescription with --check only when # check=experimental= enables it', async () => {
      const dir = join(env.dir, 'checks-experimental');
      await mkdir(dir);
      const body = `# the build stage\nFROM ${env.base} AS build\n# ARG v sets the version\nARG v=1\nCMD ["true"]\n`;
      await writeFile(join(dir, 'Dockerfile'), body);
      const off = await tsbuild(['build', '--check', dir]);
      expect(off.code, off.stderr).to.equal(0);
      expect(off.stdout).to.equal('Check complete, no warnings found.\n');
      await writeFile(join(dir, 'Dockerfile'), `# check=experimental=InvalidDefinitionDescription\n${body}`);
      const on = await tsbuild(['build', '--check', dir]);
      expect(on.code, on.stderr).to.equal(1);
      expect(on.stdout).to.equal([
        'Check complete, 2 warnings have been found!', '',
        'WARNING: InvalidDefinitionDescription - https://docs.docker.com/go/dockerfile/rule/invalid-definition-description/',
        'Comment for FROM should follow the format: `# build <description>`',
        `${join(dir, 'Dockerfile')}:3`, '--------------------', '   1 |     # check=experimental=InvalidDefinitionDescription',
        '   2 |     # the build stage', `   3 | >>> FROM ${env.base} AS build`, '   4 |     # ARG v sets the version', '   5 |     ARG v=1',
        '--------------------', '',
        'WARNING: InvalidDefinitionDescription - https://docs.docker.com/go/dockerfile/rule/invalid-definition-description/',
        'Comment for ARG should follow the format: `# v <description>`',
        `${join(dir, 'Dockerfile')}:5`, '--------------------', '   3 |     FROM ' + env.base + ' AS build', '   4 |     # ARG v sets the version',
        '   5 | >>> ARG v=1', '   6 |     CMD ["true"]', '   7 |     ', '--------------------', '',
      ].join('\n'));
    });

    it('prints BuildKit\'s lint results for --call=check,format=json and keeps them in --metadata-file', async () => {
      const dir = join(env.dir, 'checks-json');
      await mkdir(dir);
      // buildx's own test Dockerfile (tests/build.go, testBuildCall "check"): three casing findings, one on a continued COPY.
      const text = '\nfrOM busybox as base\ncOpy Dockerfile .\nfrom scratch\nCOPy --from=base \\\n  /Dockerfile \\\n  /\n\t';
      await writeFile(join(dir, 'Dockerfile'), text);
      const md = join(env.dir, 'checks-json.md.json');
      const r = await tsbuild(['build', '--call=check,format=json', '--metadata-file', md, dir]);
      expect(r.code, r.stderr).to.equal(1);
      type Results = { warnings: unknown[]; sources: unknown[] };
      const res = JSON.parse(r.stdout) as Results;
      expect(res.warnings).to.have.length(3);
      expect(res.warnings[2]).to.deep.equal({
        ruleName: 'ConsistentInstructionCasing',
        description: 'All commands within the Dockerfile should use the same casing (either upper or lower)',
        url: 'https://docs.docker.com/go/dockerfile/rule/consistent-instruction-casing/',
        detail: "Command 'COPy' should match the case of the command majority (lowercase)",
        location: { ranges: [{ start: { line: 5 }, end: { line: 7 } }] },
      });
      expect(res.sources).to.deep.equal([{ filename: 'Dockerfile', data: Buffer.from(text).toString('base64'), language: 'Dockerfile' }]);
      const meta = JSON.parse(await readFile(md, 'utf8')) as Record<string, unknown>;
      expect(Object.keys(meta)).to.deep.equal(['result.json', 'result.statuscode', 'result.txt', 'version']);
      expect(meta['result.json']).to.deep.equal(res);
      expect(meta['result.statuscode']).to.equal('1');
    });

    it('fails --call=check on a FROM whose reference does not parse, in any stage, as BuildKit\'s conversion does', async () => {
      const dir = join(env.dir, 'checks-bad-from');
      await mkdir(dir);
      // The bad FROM is in a stage the default target does not need: BuildKit's check converts every stage.
      await writeFile(join(dir, 'Dockerfile'), `FROM Bad::Ref AS unused\nRUN true\nFROM ${env.base}\nCMD ["true"]\n`);
      const text = await tsbuild(['build', '--call=check', dir]);
      expect(text.code, text.stderr).to.equal(1);
      expect(text.stdout).to.not.contain('no warnings found');
      expect(text.stderr).to.contain('Dockerfile:1:6: invalid image reference "Bad::Ref"');
      expect(text.stderr).to.contain('1 | FROM Bad::Ref AS unused');
      expect(text.stderr).to.not.match(/internal error|\n\s+at /);
      const md = join(env.dir, 'checks-bad-from.md.json');
      const json = await tsbuild(['build', '--call=check,format=json', '--metadata-file', md, dir]);
      expect(json.code).to.equal(1);
      type Results = { warnings: { ruleName: string; detail: string }[] | null; buildError: { message: string; location: unknown } };
      const res = JSON.parse(json.stdout) as Results;
      // validateBaseImagesWithDefaultArgs checks every FROM, a constant one too, before the conversion fails on it.
      expect(res.warnings?.map((w) => `${w.ruleName}: ${w.detail}`)).to.deep.equal(['InvalidDefaultArgInFrom: Default value for ARG Bad::Ref results in empty or invalid base image name']);
      expect(res.buildError.message).to.match(/^invalid image reference "Bad::Ref": /);
      expect(res.buildError.location).to.deep.equal({ ranges: [{ start: { line: 1 }, end: { line: 1 } }] });
      const meta = JSON.parse(await readFile(md, 'utf8')) as Record<string, unknown>;
      expect(meta['result.statuscode']).to.equal('1');
      // The same line fails a build, located the same way.
      const build = await tsbuild(['build', '--target', 'unused', dir]);
      expect(build.code).to.equal(1);
      expect(build.stderr).to.contain('Dockerfile:1:6: invalid image reference "Bad::Ref"');
    });

    it('reports UndefinedVar against the base image\'s ENV, with --check and in the build', async () => {
      const base = join(env.dir, 'env-base');
      await mkdir(base);
      await writeFile(join(base, 'Dockerfile'), `FROM ${env.base}\nENV APP_HOME=/app\n`);
      const ref = `${env.registry.host}/compat:with-env`;
      ok(await build(['--provenance=false', '-t', ref, '--push', base]));
      const dir = join(env.dir, 'undefined-var');
      await mkdir(dir);
      // $APP_HOME comes from the base image; $APP_HOMEE is a typo; RUN's variables are the shell's, never reported.
      await writeFile(join(dir, 'Dockerfile'), `FROM ${ref}\nWORKDIR $APP_HOME\nCOPY $APP_HOMEE /x\nRUN echo $NOT_CHECKED\n`);
      const r = await tsbuild(['build', '--root', root, '--check', dir]);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stdout).to.contain("WARNING: UndefinedVar - https://docs.docker.com/go/dockerfile/rule/undefined-var/\nUsage of undefined variable '$APP_HOMEE' (did you mean $APP_HOME?)\n" + `${join(dir, 'Dockerfile')}:3\n`);
      expect(r.stdout).to.contain('Check complete, 1 warning has been found!');
      const built = ok(await build([dir]));
      expect(built.stderr).to.contain("UndefinedVar: Usage of undefined variable '$APP_HOMEE'").and.not.to.contain("'$APP_HOME'").and.not.to.contain("'$NOT_CHECKED'");
    });

    it('checks a FROM $BASE stage against the image the variable names, the build arg overriding the default', async () => {
      const ref = `${env.registry.host}/compat:with-env`;   // pushed by the test above, ENV APP_HOME=/app
      const dir = join(env.dir, 'undefined-var-arg');
      await mkdir(dir);
      await writeFile(join(dir, 'Dockerfile'), `ARG BASE=${ref}\nFROM $BASE\nWORKDIR /w$APP_HOME\nCOPY $APP_HOMEE /x\n`);
      const r = await tsbuild(['build', '--root', root, '--check', dir]);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stdout).to.contain("WARNING: UndefinedVar - https://docs.docker.com/go/dockerfile/rule/undefined-var/\nUsage of undefined variable '$APP_HOMEE' (did you mean $APP_HOME?)\n" + `${join(dir, 'Dockerfile')}:4\n`);
      expect(r.stdout).to.contain('Check complete, 1 warning has been found!');
      const built = ok(await build([dir]));
      expect(built.stderr).to.contain("UndefinedVar: Usage of undefined variable '$APP_HOMEE'").and.not.to.contain("'$APP_HOME'");
      // --build-arg BASE=<an image without APP_HOME>: now $APP_HOME is the undefined one, in --check and in the build.
      const other = await tsbuild(['build', '--root', root, '--check', '--build-arg', `BASE=${env.base}`, dir]);
      expect(other.stdout).to.contain("Usage of undefined variable '$APP_HOME'\n" + `${join(dir, 'Dockerfile')}:3\n`);
      const builtOther = await build(['--build-arg', `BASE=${env.base}`, dir]);
      expect(builtOther.stderr).to.contain("UndefinedVar: Usage of undefined variable '$APP_HOME'");
    });
  });

  describe('the command line', () => {
    it('prints one line and the usage line for an unknown option, not the whole help', async () => {
      const r = await tsbuild(['build', '--bogus', '.']);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain("unknown option '--bogus'").and.to.contain('usage: tsbuild build [options] [context]');
      expect(r.stderr.split('\n').length).to.be.lessThan(5);
    });

    it('takes --root before the subcommand and history inspect defaults to the latest build', async () => {
      ok(await tsbuild(['--root', root, 'build', '--progress', 'plain', '--label', 'latest=yes', '.'], { cwd: ctx }));
      const r = ok(await tsbuild(['--root', root, 'history', 'inspect', '--json']));
      expect((JSON.parse(r.stdout) as { status: string }).status).to.equal('succeeded');
      ok(await tsbuild(['prune', '-f', '--root', join(env.dir, 'empty-root')]));
    });

    it('emits buildx SolveStatus JSON for --progress rawjson, and BUILDKIT_PROGRESS sets the default', async () => {
      const r = ok(await tsbuild(['build', '--root', root, '--no-cache', '.'], { cwd: ctx, env: { BUILDKIT_PROGRESS: 'rawjson' } }));
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { vertexes?: { digest: string; name: string; started?: string; completed?: string }[]; logs?: { stream: number; data: string }[] });
      const vertexes = lines.flatMap((l) => l.vertexes ?? []);
      expect(vertexes.some((v) => /^sha256:[0-9a-f]{64}$/.test(v.digest) && v.name.includes('RUN cat /etc/hosts') && v.completed)).to.equal(true);
      expect(r.stderr).not.to.contain('cache:');   // machine output: no human summary
    });
  });

  describe('the buildx flag audit (compat22)', () => {
    it('warns for the flags buildx ignores or warns about and builds; refuses the ones it would apply, before building', async () => {
      // --builder is no longer among them: it names a builder instance (test/integration/buildx-builders.test.ts).
      const r = ok(await build(['--rm', '--force-rm', '--isolation', 'default', '.']));
      for (const flag of ['--rm', '--force-rm', '--isolation']) expect(r.stderr).to.contain(`warning: ${flag} has no effect`);
      // --memory, --resource and --cgroup-parent are applied now (run-resources.test.ts).
      for (const args of [['--policy', 'filename=policy.rego']]) {
        const refused = await build([...args, '.']);
        expect(refused.code, args.join(' ')).to.equal(2);
        expect(refused.stderr).to.contain(`${args[0] ?? ''} is not supported`).and.to.contain('hint:').and.not.to.contain('#1');
      }
    });

    it('prints the image ID for --progress quiet (as -q), nothing for --progress none, and refuses -q with --progress plain', async () => {
      const quiet = ok(await tsbuild(['build', '--root', root, '--progress', 'quiet', '.'], { cwd: ctx }));
      expect(quiet.stdout.trim()).to.match(/^sha256:[0-9a-f]{64}$/);
      expect(quiet.stderr).to.equal('');
      const none = ok(await tsbuild(['build', '--root', root, '--progress', 'none', '.'], { cwd: ctx }));
      expect(none.stdout).to.equal('');
      expect(none.stderr).to.equal('');
      const both = await tsbuild(['build', '--root', root, '-q', '--progress', 'plain', '.'], { cwd: ctx });
      expect(both.code).to.equal(2);
      expect(both.stderr).to.contain('--progress=plain and --quiet cannot be used together');
    });

    it('reads --secret type=env,src=VAR and comma-separated --add-host as buildx, and refuses an unknown --secret key', async () => {
      const dir = join(env.dir, 'secret-env');
      await mkdir(dir);
      await writeFile(join(dir, 'Dockerfile'), `FROM ${env.base}\nRUN --mount=type=secret,id=tok cat /run/secrets/tok > /tok.txt; grep -E 'one|two' /etc/hosts > /hosts.txt\n`);
      const out = join(env.dir, 'out-secret-env');
      ok(await build(['--secret', 'type=env,id=tok,src=COMPAT_TOKEN', '--add-host', 'one:10.0.0.1,two:10.0.0.2', '-o', `type=local,dest=${out}`, dir], { env: { ...process.env, COMPAT_TOKEN: 'from-env' } }));
      expect(await readFile(join(out, 'tok.txt'), 'utf8')).to.equal('from-env');
      expect(await readFile(join(out, 'hosts.txt'), 'utf8')).to.contain('10.0.0.1\tone').and.to.contain('10.0.0.2\ttwo');
      const bad = await build(['--secret', 'id=tok,scr=/etc/hostname', dir]);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.contain('unexpected key "scr"');
    });

    it('exports a bare --cache-to REF as type=registry,ref=REF (buildx\'s shorthand) and reads it back', async () => {
      const ref = `${env.registry.host}/compat:bare-cache`;
      ok(await build(['--cache-to', ref, '.']));
      const check = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
      expect(check.code, check.stderr).to.equal(0);
      const other = join(env.dir, 'root-bare-cache');
      const r = ok(await tsbuild(['build', '--root', other, '--progress', 'plain', '--cache-from', ref, '.'], { cwd: ctx }));
      expect(r.stderr).not.to.contain('MISS');
    });

    it('lists the stages for --call=targets as buildx prints them, building nothing', async () => {
      const dir = join(env.dir, 'targets');
      await mkdir(dir);
      await writeFile(join(dir, 'Dockerfile'), `FROM ${env.base} AS base\n# build compiles the app\nFROM base AS build\nRUN exit 9\nFROM build\n`);
      const r = ok(await tsbuild(['build', '--root', root, '--call=targets', dir]));
      expect(r.stdout).to.equal('TARGET    DESCRIPTION\nbase      \nbuild     compiles the app\n(default) \n');
      expect(ok(await tsbuild(['build', '--root', root, '--print', 'targets', dir])).stdout).to.equal(r.stdout);   // buildx's older --print
      const json = ok(await tsbuild(['build', '--root', root, '--call', 'targets,format=json', dir]));
      const list = JSON.parse(json.stdout) as { targets: Record<string, unknown>[]; sources: string[] };
      expect(list.targets).to.deep.equal([
        { name: 'base', base: env.base, location: { ranges: [{ start: { line: 1 }, end: { line: 1 } }] } },
        { name: 'build', description: 'compiles the app', base: 'base', location: { ranges: [{ start: { line: 3 }, end: { line: 3 } }] } },
        { default: true, base: 'build', location: { ranges: [{ start: { line: 5 }, end: { line: 5 } }] } },
      ]);
      expect(list.sources).to.have.length(1);
    });

    it('prints the target\'s outline for --call=outline (text and format=json), building nothing', async () => {
      const dir = join(env.dir, 'outline');
      await mkdir(dir);
      await writeFile(join(dir, 'Dockerfile'), `FROM ${env.base} AS deps\nRUN --mount=type=secret,id=npmrc,required exit 9\n# release builds the app\nFROM deps AS release\n# VERSION the version stamped in\nARG VERSION=dev\nRUN --mount=type=ssh exit 9\n`);
      const text = ok(await tsbuild(['build', '--root', root, '--call=outline', '--build-arg', 'VERSION=1.2', dir]));
      expect(text.stdout).to.equal('TARGET:      release\nDESCRIPTION: builds the app\n\nBUILD ARG   VALUE   DESCRIPTION\nVERSION     1.2     the version stamped in\n\nSECRET   REQUIRED\nnpmrc    true\n\nSSH       REQUIRED\ndefault   \n\n');
      const md = join(env.dir, 'outline.md.json');
      const json = ok(await tsbuild(['build', '--root', root, '--call=outline,format=json', '--metadata-file', md, dir]));
      const o = JSON.parse(json.stdout) as Record<string, unknown>;
      expect(o['name']).to.equal('release');
      expect(o['args']).to.deep.equal([{ name: 'VERSION', description: 'the version stamped in', value: 'dev', location: { ranges: [{ start: { line: 6 }, end: { line: 6 } }] } }]);
      expect(o['secrets']).to.deep.equal([{ name: 'npmrc', required: true, location: { ranges: [{ start: { line: 2 }, end: { line: 2 } }] } }]);
      expect((JSON.parse(await readFile(md, 'utf8')) as Record<string, unknown>)['result.json']).to.deep.equal(o);
    });

    it('refuses --sbom scan-context=true by name instead of dropping it', async () => {
      const r = await build(['--sbom', 'scan-context=true', '.']);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain('scan-context=true is not supported');
    });
  });

  describe('CI', () => {
    it('writes the job summary and ::error annotation for a failed build in GitHub Actions, and --report too', async () => {
      const dir = join(env.dir, 'failing');
      await mkdir(dir);
      await writeFile(join(dir, 'Dockerfile'), `FROM ${env.base}\nRUN exit 3\n`);
      const summary = join(env.dir, 'summary.md');
      const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '--report', join(dir, 'out', 'r.json'), dir], {
        env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary, GITHUB_WORKSPACE: env.dir },
      });
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/::error file=failing\/Dockerfile,line=2,col=1,title=tsbuild RUN_FAILED::/);
      expect(await readFile(summary, 'utf8')).to.contain('tsbuild');
      expect((JSON.parse(await readFile(join(dir, 'out', 'r.json'), 'utf8')) as { build: { status: string } }).build.status).to.equal('failed');
      ok(await tsbuild(['build', '--root', root, '--progress', 'plain', '.'], { cwd: ctx, env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary, TSBUILD_SUMMARY: 'false' } }));
    });

    it('refuses --load by name when neither docker nor podman answers, and -o type=docker without dest, which is --load in buildx', async () => {
      for (const flags of [['--load'], ['-o', 'type=docker'], ['-o', 'type=docker,name=app:1']]) {
        const r = await build([...flags, '.']);
        expect(r.code, flags.join(' ')).to.equal(2);
        expect(r.stderr, flags.join(' ')).to.contain('--load needs a running docker or podman');
      }
    });
  });
});
