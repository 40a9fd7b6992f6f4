import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { lockRoot, type RootLock } from './root-lock.js';

/** Resolves with the lock, or with 'pending' when it is still not granted after `ms`. */
async function within(p: Promise<RootLock>, ms: number): Promise<RootLock | 'pending'> {
  return Promise.race([p, sleep(ms).then(() => 'pending' as const)]);
}

describe('lockRoot', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-rootlock-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('lets builds share the root and keeps prune out until the last one releases it', async () => {
    const a = await lockRoot(dir, 'shared');
    const b = await lockRoot(dir, 'shared');
    let waited = false;
    const prune = lockRoot(dir, 'exclusive', () => { waited = true; });
    expect(await within(prune, 300)).to.equal('pending');
    expect(waited, 'onWait is called while the lock is taken').to.equal(true);
    await a.release();
    expect(await within(prune, 100)).to.equal('pending');
    await b.release();
    const held = await within(prune, 2000);
    expect(held).to.not.equal('pending');
    // While prune holds it, a build waits.
    const build = lockRoot(dir, 'shared');
    expect(await within(build, 150)).to.equal('pending');
    if (held !== 'pending') await held.release();
    await (await build).release();
  });

  it('refuses a lock.db that is no database with STORE_LOCKED and a hint, without waiting', async () => {
    await writeFile(join(dir, 'lock.db'), 'not a database, but long enough to have a header of a hundred bytes or so. '.repeat(3));
    const err: unknown = await lockRoot(dir, 'shared').then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'STORE_LOCKED');
    expect(err).to.have.property('hint').that.contains('lock.db');
  });

  it('is released when the process holding it is killed', async () => {
    const url = pathToFileURL(join(import.meta.dirname, 'root-lock.js')).href;
    const script = `const { lockRoot } = await import(${JSON.stringify(url)}); await lockRoot(${JSON.stringify(dir)}, 'exclusive'); process.stdout.write('held\\n'); setInterval(() => {}, 1e6);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the holder exited early (${code})`)));
    });
    child.removeAllListeners('exit');
    const waiting = lockRoot(dir, 'shared');
    expect(await within(waiting, 150)).to.equal('pending');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const lock = await within(waiting, 2000);
    expect(lock).to.not.equal('pending');
    if (lock !== 'pending') await lock.release();
  });
});
