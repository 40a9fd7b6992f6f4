import { expect } from 'chai';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tar from 'tar-stream';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { runBytes, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// BuildKit's own Dockerfile integration tests, group "config" (moby/buildkit frontend/dockerfile/
// dockerfile_{args,cmd,core,onbuild,multistage,image,history,platform,source_date_epoch}_test.go), run through the
// tsbuild CLI. Each `it` is named after the Go test function it ports; test/compat/buildkit-parity/config.md lists
// every function, with what is ported, fixed, different or not applicable here. Cases share one registry and one
// root, and many are batched into one Dockerfile, so the file stays well under a minute.

type Files = Record<string, string | { data: string | Buffer; mode: number }>;
interface OciIndex { manifests: { digest: string; mediaType: string; size: number; platform?: { os: string; architecture: string }; annotations?: Record<string, string> }[] }
interface ImageConfigJson {
  created?: string; os: string; architecture: string; rootfs: { type: string; diff_ids: string[] };
  config: { Env?: string[]; Entrypoint?: string[]; Cmd?: string[]; User?: string; WorkingDir?: string; Labels?: Record<string, string>; ExposedPorts?: Record<string, unknown> };
  history?: { created?: string; created_by?: string; empty_layer?: boolean }[];
}

describe('BuildKit parity: Dockerfile config (frontend/dockerfile/*_test.go)', function () {
  this.timeout(120_000);
  let env: BuildEnv | undefined;
  let dir = '';
  let host = '';
  let base = '';

  before(async () => {
    env = await startBuildEnv('tsbuild-bkcfg-');
    ({ dir, base } = env);
    host = env.registry.host;
  });
  after(async () => {
    await env?.stop();
  });

  const context = async (name: string, files: Files): Promise<string> => {
    const ctx = join(dir, `ctx-${name}`);
    await mkdir(ctx, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      await mkdir(join(ctx, file, '..'), { recursive: true });
      if (typeof content === 'string') await writeFile(join(ctx, file), content);
      else {
        await writeFile(join(ctx, file), content.data);
        await chmod(join(ctx, file), content.mode);
      }
    }
    return ctx;
  };
  const build = (args: string[], ctx: string): Promise<CliResult> =>
    tsbuild(['--root', join(dir, 'root'), 'build', '--progress', 'plain', '--provenance', 'false', ...args, ctx]);
  const ok = (r: CliResult): CliResult => {
    expect(r.code, r.stderr).to.equal(0);
    return r;
  };
  const failed = (r: CliResult): string => {
    expect(r.code, r.stderr).to.not.equal(0);
    return r.stderr;
  };
  /** Builds `files` to a local directory and returns it. */
  const local = async (name: string, files: Files, args: string[] = []): Promise<string> => {
    const out = join(dir, `out-${name}`);
    ok(await build([...args, '-o', `type=local,dest=${out}`], await context(name, files)));
    return out;
  };
  const read = (out: string, file: string): Promise<string> => readFile(join(out, file), 'utf8');
  const layout = async (path: string): Promise<{ index: OciIndex; blob: (digest: string) => Promise<Buffer> }> => ({
    index: JSON.parse(await readFile(join(path, 'index.json'), 'utf8')) as OciIndex,
    blob: (digest: string) => readFile(join(path, 'blobs/sha256', digest.replace('sha256:', ''))),
  });
  /** Builds `files` as an OCI layout directory and returns each platform's image config, in index order. */
  const configs = async (name: string, files: Files, args: string[] = []): Promise<ImageConfigJson[]> => {
    const out = join(dir, `oci-${name}`);
    ok(await build([...args, '-o', `type=oci,dest=${out},tar=false`], await context(name, files)));
    const { index, blob } = await layout(out);
    const found: ImageConfigJson[] = [];
    const walk = async (digest: string): Promise<void> => {
      const doc = JSON.parse((await blob(digest)).toString()) as { manifests?: { digest: string }[]; config?: { digest: string } };
      if (doc.manifests) for (const m of doc.manifests) await walk(m.digest);
      else if (doc.config) found.push(JSON.parse((await blob(doc.config.digest)).toString()) as ImageConfigJson);
    };
    for (const m of index.manifests) await walk(m.digest);
    return found;
  };
  const config = async (name: string, files: Files, args: string[] = []): Promise<ImageConfigJson> => {
    const [c] = await configs(name, files, args);
    if (!c) throw new Error(`${name}: no image config in the layout`);
    return c;
  };
  const push = async (name: string, files: Files, ref: string): Promise<void> => {
    ok(await build(['-t', ref, '--push'], await context(name, files)));
  };

  // The fixture's busybox has only root and nobody; BuildKit's tests read busybox's own /etc/passwd and /etc/group
  // (daemon, and root in wheel), so the stages that ask `id` write those entries first.
  const BUSYBOX_USERS = "RUN printf 'root:x:0:\\ndaemon:x:1:\\nwheel:x:10:root\\nnogroup:x:65534:\\n' > /etc/group && " +
    "printf 'root:x:0:0:root:/root:/bin/sh\\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\\nnobody:x:65534:65534:nobody:/home:/bin/false\\n' > /etc/passwd";

  describe('one Dockerfile of many stages, built once', () => {
    let out = '';
    before(async () => {
      const idTest = (want: string): string => `RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '${want}' ]`;
      const dockerfile = [
        'ARG a1="foo bar" a2=box',
        'ARG a3="$a2-foo"',
        'ARG q1="box"',
        'ARG q2="$q1-foo"',
        'ARG image=idlebox',
        // testMultiArgs
        `FROM ${host}/busy$a2 AS multiargs`,
        'ARG a3 a4="123 456" a1',
        'RUN echo -n "$a1:$a3:$a4" > /out',
        // testQuotedMetaArgs (its a1/a2/a3 are q1/q2/q3 here)
        `FROM ${host}/busy$q1 AS quoted`,
        'ARG q2',
        'ARG q3="bar-$q2"',
        'RUN echo -n $q3 > /out',
        // testDefaultEnvWithArgs
        `FROM ${host}/busy\${image#idle} AS defenv`,
        'ARG my_arg',
        'ENV my_arg "my_arg=${my_arg:-def_val}"',
        'ENV my_trimmed_arg "${my_arg%%e*}"',
        'COPY myscript.sh myscript.sh',
        'RUN ./myscript.sh $my_arg $my_trimmed_arg',
        // testEmptyStringArgInEnv
        `FROM ${base} AS emptyarg`,
        'ARG FOO',
        'ARG BAR=',
        'RUN env > env.txt',
        // testEnvEmptyFormatting
        `FROM ${base} AS envfmt`,
        'ENV myenv foo%sbar',
        'RUN [ "$myenv" = \'foo%sbar\' ] && touch /ok',
        // testTargetStageNameArg (the target is the unnamed last stage: TARGETSTAGE=default)
        `FROM ${base} AS tsn`,
        'WORKDIR /out',
        'RUN echo -n "value:$TARGETSTAGE" > /out/first',
        'ARG TARGETSTAGE',
        'RUN echo -n "value:$TARGETSTAGE" > /out/second',
        // testUser
        `FROM ${base} AS user`,
        BUSYBOX_USERS,
        'RUN mkdir -m 0777 /out',
        'RUN id -un > /out/rootuser',
        `RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)" = '0:0/root:root' ]`,
        'USER root',
        `RUN [ "$(id -G):$(id -Gn)" = '0 10:root wheel' ]`,
        "RUN echo 'dockerio:x:1001:1001::/bin:/bin/false' >> /etc/passwd && echo 'dockerio:x:1001:' >> /etc/group",
        'USER dockerio',
        idTest('1001:1001/dockerio:dockerio/1001:dockerio'),
        'USER root',
        `${idTest('0:0/root:root/0 10:root wheel')} && echo 'supplementary:x:1002:dockerio' >> /etc/group`,
        'USER dockerio',
        idTest('1001:1001/dockerio:dockerio/1001 1002:dockerio supplementary'),
        'USER 1001',
        idTest('1001:1001/dockerio:dockerio/1001 1002:dockerio supplementary'),
        'USER dockerio:dockerio',
        idTest('1001:1001/dockerio:dockerio/1001:dockerio'),
        'USER 1001:dockerio',
        idTest('1001:1001/dockerio:dockerio/1001:dockerio'),
        'USER dockerio:1001',
        idTest('1001:1001/dockerio:dockerio/1001:dockerio'),
        'USER 1001:1001',
        idTest('1001:1001/dockerio:dockerio/1001:dockerio'),
        'USER dockerio:supplementary',
        idTest('1001:1002/dockerio:supplementary/1002:supplementary'),
        'USER dockerio:1002',
        idTest('1001:1002/dockerio:supplementary/1002:supplementary'),
        'USER 1001:supplementary',
        idTest('1001:1002/dockerio:supplementary/1002:supplementary'),
        'USER 1001:1002',
        idTest('1001:1002/dockerio:supplementary/1002:supplementary'),
        'USER 1042:1043',
        idTest('1042:1043/1042:1043/1043:1043'),
        'USER daemon',
        'RUN id -un > /out/daemonuser',
        // testUserAdditionalGids (CVE-2023-25173: the primary group is in the supplementary list)
        `FROM ${base} AS gids`,
        BUSYBOX_USERS,
        'SHELL ["/bin/sh", "-euxc"]',
        'RUN [ "$(id)" = "uid=0(root) gid=0(root) groups=0(root),10(wheel)" ]',
        'USER 1234',
        'RUN [ "$(id)" = "uid=1234 gid=0(root) groups=0(root)" ]',
        'USER 1234:1234',
        'RUN [ "$(id)" = "uid=1234 gid=1234 groups=1234" ]',
        'USER daemon',
        'RUN [ "$(id)" = "uid=1(daemon) gid=1(daemon) groups=1(daemon)" ] && touch /tmp/ok',
        // testDockerfileDirs
        `FROM ${base} AS dirs`,
        'COPY foo /foo2',
        'COPY foo /',
        'RUN echo -n bar > foo3',
        'RUN test -f foo',
        'RUN cmp -s foo foo2',
        'RUN cmp -s foo foo3',
        // testMultiStageImplicitFrom: a stage named like an image masks it
        `FROM ${base} AS golang`,
        'RUN mkdir -p /usr/bin && echo -n foo > /usr/bin/go',
        // testMultiStageCaseInsensitive
        'FROM scratch AS STAge0',
        'COPY foo bar',
        'FROM scratch AS staGE1',
        'COPY --from=staGE0 bar baz',
        // testOnBuildInheritedStageRun
        `FROM ${base} AS obbase`,
        'ONBUILD RUN mkdir -p /out && echo -n 11 >> /out/foo',
        'FROM obbase AS obmid',
        'RUN cp /out/foo /out/bar',
        // testOnBuildInheritedStageWithFrom: the trigger reads a stage the inheriting stage never names
        `FROM ${base} AS obsrc`,
        'RUN mkdir -p /in && echo -n 12 > /in/file',
        `FROM ${base} AS obbase2`,
        'ONBUILD COPY --from=obsrc /in/file /out/foo',
        'FROM obbase2 AS obmid2',
        'RUN cp /out/foo /out/bar',
        // testPlatformArgsImplicit
        'FROM scratch AS build-linux',
        'COPY foo bar',
        'FROM build-${TARGETOS} AS pimplicit',
        'COPY foo2 bar2',
        'FROM scratch',
        'COPY --from=multiargs /out /multiargs',
        'COPY --from=quoted /out /quoted',
        'COPY --from=defenv /out /defenv',
        'COPY --from=emptyarg /env.txt /emptyarg',
        'COPY --from=envfmt /ok /envfmt',
        'COPY --from=tsn /out/ /tsn/',
        'COPY --from=user /out/ /user/',
        'COPY --from=gids /tmp/ok /gids',
        'COPY --from=dirs /foo3 /dirs',
        `COPY --from=${base} /etc/passwd /implicit`,
        'COPY --from=golang /usr/bin/go /golang',
        'COPY --from=stage1 baz /caseinsensitive',
        'COPY --from=obmid /out/bar /onbuildrun',
        'COPY --from=obmid2 /out/bar /onbuildfrom',
        'COPY --from=pimplicit /bar /bar2 /pimplicit/',
        '',
      ].join('\n');
      out = await local('batch', {
        Dockerfile: dockerfile, foo: 'bar', foo2: 'd1',
        'myscript.sh': { data: '\n#!/usr/bin/env sh\necho -n $my_arg $* > /out\n', mode: 0o700 },
      });
    });

    it('testMultiArgs: global ARGs in FROM, several ARGs on one line, quoted values', async () => {
      expect(await read(out, 'multiargs')).to.equal('foo bar:box-foo:123 456');
    });
    it('testQuotedMetaArgs: a global ARG expanded into another, then into a stage ARG', async () => {
      expect(await read(out, 'quoted')).to.equal('bar-box-foo');
    });
    it('testDefaultEnvWithArgs: ${v:-default} and ${v%%pattern} in ENV, FROM busy${image#idle}', async () => {
      expect(await read(out, 'defenv')).to.equal('my_arg=def_val my_arg=def_val my_arg=d');
    });
    it('testEmptyStringArgInEnv: ARG BAR= is in RUN\'s environment, ARG FOO without value is not', async () => {
      const envText = await read(out, 'emptyarg');
      expect(envText).to.match(/^BAR=$/m);
      expect(envText).to.not.match(/^FOO=/m);
    });
    it('testEnvEmptyFormatting: ENV keeps a literal %s', async () => {
      expect(await read(out, 'envfmt')).to.equal('');
    });
    it('testTargetStageNameArg: TARGETSTAGE only once declared, "default" for an unnamed target', async () => {
      expect(await read(out, 'tsn/first')).to.equal('value:');
      expect(await read(out, 'tsn/second')).to.equal('value:default');
    });
    it('testUser: USER by name, uid, user:group in every form, supplementary groups from /etc/group', async () => {
      expect(await read(out, 'user/rootuser')).to.equal('root\n');
      expect(await read(out, 'user/daemonuser')).to.equal('daemon\n');
    });
    it('testUserAdditionalGids: the primary group is among the additional groups', async () => {
      expect(await read(out, 'gids')).to.equal('');
    });
    it('testDockerfileDirs: COPY to a file and to /, then RUN sees both', async () => {
      expect(await read(out, 'dirs')).to.equal('bar');
    });
    it('testMultiStageImplicitFrom: COPY --from an image, and a stage named like an image masks it', async () => {
      expect(await read(out, 'implicit')).to.match(/^root:x:0:0:/);
      expect(await read(out, 'golang')).to.equal('foo');
    });
    it('testMultiStageCaseInsensitive: stage names match whatever their case', async () => {
      expect(await read(out, 'caseinsensitive')).to.equal('bar');
    });
    it('testOnBuildInheritedStageRun: a stage\'s ONBUILD RUN fires in the stage built FROM it', async () => {
      expect(await read(out, 'onbuildrun')).to.equal('11');
    });
    it('testOnBuildInheritedStageWithFrom: an inherited ONBUILD COPY --from reads a stage only the trigger names', async () => {
      expect(await read(out, 'onbuildfrom')).to.equal('12');
    });
    it('testPlatformArgsImplicit: FROM build-${TARGETOS} picks the stage of the target OS', async () => {
      expect(await read(out, 'pimplicit/bar')).to.equal('bar');
      expect(await read(out, 'pimplicit/bar2')).to.equal('d1');
    });
  });

  describe('build args', () => {
    it('testGlobalArg: a global ARG default replaced by --build-arg in FROM', async () => {
      const ctx = await context('globalarg', { Dockerfile: `ARG tag=nosuchtag\nFROM ${host}/busybox:\${tag}\n` });
      failed(await build([], ctx));
      ok(await build(['--build-arg', 'tag=latest'], ctx));
    });

    it('testGlobalArgErrors: ${FOO:?msg} in a global ARG fails with the message unless FOO is given', async () => {
      const ctx = await context('globalargerr', { Dockerfile: `ARG FOO=\${FOO:?"custom error"}\nFROM ${base}\n` });
      expect(failed(await build([], ctx))).to.contain('FOO: custom error');
      ok(await build(['--build-arg', 'FOO=bar'], ctx));
    });

    it('testArgDefaultExpansion: a stage ARG\'s default is expanded only when no --build-arg replaces it', async () => {
      const ctx = await context('argdefault', { Dockerfile: 'FROM scratch\nARG FOO\nARG BAR=${FOO:?"foo missing"}\n' });
      expect(failed(await build([], ctx))).to.contain('FOO: foo missing');
      ok(await build(['--build-arg', 'FOO=123'], ctx));
      // dockerfile2llb dispatchArg: the default of BAR is never processed when BAR is given.
      ok(await build(['--build-arg', 'BAR=123'], ctx));
    });

    it('testBuiltinArgs: proxy args reach RUN without ARG and stay out of the cache key; other args do not', async () => {
      const files = { Dockerfile: `FROM ${base} AS build\nARG FOO\nARG BAR\nARG BAZ=bazcontent\nRUN echo -n $HTTP_PROXY::$NO_PROXY::$FOO::$BAR::$BAZ > /out\nFROM scratch\nCOPY --from=build /out /\n` };
      const first = await local('builtin1', files, ['--build-arg', 'FOO=foocontents', '--build-arg', 'http_proxy=hpvalue', '--build-arg', 'NO_PROXY=npvalue']);
      expect(await read(first, 'out')).to.equal('hpvalue::npvalue::foocontents::::bazcontent');
      // A changed proxy value alone hits the cache: the old output comes back.
      const second = await local('builtin2', files, ['--build-arg', 'FOO=foocontents', '--build-arg', 'http_proxy=hpvalue2']);
      expect(await read(second, 'out')).to.equal('hpvalue::npvalue::foocontents::::bazcontent');
      const third = await local('builtin3', files, ['--build-arg', 'FOO=foocontents2', '--build-arg', 'http_proxy=hpvalue2']);
      expect(await read(third, 'out')).to.equal('hpvalue2::::foocontents2::::bazcontent');
    });

    it('testTargetStageNameArg: TARGETSTAGE is the --target stage\'s name', async () => {
      const out = await local('tsn-target', {
        Dockerfile: `FROM ${base} AS base\nWORKDIR /out\nRUN echo -n "value:$TARGETSTAGE" > /out/first\nARG TARGETSTAGE\nRUN echo -n "value:$TARGETSTAGE" > /out/second\n\nFROM scratch AS foo\nCOPY --from=base /out/ /\n\nFROM scratch\nCOPY --from=base /out/ /\n`,
      }, ['--target', 'foo']);
      expect(await read(out, 'first')).to.equal('value:');
      expect(await read(out, 'second')).to.equal('value:foo');
    });

    it('testPlatformArgsExplicit: --platform and a --build-arg TARGETOS reach a $BUILDPLATFORM stage', async () => {
      const out = await local('platform-explicit', {
        Dockerfile: `FROM --platform=$BUILDPLATFORM ${base} AS build\nARG TARGETPLATFORM\nARG TARGETOS\nRUN mkdir /out && echo -n $TARGETPLATFORM > /out/platform && echo -n $TARGETOS > /out/os\nFROM scratch\nCOPY --from=build out .\n`,
      }, ['--platform', 'darwin/ppc64le', '--build-arg', 'TARGETOS=freebsd']);
      expect(await read(out, 'platform')).to.equal('darwin/ppc64le');
      expect(await read(out, 'os')).to.equal('freebsd');
    });

    it('testDockerfileCheckHostname: BUILDKIT_SANDBOX_HOSTNAME names RUN\'s host', async () => {
      const ctx = await context('hostname', { Dockerfile: `FROM ${base}\nRUN cat /etc/hosts | grep foo\nRUN echo $HOSTNAME | grep foo\n\tRUN echo $(hostname) | grep foo\n\t` });
      ok(await build(['--build-arg', 'BUILDKIT_SANDBOX_HOSTNAME=foo'], ctx));
    });
  });

  describe('errors', () => {
    const fails = async (name: string, files: Files, args: string[] = []): Promise<string> => failed(await build(args, await context(name, files)));

    it('testInvalidJSONCommands: RUN ["echo", "hello"]this is invalid runs as a shell command, and fails saying so', async () => {
      expect(await fails('invalidjson', { Dockerfile: `FROM ${base}\nRUN ["echo", "hello"]this is invalid\n` })).to.contain('this is invalid');
    });
    it('testDockerfileInvalidCommand: a failing RUN names its command and "did not complete successfully"', async () => {
      const err = await fails('invalidcmd', { Dockerfile: `\tFROM ${base}\n\tRUN invalidcmd\n` });
      expect(err).to.contain('/bin/sh -c invalidcmd').and.contain('did not complete successfully');
    });
    it('testDockerfileInvalidInstruction: an unknown instruction, with the closest one suggested', async () => {
      const err = await fails('invalidinst', { Dockerfile: 'FROM scratch\nFNTRYPOINT ["/bin/sh", "-c", "echo invalidinstruction"]\n' });
      expect(err).to.contain('unknown instruction').and.contain('FNTRYPOINT').and.contain('did you mean ENTRYPOINT?');
    });
    it('testTargetMistype: --target bulid suggests build (edit distance 2, as BuildKit\'s suggest.Search)', async () => {
      const err = await fails('mistype', { Dockerfile: 'FROM scratch AS build\nCOPY Dockerfile /out\nFROM scratch\nCOPY --from=build /out /\n' }, ['--target', 'bulid']);
      expect(err).to.contain('target stage "bulid" could not be found').and.contain('did you mean build?');
    });
    it('testOutOfOrderStage: COPY --from a stage defined further down is refused', async () => {
      for (const src of ['/', '/d2']) {
        const err = await fails(`outoforder${src.replace('/', '-')}`, { Dockerfile: `FROM ${base} AS target\nCOPY --from=build ${src} /out\nFROM ${base} AS build\nCOPY /Dockerfile /d2\nFROM target\n` });
        expect(err).to.contain('cannot copy from stage').and.contain('needs to be defined before current stage');
      }
    });
    it('testEmptyStages: a Dockerfile of only ARG has no stages to build', async () => {
      expect(await fails('emptystages', { Dockerfile: 'ARG foo=bar' })).to.contain('dockerfile contains no stages to build');
    });
  });

  describe('contexts and Dockerfiles', () => {
    it('testDockerfileDirs: the Dockerfile and the context in different directories (-f)', async () => {
      const ctx = await context('dirs-context', { foo: 'bar' });
      const df = await context('dirs-dockerfile', { Dockerfile: `FROM ${base}\nCOPY foo /foo2\nCOPY foo /\nRUN echo -n bar > foo3\nRUN test -f foo\nRUN cmp -s foo foo2\nRUN cmp -s foo foo3\n` });
      ok(await build(['-f', join(df, 'Dockerfile')], ctx));
    });
    it('testSymlinkedDockerfile: a Dockerfile that is a symlink to Dockerfile.web', async () => {
      const ctx = await context('symlinked', { 'Dockerfile.web': 'FROM scratch\nENV foo bar\n' });
      await symlink('Dockerfile.web', join(ctx, 'Dockerfile'));
      ok(await build([], ctx));
    });
    it('testDockerfileLowercase: a context with only `dockerfile` builds (moby/moby#10858)', async () => {
      ok(await build([], await context('lowercase', { dockerfile: 'FROM scratch\n' })));
    });
    it('testSymlinkDestination: COPY into a symlink an ADDed tar made follows it inside the root', async () => {
      const pack = tar.pack();
      pack.entry({ name: 'symlink', type: 'symlink', linkname: '../tmp/symlink-target', mode: 0o755 });
      pack.finalize();
      const chunks: Buffer[] = [];
      for await (const c of pack) chunks.push(c as Buffer);
      const out = await local('symlinkdest', { Dockerfile: 'FROM scratch\nADD t.tar /\nCOPY foo /symlink/\n', foo: 'content0', 't.tar': { data: Buffer.concat(chunks), mode: 0o600 } });
      expect(await read(out, 'tmp/symlink-target/foo')).to.equal('content0');
    });
    it('testContextChangeDirToFile: a context path that was a directory and is now a file', async () => {
      await local('dirtofile', { Dockerfile: 'FROM scratch\nCOPY foo /\n', 'foo/bar': 'contents' });
      const ctx = join(dir, 'ctx-dirtofile2');
      await mkdir(ctx);
      await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY foo /\n');
      await writeFile(join(ctx, 'foo'), 'contents2');
      const out = join(dir, 'out-dirtofile2');
      ok(await build(['-o', `type=local,dest=${out}`], ctx));
      expect(await read(out, 'foo')).to.equal('contents2');
    });
    it('testNoSnapshotLeak: building the same thing again adds no cache record', async () => {
      const ctx = await context('snapshotleak', { Dockerfile: 'FROM scratch\nCOPY foo /\n', foo: 'contents' });
      ok(await build([], ctx));
      const du = async (): Promise<number> => ok(await tsbuild(['--root', join(dir, 'root'), 'du', '--verbose'])).stdout.split('\n').length;
      const before = await du();
      ok(await build([], ctx));
      expect(await du()).to.equal(before);
    });
    it('testStepNames: steps are numbered as BuildKit numbers them: no FROM scratch, no config-only steps', async () => {
      const r = ok(await build([], await context('stepnames', { Dockerfile: `FROM ${base} AS base\nWORKDIR /out\nRUN echo "base" > base\nFROM scratch\nCOPY --from=base --chmod=0644 /out /out\n` })));
      expect(r.stderr).to.contain('[base 3/3] RUN echo "base" > base').and.contain('[stage-1 1/1] COPY --from=base --chmod=0644 /out /out');
    });
  });

  describe('image config and history', () => {
    it('testCmdShell: ENTRYPOINT shell form runs through SHELL and clears a base image\'s CMD', async () => {
      const ref = `${host}/parity/cmdoverridetest:latest`;
      await push('cmdshell-base', { Dockerfile: 'FROM scratch\nCMD ["test"]\n' }, ref);
      const c = await config('cmdshell', { Dockerfile: `FROM ${ref}\nSHELL ["ls"]\nENTRYPOINT my entrypoint\n` });
      expect(c.config.Cmd).to.equal(undefined);
      expect(c.config.Entrypoint).to.deep.equal(['ls', 'my entrypoint']);
    });
    it('testDefaultShellAndPath: windows images get cmd /S /C and no PATH, linux ones /bin/sh -c and PATH', async () => {
      const [windows, linux] = await configs('defaultshell', { Dockerfile: 'FROM scratch\nENTRYPOINT foo bar\nCOPY Dockerfile .\n' }, ['--platform', 'windows/amd64,linux/amd64']);
      expect(windows?.os).to.equal('windows');
      expect(windows?.config.Entrypoint).to.deep.equal(['cmd', '/S', '/C', 'foo bar']);
      expect(windows?.config.Env).to.equal(undefined);
      expect(linux?.os).to.equal('linux');
      expect(linux?.config.Entrypoint).to.deep.equal(['/bin/sh', '-c', 'foo bar']);
      expect(linux?.config.Env).to.deep.equal(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    });
    it('testIgnoreEntrypoint: RUN does not go through the stage\'s ENTRYPOINT', async () => {
      ok(await build([], await context('ignoreentrypoint', { Dockerfile: `FROM ${base}\nENTRYPOINT ["/nosuchcmd"]\nRUN ["ls"]\n` })));
    });
    it('testInvalidJSONCommands: ENTRYPOINT []random string is shell form', async () => {
      const c = await config('entrypoint-notjson', { Dockerfile: `FROM ${base}\nENTRYPOINT []random string\n` });
      expect(c.config.Entrypoint).to.deep.equal(['/bin/sh', '-c', '[]random string']);
    });
    it('testExposeExpansion: EXPOSE $PORTS expands to several ports', async () => {
      const c = await config('expose', { Dockerfile: 'FROM scratch\nARG PORTS="3000 4000/udp"\nEXPOSE $PORTS\nEXPOSE 5000\n' });
      expect(Object.keys(c.config.ExposedPorts ?? {}).sort()).to.deep.equal(['3000/tcp', '4000/udp', '5000/tcp']);
    });
    it('testLabels: LABEL and --label both reach the config', async () => {
      const c = await config('labels', { Dockerfile: 'FROM scratch\nLABEL foo=bar\n' }, ['--label', 'bar=baz']);
      expect(c.config.Labels).to.deep.equal({ foo: 'bar', bar: 'baz' });
    });
    it('testUser: the exported config has the last USER', async () => {
      const c = await config('user-config', { Dockerfile: `FROM ${base} AS base\nRUN mkdir -m 0777 /out\nFROM scratch\nCOPY --from=base /out /\nUSER nobody\n` });
      expect(c.config.User).to.equal('nobody');
    });
    it('testDockerfileScratchConfig: FROM scratch has os, architecture, WorkingDir, PATH and one history entry per step', async () => {
      const c = await config('scratchconfig', { Dockerfile: 'FROM scratch\nENV foo=bar\n' });
      expect(c.os).to.not.equal('');
      expect(c.architecture).to.not.equal('');
      expect(c.config.WorkingDir).to.not.equal('');
      expect(c.rootfs).to.deep.equal({ type: 'layers', diff_ids: [] });
      expect(c.history).to.have.length(1);
      expect(c.history?.[0]?.created_by).to.contain('ENV foo=bar');
      expect(c.history?.[0]?.empty_layer).to.equal(true);
      expect(c.config.Env).to.include('foo=bar');
      expect(c.config.Env?.some((e) => e.startsWith('PATH='))).to.equal(true);
    });
    it('testPullScratch: an image of no layers is a base; its labels are kept and COPY adds the only layer', async () => {
      const ref = `${host}/parity/testpullscratch:latest`;
      await push('pullscratch-base', { Dockerfile: 'FROM scratch\nLABEL foo=bar\n' }, ref);
      const c = await config('pullscratch', { Dockerfile: `FROM ${ref}\nLABEL bar=baz\nCOPY foo .\n`, foo: 'foo-contents' });
      expect(c.rootfs.type).to.equal('layers');
      expect(c.rootfs.diff_ids).to.have.length(1);
      expect(c.config.Labels).to.deep.equal({ foo: 'bar', bar: 'baz' });
    });
    it('testExportedHistory: one entry per step of the final stage, EXPOSE\'s ports sorted as BuildKit\'s parseExpose', async () => {
      const baseHistory = (await config('history-base', { Dockerfile: `FROM ${base}\n` })).history?.length ?? 0;
      const c = await config('history', {
        Dockerfile: `FROM ${base} AS base\nENV foo=bar\nCOPY foo /foo2\nFROM ${base}\nLABEL lbl=val\nCOPY --from=base foo2 foo3\nWORKDIR /\nRUN echo bar > foo4\nRUN ["ls"]\nEXPOSE 2375 5000 1234/udp\n`,
        foo: 'contents0',
      });
      const h = c.history ?? [];
      expect(h).to.have.length(baseHistory + 6);
      const steps = h.slice(baseHistory).map((e) => [e.created_by, e.empty_layer === true, e.created !== undefined]);
      expect(steps.map(([by]) => by)).to.satisfy((by: string[]) => ['lbl=val', 'COPY foo2 foo3', 'WORKDIR /', 'echo bar > foo4', 'RUN ls', 'EXPOSE [1234/udp 2375/tcp 5000/tcp]'].every((want, i) => by[i]?.includes(want)));
      expect(steps.map(([, empty]) => empty)).to.deep.equal([true, false, true, false, false, true]);
      expect(steps.every(([, , created]) => created)).to.equal(true);
    });
    it('testExportedHistoryFlattenArgs: a re-declared ARG keeps its place in RUN\'s |N prefix', async () => {
      const c = await config('history-args', { Dockerfile: `FROM ${base}\nARG foo=bar\nARG bar=123\nARG foo=bar2\nRUN ls /etc/\n` });
      const h = (c.history ?? []).map((e) => e.created_by ?? '');
      const first = h.indexOf('ARG foo=bar');
      expect(first).to.be.greaterThan(0);
      expect(h).to.have.length(first + 4);
      expect(h[first + 1]).to.contain('ARG bar=123');
      expect(h[first + 2]).to.contain('ARG foo=bar2');
      expect(h[first + 3]).to.contain('ls /etc/').and.contain('RUN |2 foo=bar2 bar=123 ').and.not.contain('ARG foo=bar');
    });
  });

  describe('SOURCE_DATE_EPOCH', () => {
    it('testSourceDateEpochWithoutExporter: the build arg dates the image and every history entry', async () => {
      const c = await config('sde-config', { Dockerfile: 'FROM scratch\nENTRYPOINT foo bar\nCOPY Dockerfile .\n' }, ['--build-arg', 'SOURCE_DATE_EPOCH=1700000001']);
      expect(c.history?.length).to.be.greaterThan(0);
      for (const at of [c.created, ...(c.history ?? []).map((h) => h.created)]) expect(at).to.equal('2023-11-14T22:13:21Z');
    });
    it('testSourceDateEpochDockerfileDefaultOverride: rewrite-timestamp marks each layer it rewrote with the epoch', async () => {
      const out = join(dir, 'oci-sde-rewrite');
      const ctx = await context('sde-rewrite', { Dockerfile: 'ARG SOURCE_DATE_EPOCH=1700000001\nFROM scratch\nCOPY Dockerfile .\n' });
      ok(await build(['--build-arg', 'SOURCE_DATE_EPOCH=1700000002', '-o', `type=oci,dest=${out},tar=false,rewrite-timestamp=true`], ctx));
      const { index, blob } = await layout(out);
      const manifest = JSON.parse((await blob(index.manifests[0]?.digest ?? '')).toString()) as { layers: { annotations?: Record<string, string> }[] };
      expect(manifest.layers).to.have.length(1);
      expect(manifest.layers[0]?.annotations?.['buildkit/rewritten-timestamp']).to.equal('1700000002');
    });
  });

  describe('OCI layouts', () => {
    it('testOCILayoutMultiname: one index.json entry per name, normalized, in a directory and in a tarball', async () => {
      const ctx = await context('multiname', { Dockerfile: 'FROM scratch\nCOPY <<EOF /foo\nhello\nEOF\n' });
      const out = join(dir, 'oci-multiname');
      ok(await build(['-o', `type=oci,dest=${out},tar=false,"name=org/repo:tag1,org/repo:tag2"`], ctx));
      const check = (index: OciIndex): void => {
        const [one, two] = index.manifests;
        expect(index.manifests).to.have.length(2);
        expect(one?.digest).to.equal(two?.digest);
        expect(one?.mediaType).to.equal(two?.mediaType);
        expect(one?.size).to.equal(two?.size);
        expect(one?.annotations?.['io.containerd.image.name']).to.equal('docker.io/org/repo:tag1');
        expect(two?.annotations?.['io.containerd.image.name']).to.equal('docker.io/org/repo:tag2');
        expect(one?.annotations?.['org.opencontainers.image.ref.name']).to.equal('tag1');
        expect(two?.annotations?.['org.opencontainers.image.ref.name']).to.equal('tag2');
      };
      check((await layout(out)).index);
      const tarball = join(dir, 'multiname.tar');
      ok(await build(['-o', `type=oci,dest=${tarball},"name=org/repo:tag1,org/repo:tag2"`], ctx));
      const index = await runBytes('tar', ['-xOf', tarball, 'index.json']);
      check(JSON.parse(index.stdout.toString()) as OciIndex);
    });
    it('testMultiNilRefsOCIExporter: FROM scratch for two platforms is an index of two manifests', async () => {
      const out = join(dir, 'oci-nilrefs');
      ok(await build(['--platform', 'linux/arm64,linux/amd64', '-o', `type=oci,dest=${out},tar=false`], await context('nilrefs', { Dockerfile: 'FROM scratch' })));
      const { index, blob } = await layout(out);
      expect(index.manifests).to.have.length(1);
      const inner = JSON.parse((await blob(index.manifests[0]?.digest ?? '')).toString()) as OciIndex;
      expect(inner.manifests).to.have.length(2);
    });
  });

  describe('ONBUILD through a registry', () => {
    it('testOnBuildCleared: triggers fire once, in the first child, and are gone from its image', async () => {
      await push('onbuild-base', { Dockerfile: `FROM ${base}\nONBUILD RUN mkdir -p /out && echo -n 11 >> /out/foo\n` }, `${host}/parity/testonbuild:base`);
      await push('onbuild-child', { Dockerfile: `\tFROM ${host}/parity/testonbuild:base\n\t` }, `${host}/parity/testonbuild:child`);
      const out = await local('onbuild-cleared', { Dockerfile: `\tFROM ${host}/parity/testonbuild:child AS base\n\tFROM scratch\n\tCOPY --from=base /out /\n\t` });
      expect(await read(out, 'foo')).to.equal('11');
    });
    it('testOnBuildWithChildStage: the base image\'s triggers do not fire again in a stage FROM the stage (moby/buildkit#5578)', async () => {
      await push('onbuild-stage-base', { Dockerfile: `FROM ${base}\nONBUILD RUN mkdir -p /out && echo -n yes >> /out/didrun\n` }, `${host}/parity/testonbuildstage:base`);
      const out = await local('onbuild-stage', {
        Dockerfile: `FROM ${host}/parity/testonbuildstage:base AS base\nRUN [ -f /out/didrun ] && touch /step1\nRUN rm /out/didrun\nRUN [ ! -f /out/didrun ] && touch /step2\nFROM base AS child\nRUN [ ! -f /out/didrun ] && touch /step3\nFROM scratch\nCOPY --from=child /step* /\n`,
      });
      for (const f of ['step1', 'step2', 'step3']) expect(await read(out, f)).to.equal('');
    });
    it('testOnBuildWithCacheMount: an ONBUILD RUN --mount=type=cache shares the cache of the child\'s RUN', async () => {
      await push('onbuild-cache-base', { Dockerfile: `FROM ${base}\nONBUILD RUN --mount=type=cache,target=/cache echo -n 42 >> /cache/foo && echo -n 11 >> /bar\n` }, `${host}/parity/testonbuildcache:base`);
      ok(await build([], await context('onbuild-cache', { Dockerfile: `FROM ${host}/parity/testonbuildcache:base\nRUN --mount=type=cache,target=/cache [ "$(cat /cache/foo)" = "42" ] && [ "$(cat /bar)" = "11" ]\n` })));
    });
  });
});
