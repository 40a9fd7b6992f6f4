import { expect } from 'chai';
import { isTsbuildError, UserError } from '../../common/index.js';
import type { BuildFlags } from '../commands/build-flags.js';
import type { Resolved } from './resolve.js';
import { runBake, type BuildTarget } from './run.js';

/** A build that waits until the test finishes it; `started` lists the targets in the order they began. */
function fakeBuilds(): { build: BuildTarget; started: string[]; finish(name: string, err?: Error): void; signals: Map<string, AbortSignal> } {
  const started: string[] = [];
  const pending = new Map<string, { resolve(): void; reject(err: Error): void }>();
  const signals = new Map<string, AbortSignal>();
  const build: BuildTarget = (context: string, _flags: BuildFlags, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
    started.push(context);
    signals.set(context, signal);
    pending.set(context, { resolve, reject });
    signal.addEventListener('abort', () => reject(new UserError('CANCELLED', 'build cancelled')), { once: true });
  });
  const finish = (name: string, err?: Error): void => {
    const p = pending.get(name);
    if (!p) throw new Error(`${name} has not started`);
    if (err) p.reject(err);
    else p.resolve();
  };
  return { build, started, finish, signals };
}

/** Lets every ready promise callback run (no timers: the bake's scheduling is all promise chains). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}

const resolved = (): Resolved => ({
  groups: {}, linked: new Set(),
  targets: { a: { context: 'a' }, b: { context: 'b', contexts: { x: 'target:a' } }, c: { context: 'c' } },
});
const opts = { root: '/nonexistent', progress: 'plain' as const, quiet: true, allow: [], insecureRegistry: [] };

describe('bake: building the targets', () => {
  it('starts every target whose target: contexts are done at once, and a dependent when its dependency is done', async () => {
    const fake = fakeBuilds();
    const done = runBake(resolved(), opts, fake.build, new AbortController().signal);
    await settle();
    expect(fake.started).to.have.members(['a', 'c']);
    fake.finish('c');
    await settle();
    expect(fake.started).to.not.include('b');
    fake.finish('a');
    await settle();
    expect(fake.started).to.include('b');
    fake.finish('b');
    await done;
  });

  it('fails with the first failing target\'s error, its name first, and cancels the targets still building', async () => {
    const fake = fakeBuilds();
    const done = runBake(resolved(), opts, fake.build, new AbortController().signal).then(() => undefined, (e: unknown) => e);
    await settle();
    fake.finish('c', new UserError('RUN_FAILED', 'exit code 1'));
    const err = await done;
    expect(isTsbuildError(err) && err.code).to.equal('RUN_FAILED');
    expect((err as Error).message).to.equal('target "c": exit code 1');
    expect(fake.signals.get('a')?.aborted).to.equal(true);
    expect(fake.started).to.not.include('b');
  });
});
