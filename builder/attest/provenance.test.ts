import { expect } from 'chai';
import type { BuildGraph, SourceRef } from '../../frontend/index.js';
import { sha256 } from '../../registry/oci/index.js';
import { dockerPurl, isReproducible, provenancePredicate, provenanceStatement, vcsMetadata, type ProvenanceInput } from './provenance.js';
import { toSlsa02 } from './slsa02.js';

const BASE = sha256('base manifest');
const graph: BuildGraph = {
  target: 0,
  stages: [{ index: 0, platform: { os: 'linux', architecture: 'amd64' }, vertices: ['s0.0', 's0.1'], result: 's0.1', config: {} }],
  vertices: [
    { id: 's0.0', op: { kind: 'image', ref: 'docker.io/library/debian:bookworm', digest: BASE, platform: { os: 'linux', architecture: 'amd64' } }, inputs: [], text: 'FROM debian:bookworm', stage: 0, args: {}, emptyLayer: true },
    {
      id: 's0.1', op: { kind: 'exec', argv: ['/bin/sh', '-c', 'curl -H "token: s3cr3t-value" x'], env: ['GITHUB_TOKEN=s3cr3t-value'], cwd: '/', mounts: [], network: 'default', security: 'sandbox' } as never,
      inputs: ['s0.0'], text: 'RUN |1 GITHUB_TOKEN=s3cr3t-value curl x', stage: 0, args: { GITHUB_TOKEN: 's3cr3t-value' }, emptyLayer: false,
    },
  ],
};
const input: ProvenanceInput = {
  subject: { name: '_', digest: sha256('image') }, buildId: 'b1', startedOn: new Date(0), finishedOn: new Date(1000),
  platform: { os: 'linux', architecture: 'amd64' }, builderPlatform: { os: 'linux', architecture: 'amd64' },
  dockerfile: { name: 'Dockerfile', digest: sha256('FROM debian') },
  buildArgs: { GITHUB_TOKEN: 's3cr3t-value', FLAVOUR: 'mint' }, labels: {}, graph,
  keys: {}, cacheSources: [],
  records: [{ id: 's0.1', text: 'RUN', key: sha256('k'), cached: false, reasons: [{ kind: 'arg', name: 'GITHUB_TOKEN', before: 'old-secret', after: 's3cr3t-value' }], started: 0, finished: 1, durationMs: 1, size: 0 }],
};

describe('provenanceStatement', () => {
  it('names the base image by purl and digest, and no local source, as BuildKit lists its materials', () => {
    const s = provenanceStatement(input, { mode: 'min', version: 'v0.2' }) as { predicate: { materials: unknown[] } };
    expect(s.predicate.materials).to.deep.equal([
      { uri: 'pkg:docker/debian@bookworm?platform=linux%2Famd64', digest: { sha256: BASE.slice(7) } },
    ]);
  });

  it('gives the builder\'s platform as the environment\'s, not the image\'s (BuildKit\'s BuilderPlatform)', () => {
    const s = provenanceStatement({ ...input, platform: { os: 'linux', architecture: 'arm64' } }, { mode: 'min', version: 'v0.2' }) as { predicate: { invocation: { environment: { platform: string } } } };
    expect(s.predicate.invocation.environment.platform).to.equal('linux/amd64');
  });
  it('leaves build args out in min mode, as BuildKit', () => {
    const text = JSON.stringify(provenanceStatement(input, { mode: 'min', version: 'v0.2' }));
    expect(text).not.to.contain('FLAVOUR');
    expect(text).not.to.contain('s3cr3t');
  });
  it('redacts secret-looking args everywhere in max mode, old values in miss reasons too', () => {
    for (const version of ['v0.2', 'v1'] as const) {
      const text = JSON.stringify(provenanceStatement(input, { mode: 'max', version }));
      expect(text).to.contain('"build-arg:FLAVOUR":"mint"');
      expect(text).to.contain('"build-arg:GITHUB_TOKEN":"<redacted>"');
      expect(text).to.contain('RUN |1 GITHUB_TOKEN=<redacted> curl x');
      expect(text).not.to.contain('s3cr3t');
      expect(text).not.to.contain('old-secret');
    }
  });
  it('writes a v1 statement with BuildKit\'s v1 field names', () => {
    const s = provenanceStatement(input, { mode: 'max', version: 'v1', builderId: 'https://ci.example/run/1' }) as { _type: string; predicateType: string; predicate: Record<string, Record<string, unknown>> };
    expect(s._type).to.equal('https://in-toto.io/Statement/v1');
    expect(s.predicateType).to.equal('https://slsa.dev/provenance/v1');
    expect(Object.keys(s.predicate.buildDefinition ?? {})).to.have.members(['buildType', 'externalParameters', 'internalParameters', 'resolvedDependencies']);
    expect(s.predicate.runDetails?.builder).to.deep.equal({ id: 'https://ci.example/run/1' });
  });
  it('writes the same min statement for two builds of the same inputs: no invocation id, no times, no cache sources', () => {
    const again: ProvenanceInput = {
      ...input, buildId: 'b2', startedOn: new Date(5000), finishedOn: new Date(9000), cacheSources: ['localhost:5000/cache:main'],
      records: input.records.map((r) => ({ ...r, cached: true, reasons: [] })),
    };
    for (const version of ['v0.2', 'v1'] as const) {
      const first = JSON.stringify(provenanceStatement(input, { mode: 'min', version }));
      expect(JSON.stringify(provenanceStatement(again, { mode: 'min', version })), version).to.equal(first);
      expect(first).not.to.match(/"b1"|InvocationI[Dd]|invocationI[Dd]|StartedOn|startedOn|FinishedOn|finishedOn|1970/);
    }
  });
  it('keeps the id and the times in max, clamped to SOURCE_DATE_EPOCH, and lists the caches that answered', () => {
    const late: ProvenanceInput = { ...input, startedOn: new Date(2_000_000_000_000), finishedOn: new Date(2_000_000_001_000), sourceDateEpoch: 1_700_000_000, cacheSources: ['localhost:5000/cache:main'] };
    const v02 = provenanceStatement(late, { mode: 'max', version: 'v0.2' }) as { predicate: { materials: { uri: string }[]; metadata: Record<string, unknown> } };
    expect(v02.predicate.metadata).to.include({ buildInvocationID: 'b1', buildStartedOn: '2023-11-14T22:13:20.000Z', buildFinishedOn: '2023-11-14T22:13:20.000Z' });
    expect(v02.predicate.materials.map((m) => m.uri)).to.include('pkg:docker/localhost:5000/cache@main');
    const early = provenanceStatement({ ...late, sourceDateEpoch: 2_100_000_000 }, { mode: 'max', version: 'v1' }) as { predicate: { runDetails: { metadata: Record<string, unknown> } } };
    // SLSA v1 spells it invocationId (in-toto-golang slsa1.BuildMetadata `json:"invocationId"`).
    expect(early.predicate.runDetails.metadata).to.include({ invocationId: 'b1', startedOn: '2033-05-18T03:33:20.000Z', finishedOn: '2033-05-18T03:33:21.000Z' });
    expect(early.predicate.runDetails.metadata).to.not.have.property('invocationID');
  });
  it('claims reproducible only with SOURCE_DATE_EPOCH and no RUN step', () => {
    expect(isReproducible({ graph, sourceDateEpoch: 1 })).to.equal(false);
    const noRun: BuildGraph = { ...graph, stages: [{ ...graph.stages[0]!, vertices: ['s0.0'], result: 's0.0' }], vertices: graph.vertices.slice(0, 1) };
    expect(isReproducible({ graph: noRun, sourceDateEpoch: 1 })).to.equal(true);
    expect(isReproducible({ graph: noRun })).to.equal(false);
    const s = provenanceStatement({ ...input, graph: noRun, sourceDateEpoch: 1 }, { mode: 'min', version: 'v0.2' }) as { predicate: { metadata: { reproducible: boolean } } };
    expect(s.predicate.metadata.reproducible).to.equal(true);
    // reproducible=… given: that claim is written, as BuildKit writes its attribute.
    const claimed = provenanceStatement({ ...input, graph }, { mode: 'min', version: 'v0.2', reproducible: true }) as { predicate: { metadata: { reproducible: boolean } } };
    expect(claimed.predicate.metadata.reproducible).to.equal(true);
  });
  it('puts the checkout\'s vcs attributes in BuildKit\'s metadata, in min and max, v0.2 and v1, and nowhere without them', () => {
    const vcs = vcsMetadata({ 'vcs:source': 'https://u:tok@github.com/o/r.git', 'vcs:revision': 'abc', 'vcs:localdir:context': '.', 'vcs:empty': '', 'label:x': 'y' });
    expect(vcs).to.deep.equal({ source: 'https://xxxxx:xxxxx@github.com/o/r.git', revision: 'abc', 'localdir:context': '.' });
    for (const mode of ['min', 'max'] as const) {
      const v02 = provenanceStatement({ ...input, vcs }, { mode, version: 'v0.2' }) as { predicate: { metadata: Record<string, unknown> } };
      expect(v02.predicate.metadata['https://mobyproject.org/buildkit@v1#metadata'], mode).to.deep.equal({ vcs });
      const v1 = provenanceStatement({ ...input, vcs }, { mode, version: 'v1' }) as { predicate: { runDetails: { metadata: Record<string, unknown> } } };
      expect(v1.predicate.runDetails.metadata['buildkit_metadata'], mode).to.deep.equal({ vcs });
      expect(JSON.stringify(provenanceStatement({ ...input, vcs: {} }, { mode, version: 'v0.2' }))).to.equal(JSON.stringify(provenanceStatement(input, { mode, version: 'v0.2' })));
    }
  });
  it('writes v0.2 as BuildKit\'s ConvertToSLSA02 of the v1 predicate: path as entryPoint, request as parameters, completeness moved over', () => {
    const git: ProvenanceInput = { ...input, gitContext: { url: 'https://example.com/r.git#main:src', commit: 'c'.repeat(40) }, vcs: { revision: 'abc' } };
    for (const mode of ['min', 'max'] as const) {
      const v1 = provenancePredicate(git, { mode, version: 'v1', builderId: 'https://ci.example/1' });
      const v02 = provenanceStatement(git, { mode, version: 'v0.2', builderId: 'https://ci.example/1' }).predicate as Record<string, Record<string, unknown>>;
      expect(v02, mode).to.deep.equal(toSlsa02(v1));
      expect(v02.builder).to.deep.equal({ id: 'https://ci.example/1' });
      expect(v02.buildType).to.equal('https://mobyproject.org/buildkit@v1');
      expect(v02.materials).to.deep.equal(v1.buildDefinition.resolvedDependencies);
      expect(v02.invocation).to.deep.equal({
        configSource: { uri: 'https://example.com/r.git#main:src', digest: { sha1: 'c'.repeat(40) }, entryPoint: 'Dockerfile' },
        parameters: v1.buildDefinition.externalParameters.request,
        environment: { platform: 'linux/amd64' },
      });
      const { completeness } = v02.metadata as { completeness: Record<string, boolean> };
      expect(completeness, mode).to.deep.equal({ parameters: v1.runDetails.metadata.buildkit_completeness.request, environment: true, materials: true });
      expect((v02.metadata ?? {})['https://mobyproject.org/buildkit@v1#metadata']).to.deep.equal({ vcs: { revision: 'abc' } });
    }
  });
  it('calls a min request complete unless it left build args or labels out, as BuildKit\'s scrubMinRequest', () => {
    const completeness = (i: ProvenanceInput, mode: 'min' | 'max'): unknown => provenancePredicate(i, { mode, version: 'v1' }).runDetails.metadata.buildkit_completeness;
    const plain: ProvenanceInput = { ...input, buildArgs: {}, labels: {} };
    expect(completeness(plain, 'min')).to.deep.equal({ request: true, resolvedDependencies: false });
    expect(completeness(input, 'min')).to.deep.equal({ request: false, resolvedDependencies: false });
    expect(completeness({ ...plain, labels: { team: 'infra' } }, 'min')).to.deep.equal({ request: false, resolvedDependencies: false });
    expect(completeness(input, 'max')).to.deep.equal({ request: true, resolvedDependencies: false });
    const v02 = provenanceStatement(plain, { mode: 'min', version: 'v0.2' }).predicate as { metadata: { completeness: unknown } };
    expect(v02.metadata.completeness).to.deep.equal({ parameters: true, environment: true, materials: false });
  });
  it('puts the build\'s settings in the request args as BuildKit\'s FilterArgs does: not platform or vcs, keys sorted, in min too but no-cache', () => {
    const frontendAttrs = {
      'label:team': 'infra', 'context:assets': 'local:assets', 'no-cache': 'final', platform: 'linux/amd64', 'force-network-mode': 'none',
      'add-hosts': 'db.local=10.0.0.5', 'shm-size': '134217728', ulimit: 'nofile=1024:2048', 'vcs:source': 'https://example.com/r.git',
    };
    const settings = { 'add-hosts': 'db.local=10.0.0.5', 'context:assets': 'local:assets', 'force-network-mode': 'none', 'no-cache': 'final', 'shm-size': '134217728', ulimit: 'nofile=1024:2048' };
    const at = { ...input, labels: { team: 'infra' }, frontendAttrs, target: 'final' };
    const max = provenancePredicate(at, { mode: 'max', version: 'v1' }).buildDefinition.externalParameters.request.args as Record<string, string>;
    expect(Object.keys(max)).to.deep.equal(['add-hosts', 'build-arg:FLAVOUR', 'build-arg:GITHUB_TOKEN', 'context:assets', 'force-network-mode', 'label:team', 'no-cache', 'shm-size', 'target', 'ulimit']);
    expect(max).to.include({ ...settings, 'build-arg:GITHUB_TOKEN': '<redacted>', 'label:team': 'infra', target: 'final' });
    // min keeps to what decides the result: whether the cache may answer does not (a --no-cache rebuild, same bytes).
    const { 'no-cache': _noCache, ...inputs } = settings;
    const min = provenancePredicate(at, { mode: 'min', version: 'v1' }).buildDefinition.externalParameters.request.args;
    expect(min).to.deep.equal({ ...inputs, target: 'final' });
  });
  it('shapes v1 as Go marshals BuildKit\'s struct: buildkit_metadata always, hermetic and reproducible only when true, no empty list or map', () => {
    const bare: ProvenanceInput = { ...input, buildArgs: {}, labels: {}, graph: { ...graph, stages: [{ ...graph.stages[0]!, vertices: [], result: '' }], vertices: [] } };
    const p = provenancePredicate(bare, { mode: 'max', version: 'v1' });
    expect(Object.keys(p.buildDefinition)).to.deep.equal(['buildType', 'externalParameters', 'internalParameters']);   // no resolvedDependencies
    expect(p.buildDefinition.externalParameters.request).to.deep.equal({ frontend: 'dockerfile.v0', locals: [{ name: 'context' }, { name: 'dockerfile' }] });
    expect(Object.keys(p.runDetails.metadata)).to.deep.equal(['invocationId', 'startedOn', 'finishedOn', 'buildkit_metadata', 'buildkit_completeness', 'tsbuild_metadata']);
    expect(p.runDetails.metadata.buildkit_metadata).to.deep.equal({});
    const full = provenancePredicate({ ...input, gitContext: { url: 'https://example.com/r.git', commit: 'c'.repeat(40) }, graph: { ...graph, vertices: graph.vertices.slice(0, 1), stages: [{ ...graph.stages[0]!, vertices: ['s0.0'], result: 's0.0' }] }, sourceDateEpoch: 1 }, { mode: 'min', version: 'v1' });
    expect(Object.keys(full.buildDefinition)).to.deep.equal(['buildType', 'resolvedDependencies', 'externalParameters', 'internalParameters']);
    expect(full.runDetails.metadata).to.deep.include({ buildkit_hermetic: true, buildkit_reproducible: true });
  });
  it('lists each named local context a step reads among the locals, by its mount name, sorted as BuildKit\'s capture', () => {
    const copy = (id: string, from: SourceRef) => ({ id, op: { kind: 'copy', mode: 'copy', from, sources: ['.'], dest: '/x/', link: false, parents: false, exclude: [] } as never, inputs: ['s0.0'], text: 'COPY', stage: 0, args: {}, emptyLayer: false });
    const named: ProvenanceInput = {
      ...input,
      graph: {
        ...graph,
        stages: [{ ...graph.stages[0]!, vertices: ['s0.0', 'c1', 'c2', 'c3'], result: 'c3' }],
        vertices: [graph.vertices[0]!, copy('c1', { kind: 'context', name: 'assets' }), { ...copy('c2', { kind: 'context', name: 'context' }), inputs: ['c1'] }, { ...copy('c3', { kind: 'context' }), inputs: ['c2'] }],
      },
    };
    for (const mode of ['min', 'max'] as const) {
      const request = provenancePredicate(named, { mode, version: 'v1' }).buildDefinition.externalParameters.request as { locals: { name: string }[] };
      expect(request.locals.map((l) => l.name), mode).to.deep.equal(['_context', 'assets', 'context', 'dockerfile']);
    }
  });

  it('carries the Dockerfile and each step\'s lines in max, as BuildKit\'s source metadata; none in min', () => {
    const text = 'FROM debian:bookworm\nRUN curl \\\n  x\n';
    const at = (line: number, endLine: number) => ({ file: 'Dockerfile', line, column: 1, endLine, endColumn: 4 });
    const located: ProvenanceInput = {
      ...input, dockerfile: { ...input.dockerfile, text },
      graph: { ...graph, vertices: graph.vertices.map((v, i) => ({ ...v, location: i === 0 ? at(1, 1) : at(2, 3) })) },
    };
    const max = provenancePredicate(located, { mode: 'max', version: 'v1' }).runDetails.metadata.buildkit_metadata;
    expect(max.source).to.deep.equal({
      locations: {
        's0.0': { locations: [{ ranges: [{ start: { line: 1 }, end: { line: 1 } }] }] },
        's0.1': { locations: [{ ranges: [{ start: { line: 2 }, end: { line: 3 } }] }] },
      },
      infos: [{ filename: 'Dockerfile', language: 'Dockerfile', data: Buffer.from(text).toString('base64') }],
    });
    // The step list names the same steps.
    const steps = provenancePredicate(located, { mode: 'max', version: 'v1' }).buildDefinition.internalParameters.buildConfig as { llbDefinition: { id: string }[] };
    expect(steps.llbDefinition.map((s) => s.id)).to.deep.equal(['s0.0', 's0.1']);
    expect(provenancePredicate(located, { mode: 'min', version: 'v1' }).runDetails.metadata.buildkit_metadata).to.deep.equal({});
    const v02 = provenanceStatement(located, { mode: 'max', version: 'v0.2' }).predicate as { metadata: Record<string, { source?: unknown }> };
    expect(v02.metadata['https://mobyproject.org/buildkit@v1#metadata']?.source).to.deep.equal(max.source);
  });

  it('lists the images sorted by reference, as BuildKit\'s capture sorts its sources, whatever order the stages read them in', () => {
    const alpine = { id: 's1.0', op: { kind: 'image' as const, ref: 'docker.io/library/alpine:3.20', digest: sha256('alpine'), platform: { os: 'linux', architecture: 'amd64' } }, inputs: [], text: 'FROM alpine:3.20', stage: 1, args: {}, emptyLayer: true };
    const copy = { id: 's0.2', op: { kind: 'copy', from: 's1.0', sources: ['/etc/os-release'], dest: '/' } as never, inputs: ['s0.1', 's1.0'], text: 'COPY --from=1 /etc/os-release /', stage: 0, args: {}, emptyLayer: false };
    const two: BuildGraph = {
      target: 0,
      stages: [{ ...graph.stages[0]!, vertices: ['s0.0', 's0.1', 's0.2'], result: 's0.2' }, { index: 1, platform: { os: 'linux', architecture: 'amd64' }, vertices: ['s1.0'], result: 's1.0', config: {} }],
      vertices: [...graph.vertices, copy, alpine],
    };
    const deps = provenancePredicate({ ...input, graph: two }, { mode: 'min', version: 'v1' }).buildDefinition.resolvedDependencies ?? [];
    expect(deps.map((d) => d.uri)).to.deep.equal(['pkg:docker/alpine@3.20?platform=linux%2Famd64', 'pkg:docker/debian@bookworm?platform=linux%2Famd64']);
  });
  it('keeps the registry in a purl when it is not Docker Hub', () => {
    expect(dockerPurl('localhost:5000/app@sha256:' + 'a'.repeat(64))).to.equal(`pkg:docker/localhost:5000/app@sha256:${'a'.repeat(64)}`);
  });
});
