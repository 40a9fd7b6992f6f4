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

/**
 * inspectUpper through a session the caller keeps for the step (one confined process for before and after). The
 * looks are independent reads, so they are sent together and answered in one round trip.
 */
export async function inspectUpperIn(session: RootSession, targets: string[]): Promise<UpperBefore> {
  const dirs = [...new Set(targets.flatMap((t) => [t, ...ancestors(t)]))];
  const [root, ...found] = await Promise.all([session.lstat(0, ''), ...dirs.map((dir) => session.lstat(0, inRootPath(dir)))]);
  if (root === undefined) throw new Error('the upper dir vanished');
  return { rootMtimeNs: root.mtimeNs, absent: new Set(dirs.filter((_, i) => found[i] === undefined)) };
}

// A directory that was not in the upper dir before, is empty now and has the lower one's owner and mode is only
// an overlayfs copy-up made to hold a stub. It cannot have become opaque: it held a mount point all along, so the
// step could not remove and recreate it.
async function isPureCopyUp(session: RootSession, lowers: number, dir: string): Promise<boolean> {
  // The upper entry and every lower one in one round trip; the topmost lower that has the directory decides.
  const [st, ...lower] = await Promise.all([session.lstat(0, dir), ...Array.from({ length: lowers }, (_, i) => session.lstat(i + 1, dir))]);
  if (st === undefined || st.type !== 'd' || !st.isEmptyDir) return false;
  const l = lower.find((e) => e !== undefined);
  return l !== undefined && l.type === 'd' && l.mode === st.mode && l.uid === st.uid && l.gid === st.gid;
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
  const rootNowP = session.lstat(0, '');
  for (const run of sameParentRuns([...stubs].reverse())) await removeRun(session, run);
  const rootNow = (await rootNowP)?.mtimeNs;
  const isRootUntouched = settled !== undefined && rootNow !== undefined && near(rootNow, nanos(settled));
  const dirs = [...new Set(stubs.flatMap((s) => ancestors(s.path)))].sort((a, b) => b.length - a.length);
  for (const dir of dirs) {
    if (before.absent.has(dir) && await isPureCopyUp(session, lowerDirs, inRootPath(dir))) await session.rmdir(inRootPath(dir));
  }
  if (isRootUntouched) await session.setMtime('', before.rootMtimeNs);
}

/** Consecutive stubs (in removal order) that share a parent directory. */
function sameParentRuns(stubs: Stub[]): Stub[][] {
  const runs: Stub[][] = [];
  for (const stub of stubs) {
    const last = runs.at(-1);
    if (last !== undefined && posix.dirname(last[0]!.path) === posix.dirname(stub.path)) last.push(stub);
    else runs.push([stub]);
  }
  return runs;
}

/**
 * Removes a run of stubs of one parent (newest first) in one round trip, then sets the parent's mtime to what
 * removing them one by one would have left: each removal that finds the mtime its stub's creation left puts back
 * the mtime from before that creation; any other removal leaves "now" (and nothing after it matches again).
 */
async function removeRun(session: RootSession, run: Stub[]): Promise<void> {
  const removed = await Promise.all(run.map((stub) => session.removeStub(inRootPath(stub.path), stub.isDir)));
  // The parent's mtime as the step left it: what the first removal found (nothing had changed it before).
  let mtime: bigint | 'moved' | undefined = removed.find((r) => r !== undefined);
  if (mtime === undefined) return;
  let restored = false;
  for (const [i, stub] of run.entries()) {
    if (removed[i] === undefined) continue;   // kept (the step filled it): the mtime stays as it was
    if (mtime !== 'moved' && near(mtime, nanos(stub.after))) {
      mtime = nanos(stub.before);
      restored = true;
    } else {
      mtime = 'moved';
    }
  }
  if (restored && mtime !== 'moved') await session.setMtime(inRootPath(posix.dirname(run[0]!.path)), mtime);
}
