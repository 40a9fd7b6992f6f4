import { mkdtempSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDirs } from '../common/index.js';

/**
 * The temp dir of state root `root`, `<root>/tmp`: what a build, pull, push, bake or output writes for a while and
 * then removes (downloads, checkouts, remote contexts, snapshot mount points, RUN state, --load's archive, bake's
 * layouts) goes there, never into the host's $TMPDIR, which is RAM on many CI hosts (a tmpfs) and shared with other
 * users. Each entry is a private directory (0700; mkdtemp makes a new one, never an existing name) named
 * `<kind>-<pid>-<random>` (makeTempDir), so that the next process that opens the root removes those of a process that
 * is gone (removeDeadTempDirs), as containerd's daemon keeps its temporary mounts in `<root>/tmpmounts` and unmounts
 * them at start (cmd/containerd: mount.SetTempMountLocation, mount.CleanupTempMounts).
 */
export function tempDirOf(root: string): string {
  return join(root, 'tmp');
}

/** A new private directory (0700) for `kind` in the temp dir `tempDir` (tempDirOf), named for this process. */
export function makeTempDir(tempDir: string, kind: string): Promise<string> {
  return mkdtemp(join(tempDir, `${kind}-${process.pid}-`));
}

/**
 * makeTempDir in the temp dir of state root `root`, made when missing (the root too, 0700): for what a command
 * writes there before its worker opens the root (a remote build context, --load's archive, bake's layouts).
 */
export async function makeRootTempDir(root: string, kind: string): Promise<string> {
  await makeDirs(root, 0o700);
  await mkdir(tempDirOf(root), { recursive: true, mode: 0o700 });
  return makeTempDir(tempDirOf(root), kind);
}

/** makeTempDir, synchronously: for a caller whose few syscalls are cheaper than a trip through the thread pool. */
export function makeTempDirSync(tempDir: string, kind: string): string {
  return mkdtempSync(join(tempDir, `${kind}-${process.pid}-`));
}

/** The pid in the name of a temp dir entry (makeTempDir; a kind may hold dashes), or undefined for another name. */
export function tempDirOwner(entry: string): number | undefined {
  const pid = Number(/^[a-z]+(?:-[a-z]+)*-(\d+)-/.exec(entry)?.[1]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
