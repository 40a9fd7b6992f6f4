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

/** Waits, turn by turn of the event loop (the bake makes its temp dir first), until `ready()` holds. */
async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 100_000 && !ready(); i++) await new Promise((r) => setImmediate(r));
  if (!ready()) throw new Error('the bake never got there');
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
    await until(() => fake.started.length === 2);
    expect(fake.started).to.have.members(['a', 'c']);
    fake.finish('c');
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(fake.started).to.not.include('b');   // a, which b names, is still building
    fake.finish('a');
    await until(() => fake.started.includes('b'));
    fake.finish('b');
    await done;
  });

  it('fails with the first failing target\'s error, its name first, and cancels the targets still building', async () => {
    const fake = fakeBuilds();
    const done = runBake(resolved(), opts, fake.build, new AbortController().signal).then(() => undefined, (e: unknown) => e);
    await until(() => fake.started.length === 2);
    fake.finish('c', new UserError('RUN_FAILED', 'exit code 1'));
    const err = await done;
    expect(isTsbuildError(err) && err.code).to.equal('RUN_FAILED');
    expect((err as Error).message).to.equal('target "c": exit code 1');
    expect(fake.signals.get('a')?.aborted).to.equal(true);
    expect(fake.started).to.not.include('b');
  });
});

describe('bake: checking the targets', () => {
  it('refuses a target it cannot build before any target starts', async () => {
    const fake = fakeBuilds();
    const r = resolved();
    r.targets.c = { context: 'c', entitlements: ['network.host'] };
    const err = await runBake(r, opts, fake.build, new AbortController().signal).then(() => undefined, (e: unknown) => e);
    expect(isTsbuildError(err) && err.code).to.equal('INVALID_ARGUMENT');
    expect(fake.started).to.deep.equal([]);
  });
});
