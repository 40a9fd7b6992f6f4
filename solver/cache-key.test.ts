import { expect } from 'chai';
import type { ExecOp, Vertex } from '../frontend/index.js';
import { sha256 } from '../registry/oci/index.js';
import { cacheKey, keyOp } from './cache-key.js';
import type { CacheKeyParts } from './cache-key.js';

const base: CacheKeyParts = { v: 1, op: '{"kind":"scratch"}', opText: 'FROM scratch', inputs: [], content: {}, args: {}, platform: 'linux/amd64' };

function vertex(op: Vertex['op'], inputs: string[] = []): Vertex {
  return { id: 's0.1', op, inputs, text: 'x', stage: 0, args: {}, emptyLayer: false };
}

const exec: ExecOp = { kind: 'exec', argv: ['/bin/sh', '-c', 'make'], env: [], cwd: '/', user: '', mounts: [], network: 'default', security: 'sandbox' };

describe('cacheKey', () => {
  it('gives the same digest for the same parts whatever order their keys were built in', () => {
    const a = cacheKey({ ...base, args: { A: '1', B: '2' }, content: { x: sha256('x'), y: sha256('y') } });
    const b = cacheKey({ ...base, content: { y: sha256('y'), x: sha256('x') }, args: { B: '2', A: '1' } });
    expect(a.digest).to.equal(b.digest);
  });

  it('leaves the display text out of the digest but keeps it in the parts', () => {
    const a = cacheKey(base);
    const b = cacheKey({ ...base, opText: 'FROM   scratch' });
    expect(a.digest).to.equal(b.digest);
    expect(b.parts.opText).to.equal('FROM   scratch');
  });

  const changes: [string, Partial<CacheKeyParts>][] = [
    ['the op', { op: '{"kind":"image"}' }],
    ['an input key', { inputs: [sha256('parent')] }],
    ['a content digest', { content: { context: sha256('a') } }],
    ['an arg value', { args: { A: '2' } }],
    ['the platform', { platform: 'linux/arm64' }],
  ];
  for (const [what, change] of changes) {
    it(`changes the digest when ${what} changes`, () => {
      expect(cacheKey({ ...base, ...change }).digest).to.not.equal(cacheKey(base).digest);
    });
  }
});

describe('keyOp', () => {
  it('keys an image on its resolved digest, not on the name it was asked for by', () => {
    const digest = sha256('manifest');
    const platform = { os: 'linux', architecture: 'amd64' };
    expect(keyOp(vertex({ kind: 'image', ref: 'alpine:3', digest, platform }))).to.equal(
      keyOp(vertex({ kind: 'image', ref: 'docker.io/library/alpine@' + digest, digest, platform })),
    );
  });

  it('keeps a secret mount by id only, so its value can never reach a key', () => {
    const op: ExecOp = { ...exec, mounts: [{ type: 'secret', id: 'npmrc', required: true, uid: 0, gid: 0, mode: 0o400 }] };
    const text = keyOp(vertex(op));
    expect(text).to.contain('"id":"npmrc"');
    expect(text).to.not.contain('src');
  });

  it('keys a COPY --from by the source kind only, since the copied content is keyed separately', () => {
    const copy = (id: string): Vertex['op'] => ({ kind: 'copy', mode: 'copy', from: { kind: 'vertex', id }, sources: ['/app'], dest: '/app', link: false, parents: false, exclude: [] });
    expect(keyOp(vertex(copy('s1.3'), ['s0.1', 's1.3']))).to.equal(keyOp(vertex(copy('s2.3'), ['s0.1', 's2.3'])));
  });

  it('keys a mount from another vertex by its position among the inputs, not by its id', () => {
    const mount = (id: string): Vertex['op'] => ({ ...exec, mounts: [{ type: 'bind', target: '/src', from: { kind: 'vertex', id }, source: '/', readwrite: false }] });
    const a = keyOp(vertex(mount('s1.2'), ['s0.1', 's1.2']));
    expect(a).to.equal(keyOp(vertex(mount('s4.2'), ['s0.1', 's4.2'])));
    expect(a).to.contain('"input":1');
  });
});
