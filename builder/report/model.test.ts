import { expect } from 'chai';
import { buildReport } from './model.js';
import { changed, parent, recordOf } from './testing/record-of.js';
import { emptyMetrics } from '../../registry/index.js';

describe('buildReport', () => {
  const input = recordOf([
    { line: 'FROM alpine AS build' },
    'ARG MODE',
    { line: 'COPY . /src', reasons: [changed('a.txt')], ms: 20, size: 300 },
    { line: 'RUN make', reasons: [parent('s0.1', 'COPY . /src')], ms: 1000, size: 5000 },
    { line: 'FROM alpine' },
    { line: 'COPY --from=build /src/out /out', reasons: [parent('s0.2')], ms: 10, size: 700, id: 's1.1' },
  ], { args: { MODE: 'release' } });

  it('is versioned plain data that survives a JSON round trip', () => {
    const report = buildReport(input);
    expect(report.schemaVersion).to.equal(1);
    expect(JSON.parse(JSON.stringify(report))).to.deep.equal(report);
  });

  it('sums steps, misses, time in missed steps and new layer bytes', () => {
    const metrics = { ...emptyMetrics(), blobBytesUp: 6000, blobsUploaded: 3 };
    metrics.requests['blob-head'] = 4;
    const report = buildReport({ ...input, metrics });
    expect(report.totals).to.deep.equal({
      steps: 5, cached: 2, missed: 3, missedMs: 1030, newLayerBytes: 6000,
      registry: { bytesUp: 6000, bytesDown: 0, requests: 4, blobsUploaded: 3, blobsMounted: 0, blobsSkipped: 0, retries: 0 },
    });
    expect(report.build).to.include({ id: 'b1234567890', status: 'succeeded', durationMs: 1045, started: '2023-11-14T22:13:20.000Z' });
    expect(report.build.args).to.deep.equal({ MODE: 'release' });
  });

  it('gives every step its stage, source line, offsets and rendered reasons', () => {
    const [, copy, run, , fromBuild] = buildReport(input).steps;
    expect(copy).to.deep.include({ id: 's0.1', keyword: 'COPY', instruction: 'COPY . /src', stage: { index: 0, name: 'build' }, startMs: 10, endMs: 30, durationMs: 20, size: 300 });
    expect(copy?.location).to.deep.equal({ file: '/src/app/Dockerfile', line: 3, endLine: 3, label: 'Dockerfile:3' });
    expect(copy?.reasons[0]?.text).to.equal('files changed in context: a.txt (changed)');
    expect(run?.instruction).to.equal('RUN make');
    expect(fromBuild?.stage).to.deep.equal({ index: 1 });
  });

  it('walks parent reasons back to the step that changed on its own, across stages', () => {
    const steps = buildReport(input).steps;
    expect(steps.map((s) => s.rootCauses)).to.deep.equal([[], ['s0.1'], ['s0.1'], [], ['s0.1']]);
  });

  it('reads instructions back from history text when the Dockerfile is not at hand', () => {
    const { record } = recordOf([{ line: 'FROM alpine' }, { line: 'RUN make', reasons: [{ kind: 'new' }] }]);
    const run = record.vertices[1];
    if (run) run.text = 'RUN |2 A=1 B=x /bin/sh -c make all # buildkit';
    expect(buildReport({ record }).steps[1]?.instruction).to.equal('RUN make all');
  });

  it('prefers the Dockerfile line, continuation lines included', () => {
    const { record } = recordOf([{ line: 'FROM alpine' }, { line: 'RUN make', reasons: [{ kind: 'new' }] }]);
    const loc = record.vertices[1]?.location;
    if (loc) loc.endLine = 3;
    const report = buildReport({ record, dockerfileText: 'FROM alpine\nRUN make \\\n  install\n' });
    expect(report.steps[1]?.instruction).to.equal('RUN make \\\n  install');
  });
});
