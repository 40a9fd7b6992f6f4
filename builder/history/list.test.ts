import { expect } from 'chai';
import { buildName, historyDuration, historyJsonLines, historyTable } from './list.js';

describe('history ls as `docker buildx history ls` prints it', () => {
  const now = Date.UTC(2026, 11, 1, 12, 0, 0);
  const build = (id: string, over: Record<string, unknown> = {}) => ({
    id, started: now - 3 * 60_000, finished: now - 3 * 60_000 + 1400, status: 'succeeded' as const, steps: 5, cached: 2,
    dockerfile: '/src/app/Dockerfile', ...over,
  });

  it('names a build as buildx does: its directory, dir/file for another Dockerfile name, a remote URL, then the target', () => {
    expect(buildName({ dockerfile: '/src/app/Dockerfile' })).to.equal('app');
    expect(buildName({ dockerfile: '/src/app/Dockerfile.dev' })).to.equal('app/Dockerfile.dev');
    expect(buildName({ dockerfile: '/src/app/Dockerfile', target: 'test' })).to.equal('app (test)');
    expect(buildName({ dockerfile: '-', contextSource: { url: 'https://github.com/o/r.git#main' } })).to.equal('https://github.com/o/r.git#main');
    expect(buildName({ target: 'lint' })).to.equal('lint');
  });

  it('names a build by its BUILDKIT_BUILD_NAME build arg when set (buildx util/history/name.go), an empty one ignored', () => {
    expect(buildName({ dockerfile: '/src/app/Dockerfile', target: 'test', args: { BUILDKIT_BUILD_NAME: 'foobar' } })).to.equal('foobar');
    expect(buildName({ dockerfile: '/src/app/Dockerfile', args: { BUILDKIT_BUILD_NAME: '' } })).to.equal('app');
  });

  it('says durations as buildx history does', () => {
    expect([1400, 59_940, 60_000, 125_000, 3_725_000].map(historyDuration)).to.deep.equal(['1.4s', '59.9s', '1m  0s', '2m  5s', '62m  5s']);
  });

  it('prints the table (docker CLI widths, the empty link column) and JSON lines with buildx\'s keys', () => {
    const long = `/src/${'x'.repeat(50)}/Dockerfile`;
    const text = historyTable([build('aaaa'), build('bbbb', { status: 'failed', dockerfile: long })], { now });
    expect(text).to.equal([
      'BUILD ID   NAME                                   STATUS      CREATED AT      DURATION   ',
      'aaaa       app                                    Completed   3 minutes ago   1.4s       ',
      `bbbb       ..${'x'.repeat(34)}   Error       3 minutes ago   1.4s       `,
      '',
    ].join('\n'));
    expect(historyTable([build('bbbb', { dockerfile: long })], { now, trunc: false })).to.contain(`bbbb       ${'x'.repeat(50)}   Completed`);
    // A Go map marshals with sorted keys; time.RFC3339Nano drops the fraction's trailing zeros.
    expect(historyJsonLines([build('aaaa')], 'ci/ci0')).to.equal(
      '{"cached_steps":2,"completed_at":"2026-12-01T11:57:01.4Z","completed_steps":5,"created_at":"2026-12-01T11:57:00Z","name":"app","ref":"ci/ci0/aaaa","status":"Completed","total_steps":5}\n');
  });
});
