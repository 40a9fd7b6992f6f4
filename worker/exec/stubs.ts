import { posix } from 'node:path';
import { RootSession, inRootPath } from '../confined/index.js';
import type { Stub } from './status.js';

// Mount stubs: the targets the helper had to create for mounts (/proc, /etc/hosts, /run/secrets/x …) and the
// directories overlayfs copied up to hold them. BuildKit removes them after a step (removeMountStubs) so they never
// reach its layer; so do we, and we put back the mtimes that creating them changed, when the step itself did not
// change them afterwards. The step ran code the build controls: it may have replaced /etc, /run/secrets or any
// parent of a stub with a symlink to a host directory. Every look and every removal therefore goes through the
// confined writer with symlinks refused on the way (RESOLVE_NO_SYMLINKS): a stub behind a symlink is no longer
// ours and is left alone.

/** What the upper dir looked like before the step, for the stub cleanup afterwards. */
export interface UpperBefore { rootMtimeNs: bigint; absent: Set<string> }

function nanos([s, ns]: [number, number]): bigint {
  return BigInt(s) * 1_000_000_000n + BigInt(ns);
}

// Times we set are exact (futimens), but the helper reports its own with the precision it has: compare within 2 µs.
function near(a: bigint, b: bigint): boolean {
  return (a > b ? a - b : b - a) < 2000n;
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let p = posix.dirname(path); p !== '/' && p !== '.'; p = posix.dirname(p)) out.push(p);
  return out;
}

/** Records, before the step runs, the upper root's mtime and which ancestors of the mount targets it lacks. */
export async function inspectUpper(upperDir: string, targets: string[]): Promise<UpperBefore> {
  return RootSession.with(upperDir, {}, (session) => inspectUpperIn(session, targets));
}

/** inspectUpper through a session the caller keeps for the step (one confined process for before and after). */
export async function inspectUpperIn(session: RootSession, targets: string[]): Promise<UpperBefore> {
  const absent = new Set<string>();
  for (const dir of new Set(targets.flatMap((t) => [t, ...ancestors(t)]))) {
    if (await session.lstat(0, inRootPath(dir)) === undefined) absent.add(dir);
  }
  const root = await session.lstat(0, '');
  if (root === undefined) throw new Error('the upper dir vanished');
  return { rootMtimeNs: root.mtimeNs, absent };
}

// A directory that was not in the upper dir before, is empty now and has the lower one's owner and mode is only
// an overlayfs copy-up made to hold a stub. It cannot have become opaque: it held a mount point all along, so the
// step could not remove and recreate it.
async function isPureCopyUp(session: RootSession, lowers: number, dir: string): Promise<boolean> {
  const st = await session.lstat(0, dir);
  if (st === undefined || st.type !== 'd' || !st.isEmptyDir) return false;
  for (let i = 1; i <= lowers; i++) {
    const l = await session.lstat(i, dir);
    if (l !== undefined) return l.type === 'd' && l.mode === st.mode && l.uid === st.uid && l.gid === st.gid;
  }
  return false;
}

/**
 * Removes the stubs and the copied-up directories that only held them from the upper dir after a step. A stub the
 * step filled (a non-empty file or directory) is the step's own and stays. Limitation: a stub created over a
 * whiteout of the same path replaces the whiteout; removing the stub then lets the lower entry show again. Images
 * rarely delete /proc, /dev, /sys or /etc/hosts.
 */
export async function removeStubs(upperDir: string, lowerDirs: string[], stubs: Stub[], before: UpperBefore,
  settled: [number, number] | undefined): Promise<void> {
  await RootSession.with(upperDir, { lowerRoots: lowerDirs }, (session) => removeStubsIn(session, lowerDirs.length, stubs, before, settled));
}

/** removeStubs through the step's session, opened on the upper dir with `lowers` lower roots. */
export async function removeStubsIn(session: RootSession, lowerDirs: number, stubs: Stub[], before: UpperBefore,
  settled: [number, number] | undefined): Promise<void> {
  const rootNow = (await session.lstat(0, ''))?.mtimeNs;
  const isRootUntouched = settled !== undefined && rootNow !== undefined && near(rootNow, nanos(settled));
  for (const stub of [...stubs].reverse()) {
    const parentBefore = await session.removeStub(inRootPath(stub.path), stub.isDir);
    if (parentBefore !== undefined && near(parentBefore, nanos(stub.after))) {
      await session.setMtime(inRootPath(posix.dirname(stub.path)), nanos(stub.before));
    }
  }
  const dirs = [...new Set(stubs.flatMap((s) => ancestors(s.path)))].sort((a, b) => b.length - a.length);
  for (const dir of dirs) {
    if (before.absent.has(dir) && await isPureCopyUp(session, lowerDirs, inRootPath(dir))) await session.rmdir(inRootPath(dir));
  }
  if (isRootUntouched) await session.setMtime('', before.rootMtimeNs);
}
