import { expect } from 'chai';
import { posix } from 'node:path';
import type { RootSession } from '../confined/index.js';
import type { Stub } from './status.js';
import { removeStubsIn } from './stubs.js';

// An upper dir in memory, answering as the confined writer does: removeStub removes an empty stub and returns its
// parent's mtime from before, and every change to a directory's entries moves its mtime to "now" (a clock).
class FakeUpper {
  readonly mtimes = new Map<string, bigint>();
  readonly entries = new Map<string, { isDir: boolean; filled: boolean }>();
  clock = 1_000_000_000n;
  constructor(dirs: string[]) { for (const d of ['', ...dirs]) { this.mtimes.set(d, this.tick()); if (d !== '') this.entries.set(d, { isDir: true, filled: false }); } }
  tick(): bigint { this.clock += 1_000_000_000n; return this.clock; }
  /** Creates a stub as the helper does and reports it (before/after: the parent's mtime around it). */
  stub(path: string, isDir: boolean): Stub {
    const rel = path.slice(1);
    const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
    const before = this.mtimes.get(parent) as bigint;
    this.entries.set(rel, { isDir, filled: false });
    if (isDir) this.mtimes.set(rel, this.tick());
    const after = this.tick();
    this.mtimes.set(parent, after);
    const pair = (ns: bigint): [number, number] => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
    return { path, isDir, before: pair(before), after: pair(after) };
  }
  touch(dir: string): void { this.mtimes.set(dir, this.tick()); }
  children(dir: string): number { return [...this.entries.keys()].filter((k) => (posix.dirname(k) === '.' ? '' : posix.dirname(k)) === dir).length; }
  session(): RootSession {
    const parentOf = (p: string): string => (posix.dirname(p) === '.' ? '' : posix.dirname(p));
    const fake = {
      lstat: async (index: number, path: string) => {
        if (index !== 0) return path === 'etc' || path === 'run' ? { type: 'd', mode: 0o755, uid: 0, gid: 0 } : undefined;
        const e = path === '' ? { isDir: true } : this.entries.get(path);
        if (e === undefined) return undefined;
        return { type: e.isDir ? 'd' : 'f', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeNs: this.mtimes.get(path) ?? 0n, isEmptyDir: e.isDir && this.children(path) === 0, isOpaqueDir: false };
      },
      removeStub: async (path: string) => {
        const e = this.entries.get(path);
        if (e === undefined || e.filled || (e.isDir && this.children(path) > 0)) return undefined;
        const before = this.mtimes.get(parentOf(path));
        this.entries.delete(path);
        this.mtimes.delete(path);
        this.touch(parentOf(path));
        return before;
      },
      setMtime: async (path: string, ns: bigint) => { if (path !== '' && !this.entries.has(path)) return false; this.mtimes.set(path, ns); return true; },
      rmdir: async (path: string) => { if (this.children(path) > 0) return false; this.entries.delete(path); this.mtimes.delete(path); this.touch(parentOf(path)); return true; },
    };
    return fake as unknown as RootSession;
  }
}

/** The clean-up one call at a time (what removeStubsIn did before it sent its queries together): the reference. */
async function oneByOne(session: RootSession, stubs: Stub[]): Promise<void> {
  const nanos = ([s, ns]: [number, number]): bigint => BigInt(s) * 1_000_000_000n + BigInt(ns);
  for (const stub of [...stubs].reverse()) {
    const parent = posix.dirname(stub.path).slice(1);
    const found = await session.removeStub(stub.path.slice(1), stub.isDir);
    if (found !== undefined && (found > nanos(stub.after) ? found - nanos(stub.after) : nanos(stub.after) - found) < 2000n) await session.setMtime(parent, nanos(stub.before));
  }
}

type Scenario = (u: FakeUpper) => Stub[];

const scenarios: Record<string, Scenario> = {
  'stubs in / and /etc, nothing touched': (u) => ['/proc', '/dev', '/sys'].map((p) => u.stub(p, true)).concat(['/etc/hosts', '/etc/hostname'].map((p) => u.stub(p, false))),
  'the step wrote into /etc after the stubs': (u) => { const s = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf'].map((p) => u.stub(p, false)); u.touch('etc'); return s; },
  'a kept stub in the middle': (u) => { const s = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf'].map((p) => u.stub(p, false)); (u.entries.get('etc/hostname') as { filled: boolean }).filled = true; return s; },
  'the newest stub kept': (u) => { const s = ['/etc/hosts', '/etc/hostname'].map((p) => u.stub(p, false)); (u.entries.get('etc/hostname') as { filled: boolean }).filled = true; return s; },
  'parents interleaved': (u) => [u.stub('/etc/a', false), u.stub('/run/b', false), u.stub('/etc/c', false)],
  'a stub dir holding a stub file': (u) => [u.stub('/run/secrets', true), u.stub('/run/secrets/x', false)],
};

describe('removeStubsIn (queries sent together, same result as one at a time)', () => {
  for (const [name, make] of Object.entries(scenarios)) {
    it(name, async () => {
      const a = new FakeUpper(['etc', 'run']);
      const b = new FakeUpper(['etc', 'run']);
      const stubsA = make(a);
      const stubsB = make(b);
      expect(stubsA).to.deep.equal(stubsB);
      const setUp = a.clock;   // every mtime up to here is one the clean-up may put back; later ones are "now"
      await oneByOne(a.session(), stubsA);
      // Nothing absent before: the parent-dir clean-up (isPureCopyUp) is not what these compare.
      await removeStubsIn(b.session(), 0, stubsB, { rootMtimeNs: 0n, absent: new Set() }, undefined);
      expect([...b.entries.keys()].sort()).to.deep.equal([...a.entries.keys()].sort());
      // A "now" differs between the two by the number of calls made; a put-back mtime must be the same one.
      const view = (u: FakeUpper): Record<string, string> => Object.fromEntries([...u.mtimes].map(([d, m]) => [d, m <= setUp ? String(m) : 'now']));
      expect(view(b)).to.deep.equal(view(a));
    });
  }
});
