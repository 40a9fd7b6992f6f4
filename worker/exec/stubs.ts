import { lstatSync } from 'node:fs';
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

/** The mount targets and every directory above them, once each: what may be missing before a step. */
function withAncestors(targets: string[]): string[] {
  return [...new Set(targets.flatMap((t) => [t, ...ancestors(t)]))];
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
  const dirs = withAncestors(targets);
  const [root, ...found] = await Promise.all([session.lstat(0, ''), ...dirs.map((dir) => session.lstat(0, inRootPath(dir)))]);
  if (root === undefined) throw new Error('the upper dir vanished');
  return { rootMtimeNs: root.mtimeNs, absent: new Set(dirs.filter((_, i) => found[i] === undefined)) };
}

/**
 * What a fresh upper dir (made by the caller just now, empty; nothing of the build's has run in it) looked like
 * before the step, without a look through the session: every target and ancestor absent, the root's mtime read on
 * the host (the worker's own directory).
 */
export function freshUpperBefore(upperDir: string, targets: string[]): UpperBefore {
  return { rootMtimeNs: lstatSync(upperDir, { bigint: true }).mtimeNs, absent: new Set(withAncestors(targets)) };
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

/**
 * removeStubs through the step's session, opened on the upper dir with `lowers` lower roots. The session answers
 * in order, so what does not depend on an answer goes out together: every removal in one round trip, then the
 * parents' mtimes with the looks at the first copied-up directory, then the rest.
 */
export async function removeStubsIn(session: RootSession, lowerDirs: number, stubs: Stub[], before: UpperBefore,
  settled: [number, number] | undefined): Promise<void> {
  const order = [...stubs].reverse();
  const [root, ...removed] = await Promise.all([session.lstat(0, ''),
    ...order.map((stub) => session.removeStub(inRootPath(stub.path), stub.isDir))]);
  const isRootUntouched = settled !== undefined && root !== undefined && near(root.mtimeNs, nanos(settled));
  let failure: unknown;
  const pending: Promise<void>[] = [];
  const send = (p: Promise<unknown>): void => { pending.push(p.then(() => undefined, (err: unknown) => { failure ??= err; })); };
  for (const [dir, mtime] of restoredMtimes(order, removed)) send(session.setMtime(inRootPath(dir), mtime));
  const dirs = [...new Set(stubs.flatMap((s) => ancestors(s.path)))].sort((a, b) => b.length - a.length);
  for (const dir of dirs) {
    if (before.absent.has(dir) && await isPureCopyUp(session, lowerDirs, inRootPath(dir))) send(session.rmdir(inRootPath(dir)));
  }
  if (isRootUntouched) send(session.setMtime('', before.rootMtimeNs));
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
}

/**
 * The mtimes to put back after removing `order` (newest stub first; `removed[i]`: the parent's mtime that removal
 * found, undefined when the stub was kept), as removing them one by one and restoring after each would leave them.
 * Per parent: its first removal finds the mtime the step left; a removal that finds the mtime its stub's creation
 * left puts back the one from before that creation, any other leaves "now" (and nothing after it matches again). A
 * removal only changes its own parent's mtime, so parents are independent of each other.
 */
export function restoredMtimes(order: Stub[], removed: (bigint | undefined)[]): Map<string, bigint> {
  const now = new Map<string, bigint | 'moved'>();
  for (const [i, stub] of order.entries()) {
    const found = removed[i];
    if (found === undefined) continue;   // kept (the step filled it): the mtime stays as it was
    const parent = posix.dirname(stub.path);
    const mtime = now.get(parent) ?? found;
    now.set(parent, mtime !== 'moved' && near(mtime, nanos(stub.after)) ? nanos(stub.before) : 'moved');
  }
  const out = new Map<string, bigint>();
  for (const [dir, mtime] of now) if (mtime !== 'moved') out.set(dir, mtime);
  return out;
}
