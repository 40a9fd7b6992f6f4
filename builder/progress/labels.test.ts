import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { compile } from '../../frontend/compile/compile.js';
import { formatPlatform, type Platform } from '../../registry/index.js';
import { mergePlatformGraphs, type MultiPlatformGraph } from '../multi-platform.js';
import { vertexLabels } from './labels.js';
import { PlainProgress } from './plain.js';

const amd64: Platform = { os: 'linux', architecture: 'amd64' };
const DOCKERFILE = [
  'FROM --platform=$BUILDPLATFORM alpine AS build',
  'RUN make tools',
  'ARG TARGETARCH',
  'RUN make app-$TARGETARCH',
  'FROM alpine',
  'COPY --from=build /out /',
  '',
].join('\n');

/** DOCKERFILE compiled for each of `targets` on linux/amd64 and merged, as a multi-platform build does. */
async function merged(targets: Platform[], dockerfile = DOCKERFILE): Promise<MultiPlatformGraph> {
  const graphs = [];
  for (const platform of targets) {
    graphs.push({
      platform,
      graph: await compile(dockerfile, {
        platform, buildPlatform: amd64,
        resolveImage: async (ref, p) => ({ ref, digest: `sha256:${'b'.repeat(64)}`, config: { ...p, rootfs: { type: 'layers', diff_ids: [] } } }),
      }),
    });
  }
  return mergePlatformGraphs(graphs);
}

// BuildKit's dockerfile2llb names a step of a multi-platform build after the platform its stage runs on
// (prefixCommand), with `->ARCH` once TARGET* in its environment names another (formatTargetPlatform); a step of a
// $BUILDPLATFORM stage is then named alike in every platform's graph, and shown once (one vertex per digest).
describe('step labels of a multi-platform build', () => {
  const labelsOf = async (targets: Platform[], dockerfile?: string): Promise<string[]> => {
    const { graph, parts } = await merged(targets, dockerfile);
    return [...vertexLabels(graph, dockerfile ?? DOCKERFILE, parts).values()].map((l) => l.replace(/\] .*/, ']'));
  };

  it('names a $BUILDPLATFORM stage by the build platform, with ->ARCH once TARGETARCH is in its environment', async () => {
    const arm64 = { os: 'linux', architecture: 'arm64' };
    expect(await labelsOf([amd64, arm64])).to.deep.equal([
      '[linux/amd64 build 1/3]', '[linux/amd64 build 2/3]', 'ARG TARGETARCH', '[linux/amd64 build 3/3]', '[linux/amd64 stage-1 1/2]', '[linux/amd64 stage-1 2/2]',
      '[linux/amd64 build 1/3]', '[linux/amd64 build 2/3]', 'ARG TARGETARCH', '[linux/amd64->arm64 build 3/3]', '[linux/arm64 stage-1 1/2]', '[linux/arm64 stage-1 2/2]',
    ]);
  });

  it('writes the variant with the architecture, and the whole platform for another OS', async () => {
    const armv7 = { os: 'linux', architecture: 'arm', variant: 'v7' };
    const windows = { os: 'windows', architecture: 'amd64' };
    const labels = await labelsOf([armv7, windows]);
    // TARGETARCH alone names an architecture of the stage's OS: amd64 of windows/amd64 is the stage's own.
    expect(labels).to.include('[linux/amd64->arm/v7 build 3/3]').and.not.include('[linux/amd64->windows/amd64 build 3/3]');
    expect(labels).to.include(`[${formatPlatform(armv7)} stage-1 2/2]`);
    // TARGETOS alone: the architecture is the stage's own.
    const os = await labelsOf([amd64, windows], DOCKERFILE.replace('ARG TARGETARCH', 'ARG TARGETOS'));
    expect(os).to.include('[linux/amd64->windows/amd64 build 3/3]').and.include('[linux/amd64 build 3/3]');
  });

  it('numbers only the steps BuildKit makes vertices of: not FROM scratch, a FROM of a stage, or ENV/LABEL/ARG', async () => {
    // dockerfile2llb counts cmdTotal over an image FROM, RUN, COPY, ADD and WORKDIR (testStepNames: `[stage-1 1/1] COPY`).
    const text = 'FROM alpine AS base\nENV A=b\nWORKDIR /\nRUN true\nFROM base\nLABEL x=y\nRUN true\nFROM scratch\nCOPY --from=1 /x /x\n';
    const graph = await compile(text, {
      platform: amd64, buildPlatform: amd64,
      resolveImage: async (ref, p) => ({ ref, digest: `sha256:${'b'.repeat(64)}`, config: { ...p, rootfs: { type: 'layers', diff_ids: [] } } }),
    });
    expect([...vertexLabels(graph, text).values()].map((l) => l.replace(/\] .*/, ']'))).to.have.members([
      '[base 1/3]', 'ENV A=b', 'WORKDIR /', '[base 2/3]', 'LABEL x=y', '[stage-1 1/1]', 'FROM scratch', '[stage-2 1/1]',
    ]);
  });

  it('leaves the platform out of a one-platform build', async () => {
    const { parts } = await merged([amd64]);
    const graph = parts[0]?.graph;
    if (!graph) throw new Error('no graph');
    expect([...vertexLabels(graph, DOCKERFILE, parts).values()].map((l) => l.replace(/\] .*/, ']'))).to.deep.equal(['[build 1/3]', '[build 2/3]', 'ARG TARGETARCH', '[build 3/3]', '[stage-1 1/2]', '[stage-1 2/2]']);
  });

  it('names a FROM step by the image it resolved to, with its digest, as BuildKit does, not by the text written', async () => {
    const text = 'ARG BASE=alpine\nFROM ${BASE} AS build\nRUN true\nFROM docker.io/library/alpine:3@sha256:' + 'c'.repeat(64) + '\nCOPY --from=build /x /x\n';
    const graph = await compile(text, {
      platform: amd64, buildPlatform: amd64,
      resolveImage: async (ref, p) => ({ ref: ref.includes('/') ? ref : `docker.io/library/${ref}:latest`, digest: `sha256:${'b'.repeat(64)}`, config: { ...p, rootfs: { type: 'layers', diff_ids: [] } } }),
    });
    expect([...vertexLabels(graph, text).values()]).to.deep.equal([
      `[build 1/2] FROM docker.io/library/alpine:latest@sha256:${'b'.repeat(64)}`, '[build 2/2] RUN true',
      `[stage-1 1/2] FROM docker.io/library/alpine:3@sha256:${'c'.repeat(64)}`, '[stage-1 2/2] COPY --from=build /x /x',
    ]);
  });

  it('pads the index to the width of the total, marks ONBUILD steps, and names a COPY --from image with no brackets (prefixCommand)', async () => {
    const text = `FROM base\n${Array.from({ length: 9 }, (_, k) => `RUN step${k}`).join('\n')}\nCOPY --from=tools:1 /t /t\n`;
    const graph = await compile(text, {
      platform: amd64, buildPlatform: amd64,
      resolveImage: async (ref, p) => ({ ref: `docker.io/library/${ref}`, digest: `sha256:${(ref === 'base' ? 'b' : 'c').repeat(64)}`,
        config: { ...p, rootfs: { type: 'layers', diff_ids: [] }, ...(ref === 'base' ? { config: { OnBuild: ['RUN echo triggered'] } } : {}) } }),
    });
    const labels = [...vertexLabels(graph, text).values()];
    expect(labels.slice(0, 3)).to.deep.equal([`[ 1/12] FROM docker.io/library/base@sha256:${'b'.repeat(64)}`, '[ 2/12] ONBUILD RUN echo triggered', '[ 3/12] RUN step0']);
    expect(labels).to.include('[12/12] COPY --from=tools:1 /t /t');
    expect(labels).to.include(`FROM docker.io/library/tools:1@sha256:${'c'.repeat(64)}`);
    // A bake's shared display plans a graph of no stages, its vertices already named per target: nothing relabelled.
    expect(vertexLabels({ ...graph, stages: [] }, text).size).to.equal(0);
  });

  it('expands a step\'s variables as BuildKit\'s processCmdEnv does, but never a secret-named one', async () => {
    const text = [
      'FROM base', 'ARG VERSION=1.2 API_TOKEN=abc', 'ENV DIR=/srv/app', 'WORKDIR $DIR/sub', 'copy ${DIR}/x "$DIR" /dst/',
      'RUN echo "$VERSION" \'$DIR\' $UNSET ${API_TOKEN} $HIDDEN',
      'RUN --mount=type=secret,id=s,env=VERSION echo $VERSION', 'RUN <<EOF', '  first line', 'second', 'EOF', 'RUN echo ${DIR:?x', '',
    ].join('\n');
    const ok = await compile(text, {
      platform: amd64, buildPlatform: amd64,
      resolveImage: async (ref, p) => ({ ref, digest: `sha256:${'b'.repeat(64)}`, config: { ...p, rootfs: { type: 'layers', diff_ids: [] }, config: { Env: ['HIDDEN=h'] } } }),
    });
    const labels = [...vertexLabels(ok, text).values()].map((l) => l.replace(/^\[ ?\d+\/\d+\] /, ''));
    expect(labels).to.include.members([
      'WORKDIR /srv/app/sub', 'COPY /srv/app/x "/srv/app" /dst/',
      // Quotes kept (single-quoted text literal), an unset variable as written, a secret-named ARG never expanded
      // (tsbuild's rule), ENV expanded.
      'RUN echo "1.2" \'$DIR\' $UNSET ${API_TOKEN} h',
      // A secret mount's env= variable is not the ARG of that name (BuildKit masks it).
      'RUN --mount=type=secret,id=s,env=VERSION echo ****',
      'RUN <<EOF (first line...)',
      // A line the lexer cannot read (RUN is not expanded by the compile, so it builds) is shown as written.
      'RUN echo ${DIR:?x',
    ]);
  });

  it('shows a step another platform\'s graph shares once in plain progress, and names it for a miss it caused', async () => {
    const arm64 = { os: 'linux', architecture: 'arm64' };
    const { graph, parts } = await merged([amd64, arm64]);
    const out = new PassThrough();
    const written: string[] = [];
    out.on('data', (c: Buffer) => written.push(c.toString()));
    const p = new PlainProgress(out);
    p.plan(graph, DOCKERFILE, parts);
    // What the solver emits: the amd64 graph's `RUN make tools` runs, the arm64 graph's takes its result (`of`).
    p.event({ type: 'start', vertex: 'linux/amd64:s0.1', text: 'RUN make tools', time: 0, reasons: [{ kind: 'new' }] });
    p.event({ type: 'done', vertex: 'linux/amd64:s0.1', time: 0, durationMs: 1, size: 0 });
    p.event({ type: 'cached', vertex: 'linux/arm64:s0.1', text: 'RUN make tools', time: 0, of: 'linux/amd64:s0.1' });
    p.event({ type: 'start', vertex: 'linux/arm64:s0.3', text: 'RUN make app-arm64', time: 0, reasons: [{ kind: 'parent', vertex: 'linux/arm64:s0.1', text: 'RUN make tools' }] });
    const text = written.join('');
    expect(text.match(/make tools/g), text).to.have.length(2);   // its header, and the miss that names it
    expect(text).to.contain('#1 [linux/amd64 build 2/3] RUN make tools\n#1 MISS');
    expect(text).to.contain('#2 [linux/amd64->arm64 build 3/3] RUN make app-arm64\n#2 MISS parent step missed: #1 [linux/amd64 build 2/3] RUN make tools\n');
    expect(text).to.not.contain('CACHED');
  });
});
