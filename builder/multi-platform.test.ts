import { expect } from 'chai';
import { compile } from '../frontend/index.js';
import type { BuildGraph } from '../frontend/index.js';
import { MediaType, type Platform } from '../registry/index.js';
import { mergePlatformGraphs, platformDir, platformView, qualifyNoCacheFilter } from './multi-platform.js';

const amd64: Platform = { os: 'linux', architecture: 'amd64' };
const arm64: Platform = { os: 'linux', architecture: 'arm64' };
const armv7: Platform = { os: 'linux', architecture: 'arm', variant: 'v7' };

const DOCKERFILE = [
  'FROM --platform=$BUILDPLATFORM golang AS build',
  'RUN go mod download',
  'ARG TARGETARCH',
  'RUN GOARCH=$TARGETARCH go build -o /out/app',
  'FROM alpine',
  'COPY --from=build /out/app /app',
  '',
].join('\n');

async function graphFor(platform: Platform): Promise<BuildGraph> {
  return compile(DOCKERFILE, {
    platform, buildPlatform: amd64,
    resolveImage: async (ref, p) => ({
      ref, digest: `sha256:${(ref === 'golang' ? '1' : '2').repeat(64)}`,
      config: { architecture: p.architecture, os: p.os, rootfs: { type: 'layers', diff_ids: [] } },
    }),
  });
}

describe('multi-platform graphs', () => {
  it('qualifies ids and stage names by platform and keeps each platform target reachable', async () => {
    const graphs = [{ platform: amd64, graph: await graphFor(amd64) }, { platform: arm64, graph: await graphFor(arm64) }];
    const { graph, parts } = mergePlatformGraphs(graphs);
    expect(graph.vertices.map((v) => v.id)).to.include.members(['linux/amd64:s0.1', 'linux/arm64:s0.1']);
    expect(graph.stages.map((s) => s.name)).to.deep.equal(['linux/amd64 build', 'linux/amd64 stage-1', 'linux/arm64 build', 'linux/arm64 stage-1']);
    expect(new Set(graph.stages.map((s) => s.index)).size).to.equal(4);
    // The build stage runs on the build platform in both graphs; the final stages on their targets.
    expect(graph.stages.map((s) => s.platform.architecture)).to.deep.equal(['amd64', 'amd64', 'amd64', 'arm64']);
    for (const part of parts) {
      const view = platformView(graph, part);
      const target = view.stages[view.target];
      expect(target?.name).to.equal(`${part.name} stage-1`);
      const copy = graph.vertices.find((v) => v.id === target?.result);
      expect(copy?.op.kind === 'copy' && copy.op.from).to.deep.equal({ kind: 'vertex', id: `${part.name}:s0.3` });
      expect(copy?.inputs.every((i) => i.startsWith(`${part.name}:`))).to.equal(true);
    }
  });

  it('turns --no-cache-filter names and indexes into the matching stage of every platform', async () => {
    const unqualified = [await graphFor(amd64), await graphFor(arm64)];
    const merged = mergePlatformGraphs([{ platform: amd64, graph: unqualified[0] as BuildGraph }, { platform: arm64, graph: unqualified[1] as BuildGraph }]);
    expect(qualifyNoCacheFilter(['build', '1'], merged)).to.deep.equal(['linux/amd64 build', '1', 'linux/arm64 build', '3']);
  });

  it('names per-platform output directories as buildx does', () => {
    expect([amd64, armv7].map(platformDir)).to.deep.equal(['linux_amd64', 'linux_arm_v7']);
    expect(MediaType.ociIndex).to.equal('application/vnd.oci.image.index.v1+json');
  });
});
