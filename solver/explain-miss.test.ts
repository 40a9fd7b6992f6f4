import { expect } from 'chai';
import { sha256 } from '../registry/oci/index.js';
import type { CacheKeyParts } from './cache-key.js';
import { explainMiss, MAX_LISTED_CHANGES } from './explain-miss.js';
import type { MissContext, MissReason } from './explain-miss.js';

const run = (text: string, env: string[] = []): string => JSON.stringify({ kind: 'exec', argv: ['/bin/sh', '-c', text], env });
const before: CacheKeyParts = {
  v: 1, op: run('make'), opText: 'RUN make', inputs: [sha256('parent')], content: {}, args: {}, platform: 'linux/amd64',
};
const image = (digest: string): string => JSON.stringify({ kind: 'image', digest });

interface Case { name: string; before: CacheKeyParts | undefined; now: CacheKeyParts; ctx?: MissContext; want: MissReason[] }

const cases: Case[] = [
  { name: 'a step never built before is new', before: undefined, now: before, want: [{ kind: 'new' }] },
  {
    name: 'a step keyed by an older key recipe is new, with both recipe versions (not a change of the step)',
    before, now: { ...before, v: 2, opText: 'RUN other' }, want: [{ kind: 'new', recipe: { before: 1, after: 2 } }],
  },
  { name: 'a forced step says no-cache whatever changed', before, now: { ...before, opText: 'RUN other' }, ctx: { noCache: true }, want: [{ kind: 'no-cache' }] },
  { name: 'identical parts mean the result was evicted', before, now: before, want: [{ kind: 'evicted' }] },
  {
    name: 'a changed instruction names both texts',
    before, now: { ...before, op: run('make all'), opText: 'RUN make all' },
    want: [{ kind: 'instruction', before: 'RUN make', after: 'RUN make all' }],
  },
  {
    name: 'an arg change that changed the op is explained by the arg alone',
    before: { ...before, args: { V: '1' }, op: run('make V=1') },
    now: { ...before, args: { V: '2' }, op: run('make V=2') },
    want: [{ kind: 'arg', name: 'V', before: '1', after: '2' }],
  },
  {
    name: 'an arg that appeared has no before',
    before, now: { ...before, args: { NEW: 'x' } },
    want: [{ kind: 'arg', name: 'NEW', after: 'x' }],
  },
  {
    name: 'a changed parent is named, and the inherited env change is not called an instruction change',
    before, now: { ...before, op: run('make', ['A=2']), inputs: [sha256('other parent')] },
    ctx: { parents: [{ id: 's0.2', text: 'COPY . .' }] },
    want: [{ kind: 'setting', setting: 'ENV', name: 'A', after: '2' }, { kind: 'parent', vertex: 's0.2', text: 'COPY . .' }],
  },
  {
    name: 'an env change alone names the variable, with both values',
    before: { ...before, op: run('make', ['A=1']) }, now: { ...before, op: run('make', ['A=2']) },
    want: [{ kind: 'setting', setting: 'ENV', name: 'A', before: '1', after: '2' }],
  },
  {
    name: 'a changed build arg is not also called an instruction change through the RUN |N prefix',
    before: { ...before, op: run('make', ['V=1']), opText: 'RUN |1 V=1 /bin/sh -c make # buildkit', args: { V: '1' } },
    now: { ...before, op: run('make', ['V=2']), opText: 'RUN |1 V=2 /bin/sh -c make # buildkit', args: { V: '2' } },
    want: [{ kind: 'arg', name: 'V', before: '1', after: '2' }],
  },
  {
    name: 'a FROM that resolved to another digest is a base change naming the ref',
    before: { ...before, op: image('sha256:aa'), opText: 'FROM alpine', inputs: [] },
    now: { ...before, op: image('sha256:bb'), opText: 'FROM alpine', inputs: [] },
    ctx: { ref: 'alpine' },
    want: [{ kind: 'base', ref: 'alpine', before: 'sha256:aa', after: 'sha256:bb' }],
  },
  {
    name: 'another platform is a platform reason',
    before, now: { ...before, platform: 'linux/arm64' },
    want: [{ kind: 'platform', before: 'linux/amd64', after: 'linux/arm64' }],
  },
  {
    name: 'changed content lists the files added, removed and changed',
    before: { ...before, content: { context: sha256('1') } },
    now: { ...before, content: { context: sha256('2') } },
    ctx: {
      filesBefore: { context: { 'a.ts': sha256('a'), 'gone.ts': sha256('g'), 'same.ts': sha256('s') } },
      filesNow: { context: { 'a.ts': sha256('a2'), 'new.ts': sha256('n'), 'same.ts': sha256('s') } },
    },
    want: [{
      kind: 'content', source: 'context', count: 3,
      changes: [
        { path: 'a.ts', before: sha256('a'), after: sha256('a2') },
        { path: 'gone.ts', before: sha256('g') },
        { path: 'new.ts', after: sha256('n') },
      ],
    }],
  },
  {
    name: 'the same text with another --add-host names the option, never "X → X"',
    before: { ...before, op: JSON.stringify({ kind: 'exec', argv: ['/bin/sh', '-c', 'make'], env: [], extraHosts: ['1.2.3.4\ta'] }) },
    now: { ...before, op: JSON.stringify({ kind: 'exec', argv: ['/bin/sh', '-c', 'make'], env: [], extraHosts: ['1.2.3.5\ta'], shmSize: 1 }) },
    want: [{ kind: 'options', options: ['--add-host', '--shm-size'] }],
  },
  {
    name: 'another SHELL for the same command is a SHELL setting, not an instruction change',
    before: { ...before, op: JSON.stringify({ kind: 'exec', argv: ['/bin/sh', '-c', 'make'], env: [] }), opText: 'RUN /bin/sh -c make' },
    now: { ...before, op: JSON.stringify({ kind: 'exec', argv: ['/bin/bash', '-c', 'make'], env: [] }), opText: 'RUN /bin/bash -c make' },
    want: [{ kind: 'setting', setting: 'SHELL', before: '["/bin/sh","-c"]', after: '["/bin/bash","-c"]' }],
  },
  {
    name: 'a step forced by --no-cache-filter says so',
    before, now: before, ctx: { noCache: '--no-cache-filter build' }, want: [{ kind: 'no-cache', flag: '--no-cache-filter build' }],
  },
  {
    name: 'a COPY that became a RUN is an instruction change, without listing the copied files as removed',
    before: { ...before, op: '{"kind":"copy"}', opText: 'COPY . /app', content: { context: sha256('ctx') } },
    now: before,
    ctx: { filesBefore: { context: { 'a.ts': sha256('a') } } },
    want: [{ kind: 'instruction', before: 'COPY . /app', after: 'RUN make' }],
  },
];

describe('explainMiss', () => {
  for (const c of cases) {
    it(c.name, () => {
      expect(explainMiss(c.before, c.now, c.ctx)).to.deep.equal(c.want);
    });
  }

  it('lists at most 20 changed files but counts them all', () => {
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${String(i).padStart(2, '0')}`, sha256(String(i))]));
    const [reason] = explainMiss({ ...before, content: { context: sha256('1') } }, { ...before, content: { context: sha256('2') } }, { filesBefore: { context: {} }, filesNow: { context: many } });
    expect(reason?.kind).to.equal('content');
    if (reason?.kind !== 'content') return;
    expect(reason.changes).to.have.length(MAX_LISTED_CHANGES);
    expect(reason.count).to.equal(50);
    expect(reason.changes[0]?.path).to.equal('f00');
  });

  it('says only that the content differs when the previous side recorded no per-file digests (a remote cache record)', () => {
    const [reason] = explainMiss({ ...before, content: { context: sha256('1') } }, { ...before, content: { context: sha256('2') } }, { filesBefore: {}, filesNow: { context: { 'src/f1': sha256('x') } } });
    expect(reason).to.deep.equal({ kind: 'content', source: 'context', changes: [], count: 0, unlisted: true });
  });

  it('reports every kind of change at once when several things changed', () => {
    const now = { ...before, op: run('make x'), opText: 'RUN make x', args: { A: '1' }, inputs: [sha256('p2')] };
    const kinds = explainMiss(before, now, { parents: [{ id: 's0.0', text: 'FROM x' }] }).map((r) => r.kind);
    expect(kinds).to.deep.equal(['instruction', 'arg', 'parent']);
  });
});
