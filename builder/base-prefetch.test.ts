import { expect } from 'chai';
import { formatReference } from '../registry/index.js';
import { literalBaseImages } from './base-prefetch.js';
import type { NamedContext } from './options/build-flags.js';

describe('literalBaseImages', () => {
  const refs = (text: string, contexts: Record<string, NamedContext> = {}, target?: string): string[] => literalBaseImages(text, contexts, target).map(formatReference);

  it('lists each registry image a FROM names literally, once, normalised', () => {
    const text = [
      'FROM busybox AS build', 'RUN true',
      'FROM --platform=linux/arm64 localhost:5000/app:1 AS other',
      'FROM build', 'FROM BUILD',
      'FROM busybox:latest',
      'FROM scratch',
      'ARG BASE=alpine', 'FROM $BASE', 'FROM ${BASE}:3',
      'FROM localhost:5000/app@sha256:' + 'a'.repeat(64),
      // The target needs every stage above.
      'FROM scratch', ...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => `COPY --from=${i} /x /x${i}`),
    ].join('\n');
    expect(refs(text)).to.deep.equal([
      'docker.io/library/busybox:latest', 'localhost:5000/app:1', `localhost:5000/app@sha256:${'a'.repeat(64)}`,
    ]);
  });

  it('leaves out the stages the target does not need, following FROM, COPY --from and RUN --mount=from', () => {
    const text = [
      'FROM localhost:5000/base:1 AS base',
      'FROM localhost:5000/unused:1 AS unused',
      'FROM localhost:5000/tools:1 AS tools',
      'FROM localhost:5000/cache:1 AS cachestage',
      'FROM localhost:5000/by-index:1',
      'FROM base AS final',
      'COPY --from=tools /t /t',
      'RUN --mount=type=cache,target=/c,from=cachestage true',
      'COPY --from=4 /i /i',
      'COPY --from=localhost:5000/image-copied:1 /x /x',
      'FROM localhost:5000/last:1 AS last',
    ].join('\n');
    expect(refs(text, {}, 'final')).to.deep.equal(['localhost:5000/base:1', 'localhost:5000/tools:1', 'localhost:5000/cache:1', 'localhost:5000/by-index:1']);
    expect(refs(text)).to.deep.equal(['localhost:5000/last:1']);   // no --target: the last stage
    expect(refs(text, {}, 'no-such-stage')).to.deep.equal([]);
  });

  it('follows --build-context images and skips the named contexts that are no image', () => {
    const text = 'FROM base\nFROM tools\nFROM src\nFROM scratch\nCOPY --from=0 /a /a\nCOPY --from=1 /b /b\nCOPY --from=2 /c /c\n';
    const contexts: Record<string, NamedContext> = { base: { kind: 'image', ref: 'localhost:5000/base:2' }, src: { kind: 'local', dir: '/tmp/src' } };
    expect(refs(text, contexts)).to.deep.equal(['localhost:5000/base:2', 'docker.io/library/tools:latest']);
  });

  it('gives nothing for a Dockerfile that does not parse or a reference that is not one', () => {
    expect(refs('FROM Upper/Case\n')).to.deep.equal([]);
    expect(refs('FROM busybox\nRUN <<EOF\n')).to.be.an('array');
  });
});
