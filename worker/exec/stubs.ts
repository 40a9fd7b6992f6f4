import { lstat, readdir, rmdir, stat, unlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Stub } from './status.js';

// Mount stubs: the targets the helper had to create for mounts (/proc, /etc/hosts, /run/secrets/x …) and the
// directories overlayfs copied up to hold them. BuildKit removes them after a step (removeMountStubs) so they never
// reach its layer; so do we, and we put back the mtimes that creating them changed, when the step itself did not
// change them afterwards.

/** What the upper dir looked like before the step, for the stub cleanup afterwards. */
export interface UpperBefore { rootMtimeNs: bigint; absent: Set<string> }

function errCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
}

function nanos([s, ns]: [number, number]): bigint {
  return BigInt(s) * 1_000_000_000n + BigInt(ns);
}

// utimes takes seconds as a double (sub-microsecond precision lost), so mtimes we set compare within 2 µs.
function near(a: bigint, b: bigint): boolean {
  return (a > b ? a - b : b - a) < 2000n;
}

async function setMtime(path: string, ns: bigint): Promise<void> {
  const atime = (await stat(path)).atime;
  await utimes(path, atime, Number(ns) / 1e9);
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let p = posix.dirname(path); p !== '/'; p = posix.dirname(p)) out.push(p);
  return out;
}

/** Records, before the step runs, the upper root's mtime and which ancestors of the mount targets it lacks. */
export async function inspectUpper(upperDir: string, targets: string[]): Promise<UpperBefore> {
  const absent = new Set<string>();
  for (const dir of new Set(targets.flatMap((t) => [t, ...ancestors(t)]))) {
    try {
      await lstat(join(upperDir, dir));
    } catch (err) {
      if (errCode(err) !== 'ENOENT' && errCode(err) !== 'ENOTDIR') throw err;
      absent.add(dir);
    }
  }
  return { rootMtimeNs: (await stat(upperDir, { bigint: true })).mtimeNs, absent };
}

async function removeStub(upperDir: string, stub: Stub): Promise<void> {
  const path = join(upperDir, stub.path);
  const parent = posix.dirname(path);
  let parentBefore: bigint;
  try {
    const st = await lstat(path);
    parentBefore = (await stat(parent, { bigint: true })).mtimeNs;
    // A stub the step filled (a non-empty file or directory) is the step's own and stays.
    if (stub.isDir && st.isDirectory()) await rmdir(path);
    else if (!stub.isDir && st.isFile() && st.size === 0) await unlink(path);
    else return;
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTEMPTY' || errCode(err) === 'EEXIST') return;
    throw err;
  }
  if (near(parentBefore, nanos(stub.after))) await setMtime(parent, nanos(stub.before));
}

// A directory that was not in the upper dir before, is empty now and has the lower one's owner and mode is only
// an overlayfs copy-up made to hold a stub. It cannot have become opaque: it held a mount point all along, so the
// step could not remove and recreate it.
async function isPureCopyUp(upperDir: string, lowerDirs: string[], dir: string): Promise<boolean> {
  const st = await lstat(join(upperDir, dir)).catch(() => undefined);
  if (st === undefined || !st.isDirectory() || (await readdir(join(upperDir, dir))).length > 0) return false;
  for (const lower of lowerDirs) {
    const l = await lstat(join(lower, dir)).catch(() => undefined);
    if (l !== undefined) return l.isDirectory() && l.mode === st.mode && l.uid === st.uid && l.gid === st.gid;
  }
  return false;
}

/**
 * Removes the stubs and the copied-up directories that only held them from the upper dir after a step. Limitation:
 * a stub created over a whiteout of the same path replaces the whiteout; removing the stub then lets the lower
 * entry show again. Images rarely delete /proc, /dev, /sys or /etc/hosts.
 */
export async function removeStubs(upperDir: string, lowerDirs: string[], stubs: Stub[], before: UpperBefore,
  settled: [number, number] | undefined): Promise<void> {
  const rootNow = (await stat(upperDir, { bigint: true })).mtimeNs;
  const isRootUntouched = settled !== undefined && near(rootNow, nanos(settled));
  for (const stub of [...stubs].reverse()) await removeStub(upperDir, stub);
  const dirs = [...new Set(stubs.flatMap((s) => ancestors(s.path)))].sort((a, b) => b.length - a.length);
  for (const dir of dirs) {
    if (before.absent.has(dir) && await isPureCopyUp(upperDir, lowerDirs, dir)) await rmdir(join(upperDir, dir));
  }
  if (isRootUntouched) await setMtime(upperDir, before.rootMtimeNs);
}
