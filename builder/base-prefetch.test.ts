import { expect } from 'chai';
import { formatReference } from '../registry/index.js';
import { literalBaseImages } from './base-prefetch.js';
import type { NamedContext } from './options/build-flags.js';

describe('literalBaseImages', () => {
  const refs = (text: string, contexts: Record<string, NamedContext> = {}): string[] => literalBaseImages(text, contexts).map(formatReference);

  it('lists each registry image a FROM names literally, once, normalised', () => {
    const text = [
      'FROM busybox AS build', 'RUN true',
      'FROM --platform=linux/arm64 localhost:5000/app:1 AS other',
      'FROM build', 'FROM BUILD',
      'FROM busybox:latest',
      'FROM scratch',
      'ARG BASE=alpine', 'FROM $BASE', 'FROM ${BASE}:3',
      'FROM localhost:5000/app@sha256:' + 'a'.repeat(64),
    ].join('\n');
    expect(refs(text)).to.deep.equal([
      'docker.io/library/busybox:latest', 'localhost:5000/app:1', `localhost:5000/app@sha256:${'a'.repeat(64)}`,
    ]);
  });

  it('follows --build-context images and skips the named contexts that are no image', () => {
    const text = 'FROM base\nFROM tools\nFROM src\n';
    const contexts: Record<string, NamedContext> = { base: { kind: 'image', ref: 'localhost:5000/base:2' }, src: { kind: 'local', dir: '/tmp/src' } };
    expect(refs(text, contexts)).to.deep.equal(['localhost:5000/base:2', 'docker.io/library/tools:latest']);
  });

  it('gives nothing for a Dockerfile that does not parse or a reference that is not one', () => {
    expect(refs('FROM Upper/Case\n')).to.deep.equal([]);
    expect(refs('FROM busybox\nRUN <<EOF\n')).to.be.an('array');
  });
});
