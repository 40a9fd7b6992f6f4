import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { serveDir, type StaticHttpServer } from '../fixtures/static-http-server.js';
import { run, runBytes, tsbuild, TSBUILD, type CliResult } from '../fixtures/tsbuild-cli.js';
import { writeFiles } from '../fixtures/write-files.js';

// BuildKit's own Dockerfile integration tests (moby/buildkit frontend/dockerfile/dockerfile_namedcontext_test.go,
// dockerfile_outline_test.go, dockerfile_targets_test.go, exclude_patterns_test.go, errors_test.go,
// dockerfile_export_test.go), each case's Dockerfile, context and frontend attributes run through the tsbuild
// command as buildx would pass them, with BuildKit's assertions. Where each test stands:
// test/compat/buildkit-parity/named.md. BuildKit's `alpine` is the test busybox with /etc/alpine-release added.

const git = promisify(execFile);

describe('BuildKit parity: named contexts, outline, targets, --exclude, errors, exporters', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  let root = '';
  let alpine = '';
  let http: StaticHttpServer | undefined;
  let httpUrl = '';
  let n = 0;
  const build = (args: string[], cwd: string): Promise<CliResult> => tsbuild(['build', '--root', root, '--progress', 'plain', ...args], { cwd });
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };
  const out = (): string => join(env.dir, `out${++n}`);
  /** A fresh directory with these files (a value of `{ link }` is a symlink). */
  const dirWith = (files: Record<string, string | { link: string }>): Promise<string> => writeFiles(join(env.dir, `ctx${++n}`), files, { mode: 0o600 });
  const configOf = async (layout: string): Promise<{ created?: string; os: string; architecture: string; variant?: string; config: { Env?: string[]; WorkingDir?: string; Labels?: Record<string, string> } }> => {
    const blob = async (digest: string): Promise<Buffer> => readFile(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)));
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse((await blob(index.manifests[0]?.digest ?? '')).toString()) as { config: { digest: string } };
    return JSON.parse((await blob(manifest.config.digest)).toString()) as Awaited<ReturnType<typeof configOf>>;
  };

  before(async () => {
    env = await startBuildEnv('tsbuild-parity-named-');
    root = join(env.dir, 'root');
    alpine = `${env.registry.host}/alpine:latest`;
    const dir = await dirWith({ Dockerfile: `FROM ${env.base}\nRUN echo 3.20.0 > /etc/alpine-release\n` });
    ok(await build(['-t', alpine, '--push', '--provenance=false', '.'], dir));
    // Plain files over HTTP (a tar context, a git repository over git's dumb protocol), confined to `served`.
    const served = join(env.dir, 'served');
    await mkdir(served);
    http = await serveDir(served);
    httpUrl = http.url;
  });
  after(async () => {
    await http?.stop();
    await env?.stop();
  });

  describe('dockerfile_namedcontext_test.go', () => {
    it('testNamedImageContext: a docker-image:// context replaces FROM busybox, brings its ENV, and replaces a stage built on another stage', async () => {
      const first = await dirWith({ Dockerfile: 'FROM busybox AS base\nRUN cat /etc/alpine-release > /out\nFROM scratch\nCOPY --from=base /out /\n' });
      const o1 = out();
      ok(await build(['--build-context', `busybox=docker-image://${alpine}`, '-o', `type=local,dest=${o1}`, '.'], first));
      expect(await readFile(join(o1, 'out'), 'utf8')).to.equal('3.20.0\n');

      const target = `${env.registry.host}/buildkit/testnamedimagecontext:latest`;
      const withEnv = await dirWith({ Dockerfile: `FROM ${alpine}\nENV PATH=/foobar:$PATH\nENV FOOBAR=foobar\n` });
      ok(await build(['-t', target, '--push', '--provenance=false', '.'], withEnv));
      const second = await dirWith({ Dockerfile: 'FROM busybox AS base\nRUN cat /etc/alpine-release > /out\nRUN env | grep PATH > /env_path\nRUN env | grep FOOBAR > /env_foobar\nFROM scratch\nCOPY --from=base /out /\nCOPY --from=base /env_path /\nCOPY --from=base /env_foobar /\n' });
      const o2 = out();
      ok(await build(['--build-context', `busybox=docker-image://${target}`, '-o', `type=local,dest=${o2}`, '.'], second));
      expect(await readFile(join(o2, 'out'), 'utf8')).to.have.length.greaterThan(0);
      expect((await readFile(join(o2, 'env_foobar'), 'utf8')).trim()).to.equal('FOOBAR=foobar');
      expect(await readFile(join(o2, 'env_path'), 'utf8')).to.contain('/foobar:');

      // moby/buildkit#5578: the replaced stage is itself built on another stage.
      const third = await dirWith({ Dockerfile: 'FROM busybox AS parent\nFROM parent AS base\nRUN echo base > /out\nFROM base\nRUN [ -f /etc/alpine-release ]\nRUN [ ! -f /out ]\n' });
      ok(await build(['--build-context', `base=docker-image://${target}`, '.'], third));
    });

    it('testNamedImageContextPlatform: FROM --platform=$BUILDPLATFORM of a named image index builds for a target platform no image has', async () => {
      const target = `${env.registry.host}/buildkit/testnamedimagecontextplatform:latest`;
      const base = await dirWith({ Dockerfile: `FROM --platform=$BUILDPLATFORM ${alpine}\n` });
      ok(await build(['--build-arg', 'BUILDKIT_MULTI_PLATFORM=true', '-t', target, '--push', '--provenance=false', '.'], base));
      const dir = await dirWith({ Dockerfile: 'FROM --platform=$BUILDPLATFORM busybox AS target\nRUN echo hello\n' });
      ok(await build(['--build-context', `busybox=docker-image://${target}`, '--platform', 'darwin/ppc64le', '.'], dir));
    });

    it('testNamedImageContextTimestamps: an image built on a named image context is created after it, not with its time', async () => {
      const target = `${env.registry.host}/buildkit/testnamedimagecontexttimestamps:latest`;
      const dir = await dirWith({ Dockerfile: `FROM ${alpine}\nRUN echo foo >> /test\n` });
      const l1 = out();
      ok(await build(['-t', target, '--push', '--provenance=false', '.'], dir));
      ok(await build(['--provenance=false', '-o', `type=oci,tar=false,dest=${l1}`, '.'], dir));
      const derived = await dirWith({ Dockerfile: 'FROM alpine\nRUN echo foo >> /test\n' });
      const l2 = out();
      ok(await build(['--build-context', `alpine=docker-image://${target}`, '--provenance=false', '-o', `type=oci,tar=false,dest=${l2}`, '.'], derived));
      const [a, b] = [Date.parse((await configOf(l1)).created ?? ''), Date.parse((await configOf(l2)).created ?? '')];
      expect(b - a).to.be.greaterThan(0).and.lessThan(10 * 60_000);
    });

    it('testNamedImageContextScratch: docker-image://scratch replaces the base with an empty one', async () => {
      const dir = await dirWith({ Dockerfile: 'FROM busybox AS build\nCOPY <<EOF /out\nhello world!\nEOF\n' });
      const o = out();
      ok(await build(['--build-context', 'busybox=docker-image://scratch', '-o', `type=local,dest=${o}`, '.'], dir));
      expect(await readdir(o)).to.deep.equal(['out']);
      expect(await readFile(join(o, 'out'), 'utf8')).to.equal('hello world!\n');
    });

    it('testNamedLocalContext: a local directory replaces a stage, its .dockerignore applied', async () => {
      const dir = await dirWith({ Dockerfile: 'FROM busybox AS base\nRUN cat /etc/alpine-release > /out\nFROM scratch\nCOPY --from=base /o* /\n' });
      const basedir = await dirWith({ out: 'dummy-result', out2: 'dummy-result', '.dockerignore': 'out2\n' });
      const o = out();
      ok(await build(['--build-context', `base=${basedir}`, '-o', `type=local,dest=${o}`, '.'], dir));
      expect(await readFile(join(o, 'out'), 'utf8')).to.equal('dummy-result');
      expect(await readdir(o)).to.deep.equal(['out']);
    });

    it('testNamedOCILayoutContext: oci-layout://DIR@DIGEST replaces a stage and an image, ENV included', async () => {
      const first = await dirWith({ Dockerfile: `FROM ${env.base}\nWORKDIR /test\nRUN sh -c "echo -n first > out"\nRUN sh -c "echo -n second > out2"\nENV foo=bar\n` });
      const layout = out();
      ok(await build(['--provenance=false', '-o', `type=oci,tar=false,dest=${layout}`, '.'], first));
      const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      expect(index.manifests).to.have.length(1);
      const ref = `oci-layout://${layout}@${index.manifests[0]?.digest}`;
      const dir = await dirWith({ Dockerfile: 'FROM busybox AS base\nRUN cat /etc/alpine-release > out\n\nFROM foo AS imported\nRUN echo -n $foo > outfoo\n\nFROM scratch\nCOPY --from=base /test/o* /\nCOPY --from=imported /test/outfoo /\n' });
      const o = out();
      ok(await build(['--build-context', `base=${ref}`, '--build-context', `foo=${ref}`, '-o', `type=local,dest=${o}`, '.'], dir));
      expect(await readFile(join(o, 'out'), 'utf8')).to.equal('first');
      expect(await readFile(join(o, 'out2'), 'utf8')).to.equal('second');
      expect(await readFile(join(o, 'outfoo'), 'utf8')).to.equal('bar');
    });

    it('testNamedOCILayoutContextExport: an image built FROM an oci-layout context keeps its WORKDIR and ENV', async () => {
      const first = await dirWith({ Dockerfile: 'FROM scratch\nWORKDIR /test\nENV foo=bar\n' });
      const layout = out();
      ok(await build(['--provenance=false', '-o', `type=oci,tar=false,dest=${layout}`, '.'], first));
      const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      const dir = await dirWith({ Dockerfile: 'FROM nonexistent AS base\n' });
      const l2 = out();
      ok(await build(['--build-context', `nonexistent=oci-layout://${layout}@${index.manifests[0]?.digest}`, '--provenance=false', '-o', `type=oci,tar=false,dest=${l2}`, '.'], dir));
      const index2 = JSON.parse(await readFile(join(l2, 'index.json'), 'utf8')) as { manifests: unknown[] };
      expect(index2.manifests).to.have.length(1);
      const config = await configOf(l2);
      expect(config.config.WorkingDir).to.equal('/test');
      expect(config.config.Env).to.include('foo=bar');
    });

    // BuildKit passes the first build's result to the second as a gateway input (context:base=input:base); buildx's
    // way to say that is bake's `target:` context, which is what this ports.
    it('testNamedInputContext + testNamedMultiplatformInputContext: one build\'s result (per platform, with its config) as another\'s named context, through bake target:', async () => {
      const dir = await dirWith({
        'd1/Dockerfile': `FROM --platform=$BUILDPLATFORM ${alpine}\nARG TARGETARCH\nENV FOO=bar-$TARGETARCH\nRUN echo "foo $TARGETARCH" > /out\n`,
        'd2/Dockerfile': 'FROM base AS build\nRUN echo "foo is $FOO" > /foo\nFROM scratch\nCOPY --from=build /foo /out /\n',
        'd3/Dockerfile': `FROM ${alpine}\nENV FOO=bar\nRUN echo first > /out\n`,
      });
      const [multi, single] = [join(dir, 'out-multi'), join(dir, 'out-single')];
      await writeFile(join(dir, 'docker-bake.hcl'), [
        'target "base" {', '  context = "d1"', '  platforms = ["linux/amd64", "linux/arm64"]', '}',
        'target "app" {', '  context = "d2"', '  contexts = { base = "target:base" }', '  platforms = ["linux/amd64", "linux/arm64"]', '  output = ["type=local,dest=out-multi"]', '}',
        'target "base1" {', '  context = "d3"', '}',
        'target "app1" {', '  context = "d2"', '  contexts = { base = "target:base1" }', '  output = ["type=local,dest=out-single"]', '}',
        '',
      ].join('\n'));
      ok(await tsbuild(['bake', '--root', root, '--progress', 'plain', 'app', 'app1'], { cwd: dir }));
      expect(await readFile(join(single, 'out'), 'utf8')).to.equal('first\n');
      expect(await readFile(join(single, 'foo'), 'utf8')).to.equal('foo is bar\n');
      for (const arch of ['amd64', 'arm64']) {
        expect((await readFile(join(multi, `linux_${arch}`, 'out'), 'utf8')).trim()).to.equal(`foo ${arch}`);
        expect((await readFile(join(multi, `linux_${arch}`, 'foo'), 'utf8')).trim()).to.equal(`foo is bar-${arch}`);
      }
    });

    // BuildKit measures the bytes its session sent for `[context foo] load from client` (only /foo for a mount or a
    // COPY --from, the whole directory for FROM foo); tsbuild reads a named directory in place and sends nothing, so
    // what is ported is that each target builds from the right files, with the stage named foo replaced or not.
    it('testNamedFilteredContext: a local named context through COPY --from, RUN --mount and FROM, with and without a stage it replaces', async () => {
      const foo = await dirWith({ foo: 'foo', bar: '\0'.repeat(4096 * 1000) });
      const base = `FROM scratch AS copy_from\nCOPY --from=foo /foo /\n\nFROM ${alpine} AS run_mount\nRUN --mount=from=foo,src=/foo,target=/in/foo cp /in/foo /foo\n\n` +
        `FROM foo AS image_source\nCOPY --from=${alpine} / /\nRUN cat /foo > /bar\n\nFROM scratch AS all\nCOPY --link --from=copy_from /foo /foo.b\nCOPY --link --from=run_mount /foo /foo.c\nCOPY --link --from=image_source /bar /foo.d\n`;
      const dir = await dirWith({ 'Dockerfile.new': base, 'Dockerfile.replace': `FROM scratch AS foo\nCOPY <<EOF /foo\ntest\nEOF\n${base}` });
      for (const variant of ['new', 'replace']) {
        const o = out();
        ok(await build(['-f', `Dockerfile.${variant}`, '--target', 'all', '--build-context', `foo=${foo}`, '-o', `type=local,dest=${o}`, '.'], dir));
        for (const f of ['foo.b', 'foo.c', 'foo.d']) expect(await readFile(join(o, f), 'utf8'), `${variant} ${f}`).to.equal('foo');
      }
    });

    it('testEagerNamedContextLookup: named contexts of stages the target does not need are never resolved', async () => {
      const dir = await dirWith({ Dockerfile: `FROM broken AS notused\n\nFROM ${alpine} AS base\nRUN echo "base" > /foo\n\nFROM busybox AS otherstage\n\nFROM scratch\nCOPY --from=base /foo /foo\n` });
      const o = out();
      ok(await build(['--build-context', 'notused=docker-image://docker.io/library/nosuchimage:latest', '--build-context', 'busybox=docker-image://docker.io/library/dontexist:latest',
        '-o', `type=local,dest=${o}`, '.'], dir));
      expect(await readFile(join(o, 'foo'), 'utf8')).to.equal('base\n');
    });
  });

  describe('dockerfile_outline_test.go, dockerfile_targets_test.go', () => {
    interface Located { name?: string; description?: string; value?: string; required?: boolean; base?: string; default?: boolean; location: { ranges: { start: { line: number } }[] } }
    interface Outline { name?: string; description?: string; args?: Located[]; secrets?: Located[]; ssh?: Located[]; targets?: Located[]; sources: string[] }
    const call = async (method: string, text: string, args: string[] = []): Promise<Outline> => {
      const dir = await dirWith({ Dockerfile: text });
      const r = ok(await build(['--call', `${method},format=json`, ...args, '.'], dir));
      const o = JSON.parse(r.stdout) as Outline;
      expect(o.sources.map((s) => Buffer.from(s, 'base64').toString())).to.deep.equal([text]);
      return o;
    };
    const line = (l: Located | undefined): number | undefined => l?.location.ranges[0]?.start.line;

    it('testOutlineArgs: the target\'s build args in order, values after --build-arg, descriptions from comments, lines', async () => {
      const o = await call('outline', '\nARG inherited=box\nARG inherited2=box2\nARG unused=abc${inherited2}\n# sfx is a suffix\nARG sfx="usy${inherited}"\n\nFROM b${sfx} AS first\n# this is not assigned to anything\nARG FOO=123\n# BAR is a number\nARG BAR=456\nRUN true\n\nFROM alpine${unused} AS second\nARG BAZ\nRUN true\n\nFROM scratch AS third\nARG ABC=a\n# check=skip=all\nARG password\n# alternate_password will show up in the outline\n# check=skip=all\nARG alternate_password\n\n# target defines build target\nFROM third AS target\nCOPY --from=first /etc/passwd /\n\nFROM second\n',
        ['--build-arg', 'BAR=678', '--target', 'target']);
      expect([o.name, o.description]).to.deep.equal(['target', 'defines build target']);
      expect(o.args?.map((a) => [a.name, a.value ?? '', a.description ?? '', line(a)])).to.deep.equal([
        ['inherited', 'box', '', 2], ['sfx', 'usybox', 'is a suffix', 6], ['FOO', '123', '', 10], ['BAR', '678', 'is a number', 12],
        ['ABC', 'a', '', 20], ['password', '', '', 22], ['alternate_password', '', 'will show up in the outline', 25],
      ]);
    });

    it('testOutlineSecrets: the secrets and SSH mounts of the target and the stages it needs, ids expanded', async () => {
      const o = await call('outline', '\nFROM busybox AS first\nRUN --mount=type=secret,target=/etc/passwd,required=true --mount=type=ssh true\n\nFROM alpine AS second\nRUN --mount=type=secret,id=unused --mount=type=ssh,id=ssh2 true\n\nFROM scratch AS third\nARG BAR\nRUN --mount=type=secret,id=second${BAR} true\n\nFROM third AS target\nCOPY --from=first /foo /\nRUN --mount=type=ssh,id=ssh3,required true\n\nFROM second\n',
        ['--build-arg', 'BAR=678', '--target', 'target']);
      expect(o.secrets?.map((s) => [s.name, s.required === true, line(s)])).to.deep.equal([['passwd', true, 3], ['second678', false, 10]]);
      expect(o.ssh?.map((s) => [s.name, s.required === true, line(s)])).to.deep.equal([['default', false, 3], ['ssh3', true, 14]]);
    });

    it('testOutlineRecursiveArgs: args defined from themselves, sorted by name', async () => {
      const o = await call('outline', '\nARG FOO=123\nARG ABC=abc\nARG DEF=def\nARG FOO=${FOO}${ABC}\nARG BAR=${FOO}456\nARG FOO=${FOO}456${BAR}\nFROM scratch\nARG FOO\nARG INFOO=123\nARG INBAR=${INFOO}456\nARG INFOO=${INFOO}456${INBAR}\n');
      expect(o.args?.map((a) => [a.name, a.value])).to.deep.equal([
        ['ABC', 'abc'], ['BAR', '123abc456'], ['FOO', '123abc456123abc456'], ['INBAR', '123456'], ['INFOO', '123456123456'],
      ]);
    });

    it('testTargetsList: every stage with its base, description, line and the default one', async () => {
      const o = await call('targets', '\n# build defines stage for compiling the binary\nFROM alpine AS build\nRUN true\n\nFROM busybox as second\nRUN false\n\nFROM alpine\nRUN false\n\n# binary returns the compiled binary\nFROM second AS binary\n');
      expect(o.targets?.map((t) => [t.name ?? '', t.base ?? '', t.description ?? '', t.default === true, line(t)])).to.deep.equal([
        ['build', 'alpine', 'defines stage for compiling the binary', false, 3], ['second', 'busybox', '', false, 6],
        ['', 'alpine', '', false, 9], ['binary', 'second', 'returns the compiled binary', true, 13],
      ]);
    });
  });

  describe('exclude_patterns_test.go', () => {
    const stages = (from: string, add: string): string => [
      `FROM scratch as builder1\nCOPY ${from}--exclude=*/*.png --exclude=*/*.jpeg . /1`,
      `FROM scratch as builder2\nCOPY ${from}--exclude=*/*.pdf --exclude=*/*.txt . /2`,
      `FROM scratch as builder3\n${add} ${from}--exclude=*.mp3 dir3/ /3/`,
      `FROM scratch as builder4\nCOPY ${from}--exclude=*.mp3 --exclude=*.jpeg --exclude=*.png --exclude=*.pdf --exclude=*.txt dir* /4/`,
      `FROM scratch as builder5\n${add} ${from}--exclude=*.mp* --exclude=*.jpeg --exclude=*.png --exclude=*.pdf dir* /5`,
      `FROM scratch as builder6\n${add} ${from}--exclude=* dir* /6`,
      'FROM scratch\n' + [1, 2, 3, 4, 5, 6].map((i) => `COPY --from=builder${i} / /builder${i}`).join('\n'),
      '',
    ].join('\n\n');
    const files = {
      'dir1/file-101.png': '2', 'dir1/file-102.txt': '3', 'dir1/file-103.jpeg': '4', 'dir2/file-201.pdf': '6', 'dir2/file-202.jpeg': '7', 'dir2/file-203.png': '8',
      'dir3/file-301.mp3': '9', 'dir3/file-302.mpeg': '10', 'dir4/file-401.txt': '11', 'dir4/file-402.txt': { link: 'file-401.txt' }, 'dir4/file-403.txt': { link: 'file-404.txt' },
    };
    // BuildKit's table: every path it names, with its content (a symlink's target), or null when it must be absent.
    const expected: Record<string, string | null> = {
      'builder1/1/dir1/file-101.png': null, 'builder1/1/dir1/file-102.txt': '3', 'builder1/1/dir1/file-103.jpeg': null, 'builder1/1/dir2/file-201.pdf': '6',
      'builder1/1/dir2/file-202.jpeg': null, 'builder1/1/dir2/file-203.png': null, 'builder1/1/dir3/file-301.mp3': '9', 'builder1/1/dir3/file-302.mpeg': '10',
      'builder1/1/dir4/file-401.txt': '11', 'builder1/1/dir4/file-402.txt': 'file-401.txt', 'builder1/1/dir4/file-403.txt': 'file-404.txt',
      'builder2/2/dir1/file-101.png': '2', 'builder2/2/dir1/file-102.txt': null, 'builder2/2/dir1/file-103.jpeg': '4', 'builder2/2/dir2/file-201.pdf': null,
      'builder2/2/dir2/file-202.jpeg': '7', 'builder2/2/dir2/file-203.png': '8', 'builder2/2/dir3/file-301.mp3': '9', 'builder2/2/dir3/file-302.mpeg': '10',
      'builder2/2/dir4/file-401.txt': null, 'builder2/2/dir4/file-402.txt': null, 'builder2/2/dir4/file-403.txt': null,
      'builder3/3/file-301.mp3': null, 'builder3/3/file-302.mpeg': '10',
      'builder4/4/file-101.png': null, 'builder4/4/file-102.txt': null, 'builder4/4/file-103.jpeg': null, 'builder4/4/file-201.pdf': null, 'builder4/4/file-202.jpeg': null,
      'builder4/4/file-203.png': null, 'builder4/4/file-301.mp3': null, 'builder4/4/file-302.mpeg': '10', 'builder4/4/dir4/file-401.txt': null,
      'builder4/4/dir4/file-402.txt': null, 'builder4/4/dir4/file-403.txt': null,
      'builder5/5/file-101.png': null, 'builder5/5/file-102.txt': '3', 'builder5/5/file-103.jpeg': null, 'builder5/5/file-201.pdf': null, 'builder5/5/file-202.jpeg': null,
      'builder5/5/file-203.png': null, 'builder5/5/file-301.mp3': null, 'builder5/5/file-302.mpeg': null, 'builder5/5/file-401.txt': '11',
      'builder5/5/file-402.txt': 'file-401.txt', 'builder5/5/file-403.txt': 'file-404.txt',
    };
    const check = async (o: string): Promise<void> => {
      for (const [rel, want] of Object.entries(expected)) {
        const st = await lstat(join(o, rel)).catch(() => undefined);
        if (want === null) { expect(st, `${rel} should not exist`).to.equal(undefined); continue; }
        expect(st, `${rel} should exist`).not.to.equal(undefined);
        expect(st?.isSymbolicLink() ? await readlink(join(o, rel)) : await readFile(join(o, rel), 'utf8'), rel).to.equal(want);
      }
      expect(await readdir(join(o, 'builder6', '6')), 'builder6/6: every file excluded, the directory made').to.deep.equal([]);
    };

    it('testExcludedFilesOnCopy: COPY/ADD --exclude from the context, wildcard sources merging directories into a destination without a slash', async () => {
      const dir = await dirWith({ ...files, Dockerfile: stages('', 'ADD') });
      await writeFile(join(dir, '.dockerignore'), 'Dockerfile\n.dockerignore\n');
      const o = out();
      ok(await build(['-o', `type=local,dest=${o}`, '.'], dir));
      await check(o);
    });

    it('testExcludedFilesOnCopy (git): the same from ADD --keep-git-dir of a repository over HTTP', async () => {
      const repo = join(env.dir, 'served', 'excl');
      await mkdir(repo);
      for (const [name, body] of Object.entries(files)) {
        await mkdir(join(repo, name, '..'), { recursive: true });
        if (typeof body === 'string') await writeFile(join(repo, name), body);
        else await symlink(body.link, join(repo, name));
      }
      const gitEnv = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
      for (const args of [['init', '-q'], ['add', '-A'], ['-c', 'user.email=test', '-c', 'user.name=test', 'commit', '-qm', '0.1'], ['tag', '0.1'], ['update-server-info']]) {
        await git('git', args, { cwd: repo, env: gitEnv });
      }
      const head = `FROM scratch AS base\nARG REPO="${httpUrl}/excl/.git"\nARG TAG="0.1"\nADD --keep-git-dir=true \${REPO}#\${TAG} /\n\n`;
      const dir = await dirWith({ Dockerfile: head + stages('--from=base ', 'COPY') });
      const o = out();
      ok(await build(['-o', `type=local,dest=${o}`, '.'], dir));
      await check(o);
    });
  });

  describe('errors_test.go', () => {
    // testErrorsSourceMap asserts the lines of the error's source map; tsbuild's error names the first and shows
    // each under it. Its `#syntax=foobar` case (a frontend image) and `copy --from=invalid` (a Docker Hub lookup)
    // are in named.md.
    const cases: [string, string, number[]][] = [
      ['invalidenv', 'from busybox\nenv', [2]],
      ['invalidrun', 'from scratch\nenv foo=bar\nrun what', [3]],
      ['invalidcopy', 'from scratch\nenv foo=bar\ncopy foo bar\nenv bar=baz', [3]],
      ['invalidflag', 'from scratch\nenv foo=bar\ncopy --foo=bar / /\nenv bar=baz', [3]],
      ['invalidmultiline', 'from scratch\nrun wh\\\nat\nenv bar=baz', [2, 3]],
    ];
    it(`testErrorsSourceMap: ${cases.map(([name]) => name).join(', ')} fail at their lines, every line of the instruction shown`, async () => {
      const results = await Promise.all(cases.map(async ([, text]) => build(['.'], await dirWith({ Dockerfile: text.replace('busybox', alpine) }))));
      cases.forEach(([name, text, lines], i) => {
        const r = results[i] as CliResult;
        expect(r.code, `${name}: ${r.stderr}`).to.equal(1);
        expect(r.stderr, name).to.match(new RegExp(`Dockerfile:${lines[0]}[:\\s]`));
        const shown = [...r.stderr.matchAll(/^ {2}(\d+) \| /gm)].map((m) => Number(m[1]));
        expect(shown, `${name}: the lines under the error`).to.deep.equal(lines);
        for (const l of lines) expect(r.stderr, name).to.contain(`${l} | ${text.split('\n')[l - 1]}`);
      });
    });
  });

  describe('dockerfile_export_test.go', () => {
    it('testTarExporterBasic + testTarExporterMulti: type=tar, one platform at the root, several under PLATFORM/', async () => {
      const dir = await dirWith({ foo: 'data', bar: 'data2', 'Dockerfile.basic': 'FROM scratch\nCOPY foo foo\n', Dockerfile: 'FROM scratch AS stage-linux\nCOPY foo forlinux\n\nFROM scratch AS stage-darwin\nCOPY bar fordarwin\n\nFROM stage-$TARGETOS\n' });
      const extracted = async (args: string[]): Promise<string> => {
        const o = out();
        ok(await build([...args, '-o', `type=tar,dest=${o}.tar`, '.'], dir));
        await mkdir(o);
        const t = await run('tar', ['-xf', `${o}.tar`, '-C', o]);
        expect(t.code, t.stderr).to.equal(0);
        return o;
      };
      expect(await readFile(join(await extracted(['-f', 'Dockerfile.basic']), 'foo'), 'utf8')).to.equal('data');
      expect(await readFile(join(await extracted([]), 'forlinux'), 'utf8')).to.equal('data');
      const multi = await extracted(['--platform', 'linux/amd64,darwin/amd64']);
      expect(await readFile(join(multi, 'linux_amd64', 'forlinux'), 'utf8')).to.equal('data');
      expect(await readFile(join(multi, 'darwin_amd64', 'fordarwin'), 'utf8')).to.equal('data2');
    });

    it('testExportMultiPlatform: local and OCI outputs of three platforms, each with its file, platform and label', async () => {
      const dir = await dirWith({ 'arch-arm': 'i am arm', 'arch-amd64': 'i am amd64', 'arch-s390x': 'i am s390x', 'arch-ppc64le': 'i am ppc64le',
        Dockerfile: 'FROM scratch\nARG TARGETARCH\nARG TARGETPLATFORM\nLABEL target=$TARGETPLATFORM\nCOPY arch-$TARGETARCH whoami\n' });
      const o = out();
      ok(await build(['--platform', 'windows/amd64,linux/arm,linux/s390x', '-o', `type=local,dest=${o}`, '.'], dir));
      expect(await readFile(join(o, 'windows_amd64', 'whoami'), 'utf8')).to.equal('i am amd64');
      expect(await readFile(join(o, 'linux_arm_v7', 'whoami'), 'utf8')).to.equal('i am arm');
      expect(await readFile(join(o, 'linux_s390x', 'whoami'), 'utf8')).to.equal('i am s390x');

      const layout = out();
      ok(await build(['--platform', 'windows/amd64,linux/arm/v6,linux/ppc64le', '--provenance=false', '-o', `type=oci,tar=false,dest=${layout}`, '.'], dir));
      const blob = async (digest: string): Promise<Buffer> => readFile(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)));
      const top = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      const index = JSON.parse((await blob(top.manifests[0]?.digest ?? '')).toString()) as { manifests: { digest: string; platform: { os: string; architecture: string; variant?: string } }[] };
      const want = [['windows/amd64', 'windows', 'amd64', 'i am amd64'], ['linux/arm/v6', 'linux', 'arm', 'i am arm'], ['linux/ppc64le', 'linux', 'ppc64le', 'i am ppc64le']];
      expect(index.manifests.map((m) => [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/'))).to.deep.equal(want.map((w) => w[0]));
      for (const [i, [p, os, arch, data]] of want.entries()) {
        const manifest = JSON.parse((await blob(index.manifests[i]?.digest ?? '')).toString()) as { config: { digest: string }; layers: { digest: string }[] };
        expect(manifest.layers).to.have.length(1);
        const layer = await runBytes('tar', ['-xzOf', join(layout, 'blobs', 'sha256', (manifest.layers[0]?.digest ?? '').slice(7)), 'whoami']);
        expect(layer.stdout.toString(), p).to.equal(data);
        const config = JSON.parse((await blob(manifest.config.digest)).toString()) as { os: string; architecture: string; config: { Labels?: Record<string, string> } };
        expect([config.os, config.architecture, config.config.Labels?.target]).to.deep.equal([os, arch, p]);
      }
    });

    it('testTarContext: a tar on stdin as the whole context, Dockerfile included', async () => {
      const dir = await dirWith({ 'ctx/Dockerfile': 'FROM scratch\nCOPY foo /', 'ctx/foo': 'contents' });
      const o = out();
      const r = await run('sh', ['-c', `tar -C ctx -cf - Dockerfile foo | "$0" build --root "$1" --progress plain -o type=local,dest="$2" -`, TSBUILD, root, o], { cwd: dir });
      expect(r.code, r.stderr).to.equal(0);
      expect(await readFile(join(o, 'foo'), 'utf8')).to.equal('contents');
    });

    // BuildKit's case sets the frontend's contextsubdir=sub/dir on an uploaded tar, which buildx never sets; what buildx
    // can say is a tarball URL context with a local (absolute) -f.
    it('testTarContextExternalDockerfile: a tarball URL context with a Dockerfile from outside it', async () => {
      const dir = await dirWith({ Dockerfile: 'FROM scratch\nCOPY foo bar\n', 'tar/foo': 'contents' });
      const t = await run('tar', ['-C', join(dir, 'tar'), '-cf', join(env.dir, 'served', 'ctx.tar'), 'foo']);
      expect(t.code, t.stderr).to.equal(0);
      const o = out();
      ok(await build(['-f', join(dir, 'Dockerfile'), '-o', `type=local,dest=${o}`, `${httpUrl}/ctx.tar`], dir));
      expect(await readFile(join(o, 'bar'), 'utf8')).to.equal('contents');
    });
  });
});
