import { expect } from 'chai';
import { amd64, arm64, build, copy, exec, vertex } from './compile-fixtures.js';
import { neededStageBases } from './stage-plan.js';
import { keyOp } from '../../solver/cache-key.js';

describe('compile: stages', () => {
  const multi = 'FROM golang:1.22 AS build\nRUN go build -o /app\nFROM missing-image AS broken\nRUN false\nFROM alpine AS final\nCOPY --from=build /app /app\n';

  it('keeps only the stages the last stage needs and never resolves the others', async () => {
    const { graph, calls } = await build(multi);
    expect(graph.stages.map((s) => s.name)).to.deep.equal(['build', 'final']);
    expect(graph.stages[graph.target]?.name).to.equal('final');
    expect(calls.sort()).to.deep.equal(['alpine@amd64', 'golang:1.22@amd64']);
  });

  it('builds the --target stage and what it needs only', async () => {
    const { graph, calls } = await build(multi, { target: 'BUILD' });
    expect(graph.stages.map((s) => s.index)).to.deep.equal([0]);
    expect(calls).to.deep.equal(['golang:1.22@amd64']);
  });

  it('orders vertices so that every input comes before its reader', async () => {
    const { graph } = await build('FROM busybox AS b\nRUN touch /x\nFROM alpine AS a\nCOPY --from=b /x /x\nFROM a\n');
    const seen = new Set<string>();
    for (const v of graph.vertices) {
      for (const i of v.inputs) expect(seen.has(i)).to.equal(true);
      seen.add(v.id);
    }
  });

  it('links COPY --from by stage name, case-insensitively, and by index', async () => {
    const { graph } = await build('FROM busybox AS Tools\nRUN make\nFROM alpine\nCOPY --from=TOOLS /a /a\nCOPY --from=0 /b /b\n');
    expect(vertex(graph, 's1.1').inputs).to.deep.equal(['s1.0', 's0.1']);
    expect(copy(graph, 's1.2').from).to.deep.equal({ kind: 'vertex', id: 's0.1' });
  });

  it('takes a stage name given twice as BuildKit does: FROM the last above it, --from and --target the last in the file', async () => {
    const text = 'FROM busybox AS b\nRUN one\nFROM b AS c\nFROM alpine AS b\nRUN two\nFROM scratch\nCOPY --from=b /x /x\n';
    const { graph } = await build(text);
    expect(copy(graph, 's3.1').from).to.deep.equal({ kind: 'vertex', id: 's2.1' });
    expect((await build(text, { target: 'b' })).graph.stages.map((s) => s.index)).to.deep.equal([2]);
    expect((await build(text, { target: 'c' })).graph.stages.map((s) => s.index)).to.deep.equal([0, 1]);
  });

  it('treats a --from that names no stage as an image with its own source vertex', async () => {
    const { graph, calls } = await build('FROM alpine\nCOPY --from=busybox /bin/busybox /bin/\n');
    expect(calls).to.include('busybox@amd64');
    const src = vertex(graph, 's0.1.from0');
    expect(src.op).to.deep.include({ kind: 'image', ref: 'docker.io/library/busybox' });
    expect(vertex(graph, 's0.1').inputs).to.deep.equal(['s0.0', 's0.1.from0']);
  });

  it('starts a FROM <stage> stage from that stage result without a new source vertex', async () => {
    const { graph } = await build('FROM node:20 AS base\nENV A=1\nFROM base\nRUN echo $A\n');
    const stage = graph.stages[1];
    expect(stage?.vertices[0]).to.equal('s0.1');
    expect(vertex(graph, 's1.1').inputs).to.deep.equal(['s0.1']);
    expect(exec(graph, 's1.1').env).to.include('A=1');
    expect(stage?.base?.ref).to.equal('docker.io/library/node:20');
  });

  it('builds FROM scratch from a ScratchOp', async () => {
    const { graph, calls } = await build('FROM scratch\nCOPY a /a\n');
    expect(vertex(graph, 's0.0').op).to.deep.equal({ kind: 'scratch', platform: amd64 });
    expect(calls).to.deep.equal([]);
  });

  it('links RUN --mount from= a stage as an extra input', async () => {
    const { graph } = await build('FROM alpine AS src\nRUN mk\nFROM alpine\nRUN --mount=type=bind,from=src,target=/s,source=/out cp /s/x /x\n');
    expect(vertex(graph, 's1.1').inputs).to.deep.equal(['s1.0', 's0.1']);
    expect(exec(graph, 's1.1').mounts).to.deep.equal([{ type: 'bind', target: '/s', from: { kind: 'vertex', id: 's0.1' }, source: '/out', readwrite: false }]);
  });
});

describe('compile: args and environment', () => {
  it('expands global ARGs in FROM and lets --build-arg override them', async () => {
    const text = 'ARG GO=1.21\nFROM golang:${GO}\nRUN go version\n';
    expect((await build(text)).calls).to.deep.equal(['golang:1.21@amd64']);
    const { graph, calls } = await build(text, { buildArgs: { GO: '1.22' } });
    expect(calls).to.deep.equal(['golang:1.22@amd64']);
    expect(vertex(graph, 's0.0').args).to.deep.equal({ GO: '1.22' });
  });

  it('does not see a global ARG inside a stage until it is re-declared', async () => {
    const { graph } = await build('ARG V=1\nFROM alpine\nRUN echo a\nARG V\nRUN echo b\nLABEL v=$V\n');
    expect(exec(graph, 's0.1').env.some((e) => e.startsWith('V='))).to.equal(false);
    expect(vertex(graph, 's0.2').text).to.equal('ARG V=1');   // history shows the global default, as BuildKit's
    expect(exec(graph, 's0.3').env).to.include('V=1');
    expect(vertex(graph, 's0.4').text).to.equal('LABEL v=1');
    expect(vertex(graph, 's0.4').args).to.deep.equal({ V: '1' });
  });

  it('scopes ARGs to their stage', async () => {
    const { graph } = await build('FROM alpine AS a\nARG X=1\nRUN a\nFROM alpine\nCOPY --from=a /x /x\nRUN echo $X\n');
    expect(exec(graph, 's1.2').env.some((e) => e.startsWith('X='))).to.equal(false);
  });

  it('gives RUN the ARGs in scope as env and history prefix, but keeps them out of the image config', async () => {
    const { graph } = await build('FROM alpine\nARG A=1\nARG B\nRUN make\n', { buildArgs: { B: 'two' } });
    // History shows the value the build uses, as BuildKit's dispatchArg writes it: the --build-arg one for B.
    expect([vertex(graph, 's0.1').text, vertex(graph, 's0.2').text]).to.deep.equal(['ARG A=1', 'ARG B=two']);
    expect(exec(graph, 's0.3').env).to.include.members(['A=1', 'B=two']);
    expect(vertex(graph, 's0.3').text).to.equal('RUN |2 A=1 B=two /bin/sh -c make # buildkit');
    expect(vertex(graph, 's0.3').args).to.deep.equal({ A: '1', B: 'two' });
    expect(graph.stages[0]?.config.Env?.some((e) => e.startsWith('A='))).to.equal(false);
  });

  it('writes ARG into history with the value used: the --build-arg over the default, the default expanded, or the bare name', async () => {
    const { graph } = await build('FROM alpine\nENV BASE=/opt\nARG TOKEN=default-token\nARG DIR=${BASE}/app\nARG UNSET\n', { buildArgs: { TOKEN: 's3cr3t' } });
    expect(['s0.2', 's0.3', 's0.4'].map((id) => vertex(graph, id).text)).to.deep.equal(['ARG TOKEN=s3cr3t', 'ARG DIR=/opt/app', 'ARG UNSET']);
  });

  it('expands an ARG default against earlier ARGs and ENV', async () => {
    const { graph } = await build('FROM alpine\nENV BASE=/opt\nARG DIR=${BASE}/app\nWORKDIR $DIR\n');
    expect(vertex(graph, 's0.3').op).to.deep.equal({ kind: 'mkdir', path: '/opt/app', user: '' });
  });

  it('provides the automatic platform args in the global scope and, once declared, in a stage', async () => {
    const { graph, calls } = await build('FROM --platform=$BUILDPLATFORM golang:1.22\nARG TARGETARCH\nARG BUILDOS\nRUN GOARCH=$TARGETARCH go build\n', { platform: arm64 });
    expect(calls).to.deep.equal(['golang:1.22@amd64']);
    expect(graph.stages[0]?.platform).to.deep.equal(amd64);
    expect(exec(graph, 's0.3').env).to.include.members(['TARGETARCH=arm64', 'BUILDOS=linux']);
  });

  it('has TARGETSTAGE and the OSVERSION args as BuildKit\'s defaultArgs, and a --build-arg replaces an automatic arg undeclared', async () => {
    const text = 'FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nARG TARGETSTAGE TARGETOSVERSION BUILDOSVERSION\nRUN make\nFROM alpine AS final\nARG TARGETSTAGE\nRUN x\n';
    const { graph } = await build(text, { platform: arm64, target: 'build' });
    expect(exec(graph, 's0.2').env).to.include.members(['TARGETSTAGE=build', 'TARGETOSVERSION=', 'BUILDOSVERSION=']);
    expect(exec((await build(text)).graph, 's1.2').env).to.include('TARGETSTAGE=final');
    expect(exec((await build('FROM alpine\nARG TARGETSTAGE\nRUN x\n')).graph, 's0.2').env).to.include('TARGETSTAGE=default');
    // No global ARG line declares BUILDPLATFORM: the --build-arg still sets the value FROM expands.
    const { graph: overridden, calls } = await build(text, { platform: amd64, target: 'build', buildArgs: { BUILDPLATFORM: 'linux/arm64' } });
    expect(calls).to.deep.equal(['golang:1.22@arm64']);
    expect(overridden.stages[0]?.platform).to.deep.equal(arm64);
  });

  it('passes proxy build args to RUN without an ARG line and without history, in both spellings, outside the key', async () => {
    // BuildKit: proxyEnvFromBuildArgs matches the names in any case; the executor's proxyEnvList sets HTTP_PROXY and
    // http_proxy alike; ExecOp's CacheMap clears the proxy env, so another proxy on another runner still hits.
    const { graph } = await build('FROM alpine\nRUN wget x\n', { buildArgs: { HTTP_PROXY: 'http://p:3128', https_proxy: 'http://p:3129', No_Proxy: 'localhost', FTP_PROXY: '' } });
    expect(exec(graph, 's0.1').proxyEnv).to.deep.equal(['HTTP_PROXY=http://p:3128', 'http_proxy=http://p:3128', 'HTTPS_PROXY=http://p:3129', 'https_proxy=http://p:3129', 'NO_PROXY=localhost', 'no_proxy=localhost']);
    expect(exec(graph, 's0.1').env.some((e) => /proxy/i.test(e))).to.equal(false);
    expect(vertex(graph, 's0.1').text).to.equal('RUN /bin/sh -c wget x # buildkit');
    const other = await build('FROM alpine\nRUN wget x\n', { buildArgs: { HTTP_PROXY: 'http://elsewhere:8080' } });
    expect(keyOp(vertex(other.graph, 's0.1'))).to.equal(keyOp(vertex(graph, 's0.1')));
  });

  it('gives RUN the sandbox hostname of --build-arg BUILDKIT_SANDBOX_HOSTNAME, as BuildKit', async () => {
    const { graph } = await build('FROM alpine\nRUN hostname\n', { buildArgs: { BUILDKIT_SANDBOX_HOSTNAME: 'ci-box' } });
    expect(exec(graph, 's0.1').hostname).to.equal('ci-box');
    expect(exec((await build('FROM alpine\nRUN hostname\n')).graph, 's0.1')).to.not.have.property('hostname');
  });

  it('starts a stage FROM another stage with its ARGs: RUN sees them, expansions use them, history shows them', async () => {
    // BuildKit dispatchState.init: the child takes the parent's LLB state (its env holds the ARG values) and its
    // buildArgs list.
    const { graph } = await build('FROM alpine AS base\nARG VERSION=1.2.3\nFROM base\nENV V=${VERSION}\nRUN echo $VERSION\n');
    expect(graph.stages[1]?.config.Env).to.include('V=1.2.3');
    expect(exec(graph, 's1.2').env).to.include('VERSION=1.2.3');
    expect(vertex(graph, 's1.2').text).to.equal('RUN |1 VERSION=1.2.3 /bin/sh -c echo $VERSION # buildkit');
    expect(graph.stages[1]?.config.Env?.some((e) => e.startsWith('VERSION='))).to.equal(false);
  });

  it('keeps a re-declared ARG at its first place in the RUN history prefix, with its new value', async () => {
    const { graph } = await build('FROM alpine\nARG a=1\nARG b=2\nARG a=3\nRUN true\n');
    expect(vertex(graph, 's0.4').text).to.equal('RUN |2 a=3 b=2 /bin/sh -c true # buildkit');
  });

  it('builds ExecOp env from the image, ENV and a default PATH, in order', async () => {
    const { graph } = await build('FROM busybox\nENV A=1 B="x y"\nRUN env\n');
    expect(exec(graph, 's0.2').env).to.deep.equal(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1', 'B=x y']);
    expect(vertex(graph, 's0.1').text).to.equal('ENV A=1 B=x y');
  });

  it('expands every pair of one ENV against the environment before it', async () => {
    const { graph } = await build('FROM alpine\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n');
    expect(graph.stages[0]?.config.Env).to.include.members(['abc=bye', 'def=hello', 'ghi=bye']);
  });

  it('resolves WORKDIR against the previous one and USER into ExecOp', async () => {
    const { graph } = await build('FROM golang:1.22\nWORKDIR src\nWORKDIR ../app/./x\nUSER 1000:1000\nRUN make\n');
    expect(vertex(graph, 's0.1').op).to.deep.equal({ kind: 'mkdir', path: '/go/src', user: '' });
    expect(vertex(graph, 's0.2').text).to.equal('WORKDIR /go/app/x');
    expect(exec(graph, 's0.4')).to.deep.include({ cwd: '/go/app/x', user: '1000:1000' });
  });

  it('does not expand RUN, CMD or ENTRYPOINT arguments', async () => {
    const { graph } = await build('FROM alpine\nENV A=1\nRUN echo $A\nCMD echo $A\n');
    expect(exec(graph, 's0.2').argv).to.deep.equal(['/bin/sh', '-c', 'echo $A']);
    expect(graph.stages[0]?.config.Cmd).to.deep.equal(['/bin/sh', '-c', 'echo $A']);
  });
});

describe('compile: instructions', () => {
  it('writes created_by texts as BuildKit does', async () => {
    const { graph } = await build('FROM alpine\nWORKDIR /app\nCOPY --chown=1:1 src/ ./\nADD --chmod=644 a.tgz /opt/\nRUN ["make", "all"]\nCMD ["sh", "-c", "x"]\nEXPOSE 80 53/udp\nVOLUME /data\nUSER app\nSTOPSIGNAL SIGQUIT\nSHELL ["/bin/bash", "-c"]\nMAINTAINER me\nHEALTHCHECK --interval=90s CMD true\n');
    expect(graph.vertices.slice(1).map((v) => v.text)).to.deep.equal([
      'WORKDIR /app',
      'COPY --chown=1:1 src/ ./ # buildkit',
      'ADD --chmod=644 a.tgz /opt/ # buildkit',
      'RUN make all # buildkit',
      'CMD ["sh" "-c" "x"]',
      'EXPOSE [53/udp 80/tcp]',   // BuildKit's parseExpose sorts the words as written
      'VOLUME [/data]',
      'USER app',
      'STOPSIGNAL SIGQUIT',
      'SHELL [/bin/bash -c]',
      'MAINTAINER me',
      'HEALTHCHECK {Test:[CMD-SHELL true] Interval:1m30s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}',
    ]);
    expect(graph.vertices.slice(1).map((v) => v.emptyLayer)).to.deep.equal([false, false, false, false, true, true, true, true, true, true, true, true]);
  });

  it('resolves COPY destinations against WORKDIR and keeps the trailing slash', async () => {
    const { graph } = await build('FROM alpine\nWORKDIR /app\nCOPY a ./\nCOPY b sub/\nCOPY c /abs\nCOPY d .\n');
    expect([2, 3, 4, 5].map((n) => copy(graph, `s0.${n}`).dest)).to.deep.equal(['/app/', '/app/sub/', '/abs', '/app/']);
  });

  it('turns COPY <<EOF into inline files, expanded unless the delimiter is quoted', async () => {
    const { graph } = await build('FROM alpine\nENV N=world\nCOPY <<A <<"B" /etc/\nhello $N\nA\nraw $N\nB\n');
    expect(copy(graph, 's0.2').from).to.deep.equal({ kind: 'inline', files: [{ name: 'A', content: 'hello world\n' }, { name: 'B', content: 'raw $N\n' }] });
    expect(vertex(graph, 's0.2').text).to.equal('COPY <<A <<B /etc/ # buildkit');
  });

  it('runs a RUN heredoc body through the shell, and a shebang script as a mounted file', async () => {
    const { graph } = await build('FROM alpine\nRUN <<EOF\necho a\nEOF\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\nRUN cat <<X > /f\nhi\nX\n');
    expect(exec(graph, 's0.1').argv).to.deep.equal(['/bin/sh', '-c', 'echo a\n']);
    expect(exec(graph, 's0.2').argv).to.deep.equal(['/bin/sh', '-c', '/dev/pipes/EOF']);
    expect(exec(graph, 's0.2').mounts[0]).to.deep.include({ type: 'bind', target: '/dev/pipes/' });
    expect(exec(graph, 's0.3').argv).to.deep.equal(['/bin/sh', '-c', 'cat <<X > /f\nhi\nX']);
  });

  it('uses SHELL for later shell-form instructions', async () => {
    const { graph } = await build('FROM alpine\nSHELL ["/bin/bash", "-eo", "pipefail", "-c"]\nRUN a | b\n');
    expect(exec(graph, 's0.2').argv).to.deep.equal(['/bin/bash', '-eo', 'pipefail', '-c', 'a | b']);
  });

  it('writes only the HEALTHCHECK fields that are set, as omitempty does in BuildKit\'s config', async () => {
    const { graph } = await build('FROM alpine\nHEALTHCHECK --interval=90s --retries=3 CMD true\n');
    expect(graph.stages[0]?.config.Healthcheck).to.deep.equal({ Test: ['CMD-SHELL', 'true'], Interval: 90e9, Retries: 3 });
  });

  it('resets an inherited CMD when ENTRYPOINT is set, but not a CMD set in the same stage', async () => {
    const a = await build('FROM node:20\nENTRYPOINT ["/init"]\n');
    // BuildKit sets Config.Cmd = nil, which omitempty leaves out of the config JSON.
    expect(a.graph.stages[0]?.config).to.deep.include({ Entrypoint: ['/init'] });
    expect(a.graph.stages[0]?.config).to.not.have.property('Cmd');
    const b = await build('FROM node:20\nCMD ["serve"]\nENTRYPOINT ["/init"]\n');
    expect(b.graph.stages[0]?.config).to.deep.include({ Entrypoint: ['/init'], Cmd: ['serve'] });
  });

  it('merges the base config with every change into Stage.config', async () => {
    const { graph } = await build('FROM node:20\nLABEL a=1\nLABEL b=2\nEXPOSE 3000\nONBUILD RUN npm ci\nHEALTHCHECK NONE\n');
    expect(graph.stages[0]?.config).to.deep.include({ User: 'node', Labels: { a: '1', b: '2' }, ExposedPorts: { '3000/tcp': {} }, OnBuild: ['RUN npm ci'], Healthcheck: { Test: ['NONE'] } });
  });

  it('fills RUN --mount defaults and flags', async () => {
    const { graph } = await build('FROM alpine\nRUN --mount=type=cache,target=/root/.npm --mount=type=secret,id=tok --mount=type=tmpfs,target=/t,size=64m --network=none --security=insecure x\n');
    const op = exec(graph, 's0.1');
    expect(op.mounts).to.deep.equal([
      { type: 'cache', target: '/root/.npm', id: '/root/.npm', sharing: 'shared', source: '/', readonly: false, uid: 0, gid: 0, mode: 0o755 },
      { type: 'secret', id: 'tok', target: '/run/secrets/tok', required: false, uid: 0, gid: 0, mode: 0o400 },
      { type: 'tmpfs', target: '/t', size: 64 * 1024 * 1024 },
    ]);
    expect(op).to.deep.include({ network: 'none', security: 'insecure' });
  });

  it('names a cache without an id by its cleaned target, and puts it in the BUILDKIT_CACHE_MOUNT_NS namespace', async () => {
    // BuildKit's dispatchRunMounts: CacheID = path.Clean(target) when no id, then cacheIDNamespace + "/" + CacheID.
    const text = 'FROM alpine\nRUN --mount=type=cache,target=/root/.npm/ --mount=type=cache,target=/x//y/../z,id=mine --mount=type=tmpfs,target=/t x\n';
    const plain = exec((await build(text)).graph, 's0.1').mounts;
    expect(plain.map((m) => m.type === 'cache' ? [m.id, m.namespace] : m.type)).to.deep.equal([['/root/.npm', undefined], ['mine', undefined], 'tmpfs']);
    const spaced = exec((await build(text, { buildArgs: { BUILDKIT_CACHE_MOUNT_NS: 'pr-42' } })).graph, 's0.1').mounts;
    expect(spaced.map((m) => m.type === 'cache' ? [m.id, m.namespace] : m.type)).to.deep.equal([['/root/.npm', 'pr-42'], ['mine', 'pr-42'], 'tmpfs']);
  });

  it('reads a --mount field quoted whole as one field, its commas kept (csvvalue)', async () => {
    const { graph } = await build('FROM alpine\nRUN --mount=\'type=cache,"target=/a,b","id=a,b",sharing=locked\' x\n');
    expect(exec(graph, 's0.1').mounts[0]).to.deep.include({ type: 'cache', target: '/a,b', id: 'a,b', sharing: 'locked' });
  });
});

describe('compile: a local named context as a stage filesystem (--build-context NAME=DIR)', () => {
  const text = 'FROM golang:1.22 AS lib\nRUN make\nENV A=1\nFROM alpine\nCOPY --from=lib /x /x\nFROM lib AS final\nRUN ls\n';

  it('replaces the stage named like the directory: its instructions and base image are gone, its config is empty', async () => {
    const { graph, calls } = await build(text, { namedContexts: { lib: 'local' } });
    expect(calls).to.deep.equal([]);   // golang:1.22 is never asked for
    const lib = graph.stages.find((s) => s.name === 'lib');
    expect(lib?.vertices).to.deep.equal(['s0.0', 's0.1']);
    expect(vertex(graph, 's0.0').op.kind).to.equal('scratch');
    expect(copy(graph, 's0.1')).to.deep.include({ from: { kind: 'context', name: 'lib' }, sources: ['.'], dest: '/' });
    expect(vertex(graph, 's0.1').text).to.equal('local source for lib');
    expect(lib?.config).to.deep.equal({});
    expect(lib?.base).to.equal(undefined);
    // FROM lib builds on the directory's files (PATH is the default one, as on scratch).
    expect(vertex(graph, 's2.1').inputs).to.deep.equal(['s0.1']);
  });

  it('makes FROM NAME naming a directory (and no stage) a filesystem with the scratch config', async () => {
    const { graph, calls } = await build('FROM src\nRUN ls\n', { namedContexts: { src: 'local' } });
    expect(calls).to.deep.equal([]);
    expect(copy(graph, 's0.1').from).to.deep.equal({ kind: 'context', name: 'src' });
    expect(vertex(graph, 's0.2').inputs).to.deep.equal(['s0.1']);
    expect(graph.stages[0]?.config.Env).to.deep.equal(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  });
});

describe('compile: named contexts are looked up by the familiar name, as BuildKit', () => {
  it('lets --build-context alpine=DIR stand for FROM alpine:latest and COPY --from=docker.io/library/alpine', async () => {
    const { graph, calls } = await build('FROM alpine:latest\nCOPY --from=docker.io/library/alpine /a /a\n', { namedContexts: { alpine: 'local' } });
    expect(calls).to.deep.equal([]);
    expect(copy(graph, 's0.1').from).to.deep.equal({ kind: 'context', name: 'alpine' });
    expect(copy(graph, 's0.2').from).to.deep.equal({ kind: 'context', name: 'alpine' });
  });
});

describe('compile: docker-image://scratch as a named context', () => {
  it('makes the replaced stage and FROM NAME an empty filesystem, asking no registry', async () => {
    const { graph, calls } = await build('FROM alpine AS base\nRUN make\nFROM base AS app\nCOPY a /a\nFROM empty\n', { namedContexts: { base: 'scratch', empty: 'scratch' }, target: 'app' });
    expect(calls).to.deep.equal([]);
    expect(vertex(graph, 's0.0').op.kind).to.equal('scratch');
    expect(graph.stages.find((s) => s.name === 'base')?.config).to.deep.equal({});
    const other = await build('FROM empty\n', { namedContexts: { empty: 'scratch' } });
    expect(other.calls).to.deep.equal([]);
    expect(vertex(other.graph, 's0.0').op.kind).to.equal('scratch');
  });
});

describe('neededStageBases', () => {
  const text = 'ARG BASE=alpine\nFROM golang:1.22 AS lib\nRUN make\nFROM $BASE AS app\nCOPY --from=lib /x /x\n';

  it('lists the FROM lines as written, or expanded in the global ARG scope when given the build args', () => {
    expect(neededStageBases(text)).to.deep.equal(['golang:1.22', '$BASE']);
    expect(neededStageBases(text, undefined, { args: {} })).to.deep.equal(['golang:1.22', 'alpine']);
    expect(neededStageBases(text, undefined, { args: { buildArgs: { BASE: 'debian' } } })).to.deep.equal(['golang:1.22', 'debian']);
  });

  it('leaves out a stage a named context replaces, and what only its instructions read', () => {
    expect(neededStageBases(text, undefined, { replaced: ['lib'], args: {} })).to.deep.equal(['alpine']);
    expect(neededStageBases('FROM alpine AS tools\nFROM golang:1.22 AS lib\nCOPY --from=tools /t /t\nFROM scratch\nCOPY --from=lib /x /x\n', undefined, { replaced: ['lib'] })).to.deep.equal(['scratch']);
  });
});
