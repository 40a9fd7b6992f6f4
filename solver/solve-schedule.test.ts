import { expect } from 'chai';
import { StepError } from './step-error.js';
import { graphOf } from './testing/graph-of.js';
import type { StageSpec } from './testing/graph-of.js';
import { Harness } from './testing/harness.js';
import { UserError } from '../common/index.js';

/** A promise with its resolve function, for making steps wait on each other. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('solve: scheduling', () => {
  let h: Harness;
  beforeEach(() => (h = new Harness()));
  afterEach(() => h.dispose());

  it('runs a step that two stages share (the same key) once', async () => {
    const specs: StageSpec[] = [
      { from: { image: 'alpine:3' }, steps: [{ run: 'apk add gcc' }, { run: 'a' }] },
      { from: { image: 'alpine:3' }, steps: [{ run: 'apk add gcc' }, { run: 'b' }] },
    ];
    const r = await h.solve(graphOf(specs));
    expect(h.worker.calls.filter((c) => c.what === '/bin/sh -c apk add gcc')).to.have.length(1);
    expect(h.images.pulls).to.equal(1);
    expect(r.results['s0.1']).to.deep.equal(r.results['s1.1']);
    expect(r.records.filter((x) => !x.cached).map((x) => x.id).sort()).to.deep.equal(['s0.0', 's0.1', 's0.2', 's1.2']);
  });

  it('runs two independent stages at the same time', async () => {
    const both = gate();
    let waiting = 0;
    h.worker.execHook = async () => {
      if (++waiting === 2) both.open();
      await both.promise; // each exec waits until the other has started: deadlocks unless they overlap
    };
    const specs: StageSpec[] = [
      { from: 'scratch', steps: [{ run: 'left' }] },
      { from: 'scratch', steps: [{ run: 'right' }] },
    ];
    await h.solve(graphOf(specs), { concurrency: 4, execConcurrency: 2 });
    const order = h.events.filter((e) => e.type === 'start' || e.type === 'done').filter((e) => e.vertex.endsWith('.1')).map((e) => e.type);
    expect(order).to.deep.equal(['start', 'start', 'done', 'done']);
  });

  it('runs at most execConcurrency RUN steps at once', async () => {
    let running = 0;
    let most = 0;
    h.worker.execHook = async () => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
    };
    const specs: StageSpec[] = [
      { from: 'scratch', steps: [{ run: 'left' }] },
      { from: 'scratch', steps: [{ run: 'middle' }] },
      { from: 'scratch', steps: [{ run: 'right' }] },
    ];
    await h.solve(graphOf(specs), { concurrency: 4, execConcurrency: 1 });
    expect(most).to.equal(1);
    expect(h.worker.calls.filter((c) => c.what.startsWith('/bin/sh -c '))).to.have.length(3);
  });

  it('lets the COPY steps of other stages go on while a RUN waits for its exec slot', async () => {
    const release = gate();
    let copiedWhileRunning = false;
    h.worker.execHook = async () => { await release.promise; };
    const copy = h.worker.copy.bind(h.worker);
    h.worker.copy = async (...args) => {
      const fs = await copy(...args);
      copiedWhileRunning = true;
      release.open();   // the first RUN ends only once the COPY of the third stage went through
      return fs;
    };
    const specs: StageSpec[] = [
      { from: 'scratch', steps: [{ run: 'left' }] },
      { from: 'scratch', steps: [{ run: 'right' }] },
      { from: 'scratch', steps: [{ copy: ['a'], dest: '/a' }] },
      { from: { stage: 0 }, steps: [{ copy: ['/'], dest: '/r', from: 1 }, { copy: ['/'], dest: '/c', from: 2 }] },
    ];
    // Two general slots: one RUN runs, the other waits for the exec slot; without giving its slot back the COPY
    // could not start before the running RUN ended, and that RUN waits for the COPY.
    await h.solve(graphOf(specs), { concurrency: 2, execConcurrency: 1 });
    expect(copiedWhileRunning).to.equal(true);
  });

  it('rejects with the first failure, located at its line with its code kept, and cancels the rest', async () => {
    let sawAbort = false;
    h.worker.execHook = async (op, signal) => {
      const what = op.argv[2];
      if (what === 'fail') throw new UserError('RUN_FAILED', 'RUN failed: exit code 1', 'see the output above');
      if (what === 'slow') {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        sawAbort = true;
        signal.throwIfAborted();
      }
    };
    const specs: StageSpec[] = [
      { from: 'scratch', steps: [{ run: 'slow' }, { run: 'after slow' }] },
      { from: 'scratch', steps: [{ run: 'ok' }, { run: 'fail' }, { run: 'never' }] },
    ];
    const err: unknown = await h.solve(graphOf(specs), { concurrency: 4, execConcurrency: 4 }).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(StepError);
    if (!(err instanceof StepError)) return;
    expect(err.code).to.equal('RUN_FAILED');
    expect(err.message).to.equal('Dockerfile:6: RUN failed: exit code 1');
    expect(err.hint).to.equal('see the output above');
    expect(err.vertex).to.equal('s1.2');
    expect(sawAbort).to.equal(true);
    expect(h.worker.calls.map((c) => c.what)).to.not.include('/bin/sh -c never');
    expect(h.worker.calls.map((c) => c.what)).to.not.include('/bin/sh -c after slow');
    expect(h.events.filter((e) => e.type === 'error').map((e) => e.vertex)).to.deep.equal(['s1.2']);
  });

  it('turns a failure that is a bug into a plain Error naming the step', async () => {
    h.worker.execHook = () => {
      throw new TypeError('boom');
    };
    const err: unknown = await h.solve(graphOf([{ from: 'scratch', steps: [{ run: 'x' }] }])).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(Error).and.not.instanceOf(StepError);
    expect((err as Error).message).to.equal('Dockerfile:2: RUN x: boom');
    expect((err as Error).cause).to.be.instanceOf(TypeError);
  });

  it('rejects with CANCELLED when the caller aborts, after the running step stopped', async () => {
    const controller = new AbortController();
    let stopped = false;
    h.worker.execHook = async (_op, signal) => {
      controller.abort();
      await new Promise((resolve) => setImmediate(resolve));
      stopped = signal.aborted;
      signal.throwIfAborted();
    };
    const err: unknown = await h.solve(graphOf([{ from: 'scratch', steps: [{ run: 'x' }, { run: 'y' }] }]), { signal: controller.signal }).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(UserError);
    expect((err as UserError).code).to.equal('CANCELLED');
    expect(stopped).to.equal(true);
    expect(h.worker.count('exec')).to.equal(1);
  });

  it('fails a step whose required secret was not given, with SECRET_NOT_FOUND at its line', async () => {
    const specs: StageSpec[] = [{ from: 'scratch', steps: [{ run: 'x', mounts: [{ type: 'secret', id: 'tok', required: true, uid: 0, gid: 0, mode: 0o400 }] }] }];
    const err: unknown = await h.solve(graphOf(specs)).then(() => undefined, (e: unknown) => e);
    expect((err as StepError).code).to.equal('SECRET_NOT_FOUND');
    expect((err as StepError).at?.line).to.equal(2);
    const ok = await h.solve(graphOf(specs), { secrets: { tok: '/run/secrets/tok' } });
    expect(ok.records[1]?.cached).to.equal(false);
  });

  it('turns the worker’s output into log and status events of that step', async () => {
    h.worker.execHook = (_op, _signal, progress) => {
      progress.status('compiling', 1, 2);
      progress.log('stdout', new TextEncoder().encode('hello\n'));
    };
    await h.solve(graphOf([{ from: 'scratch', steps: [{ run: 'x' }] }]));
    const log = h.events.find((e) => e.type === 'log');
    expect(log?.type === 'log' && [log.vertex, new TextDecoder().decode(log.data)]).to.deep.equal(['s0.1', 'hello\n']);
    expect(h.events.find((e) => e.type === 'status')).to.deep.include({ vertex: 's0.1', text: 'compiling', current: 1, total: 2 });
  });

  it('refuses a graph with a cycle before running anything', async () => {
    const g = graphOf([{ from: 'scratch', steps: [{ run: 'a' }, { run: 'b' }] }]);
    const first = g.vertices[1];
    if (first === undefined) throw new Error('no vertex');
    first.inputs = ['s0.2'];
    const err: unknown = await h.solve(g).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).to.match(/cycle/);
    expect(h.worker.calls).to.have.length(0);
  });

  it('keeps the results leased after success and releases the lease on failure', async () => {
    const r = await h.solve(graphOf([{ from: 'scratch', steps: [{ run: 'a' }] }]), { buildId: 'b1' });
    expect(r.leaseId).to.equal('b1');
    expect(h.cache.prune({ all: true }).keys).to.have.length(0);
    await h.cache.release('b1');
    expect(h.cache.prune({ all: true }).keys).to.have.length(2);
    h.worker.execHook = () => Promise.reject(new UserError('RUN_FAILED', 'RUN failed'));
    await h.solve(graphOf([{ from: 'scratch', steps: [{ run: 'z' }] }]), { buildId: 'b2' }).catch(() => undefined);
    expect(h.cache.du().entries.filter((e) => e.leased)).to.have.length(0);
  });
});
