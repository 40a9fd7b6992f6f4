import { expect } from 'chai';
import { compile } from './compile/compile.js';
import type { BuildGraph } from './graph.js';
import { planDot, planText } from './plan.js';

async function graph(): Promise<BuildGraph> {
  const platform = { os: 'linux', architecture: 'amd64' };
  return compile('FROM alpine AS build\nARG V=1\nRUN make V=$V\nFROM scratch\nCOPY --from=build /out /out\n', {
    platform,
    buildPlatform: platform,
    resolveImage: async (ref) => ({ ref, digest: `sha256:${'b'.repeat(64)}`, config: { ...platform, rootfs: { type: 'layers', diff_ids: [] } } }),
  });
}

describe('plan views', () => {
  it('lists every vertex under its stage with its history text, extra inputs and args', async () => {
    const text = planText(await graph());
    expect(text.split('\n')).to.include.members([
      'stage 0 (build)',
      'stage 1 [target]',
      '  s0.1     ARG V=1',
      '  s0.2     RUN |1 V=1 /bin/sh -c make V=$V # buildkit',
      '  s1.1     COPY /out /out # buildkit',
    ]);
    expect(text).to.match(/copy from s0\.2 \["\/out"\] → \/out ← s0\.2/);
    expect(text).to.match(/args: V=1/);
  });

  it('draws one cluster per stage and a dashed edge for COPY --from', async () => {
    const dot = planDot(await graph());
    expect(dot.startsWith('digraph build {')).to.equal(true);
    expect(dot).to.include('subgraph "cluster_s0"');
    expect(dot).to.include('"s0.0" -> "s0.1";');
    expect(dot).to.include('"s0.1" -> "s0.2";');
    expect(dot).to.include('"s0.2" -> "s1.1" [style=dashed];');
  });
});
