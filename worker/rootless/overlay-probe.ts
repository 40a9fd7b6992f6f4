import { execFile } from 'node:child_process';
import { access, constants, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { overlayMountOptions } from './overlay-flavour.js';
import { makeTempDir } from '../temp-dirs.js';

const run = promisify(execFile);

/** Whether overlayfs mounts work under `dir` here, as the snapshotter will mount them; `detail` says why not. */
export type OverlayProbe = { isWorking: true } | { isWorking: false; detail: string };

/**
 * Mounts a throwaway overlay (one lower, an upper, a work dir) under `dir` with the snapshotter's options and
 * unmounts it. In a user namespace the kernel allows this from Linux 5.11 on, and only on filesystems that support
 * it as an upper dir (ext4, xfs, btrfs, tmpfs; not NFS, not overlayfs itself on older kernels).
 */
export async function probeOverlay(dir: string): Promise<OverlayProbe> {
  await mkdir(dir, { recursive: true });
  const base = await makeTempDir(dir, 'overlay-probe');
  const [lower, upper, work, target] = ['lower', 'upper', 'work', 'merged'].map((d) => join(base, d)) as [string, string, string, string];
  try {
    for (const d of [lower, upper, work, target]) await mkdir(d);
    await writeFile(join(lower, 'file'), 'x');
    const options = [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`, ...overlayMountOptions()].join(',');
    try {
      await run('mount', ['-t', 'overlay', '-o', options, 'overlay', target]);
    } catch (err) {
      const stderr = (err as { stderr?: unknown }).stderr;
      return { isWorking: false, detail: typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim().split('\n')[0] ?? '' : String(err) };
    }
    await run('umount', [target]);
    return { isWorking: true };
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

/**
 * The same throwaway mount with fuse-overlayfs, plus a write through it (it checks /dev/fuse first: FUSE needs it
 * readable and writable by the user, which minimal hosts and containers leave to root). `detail` says why not, or
 * on success which fuse-overlayfs it is.
 */
export async function probeFuseOverlay(dir: string): Promise<OverlayProbe & { version?: string }> {
  try {
    await access('/dev/fuse', constants.R_OK | constants.W_OK);
  } catch {
    return { isWorking: false, detail: '/dev/fuse cannot be opened by this user (as root: chmod 0666 /dev/fuse, as make setup does)' };
  }
  let version = '';
  try {
    // It prints libfuse's fusermount3 version first, and its own ("fuse-overlayfs: version 1.10") on either stream.
    const out = await run('fuse-overlayfs', ['--version']);
    version = /fuse-overlayfs: version [^\s]+/.exec(`${out.stdout}\n${out.stderr}`)?.[0]?.replace(':', '') ?? 'fuse-overlayfs';
  } catch {
    return { isWorking: false, detail: 'fuse-overlayfs is not installed (apt-get install fuse-overlayfs)' };
  }
  await mkdir(dir, { recursive: true });
  const base = await makeTempDir(dir, 'fuse-probe');
  const [lower, upper, work, target] = ['lower', 'upper', 'work', 'merged'].map((d) => join(base, d)) as [string, string, string, string];
  try {
    for (const d of [lower, upper, work, target]) await mkdir(d);
    await writeFile(join(lower, 'file'), 'x');
    try {
      await run('fuse-overlayfs', ['-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, target]);
    } catch (err) {
      const stderr = (err as { stderr?: unknown }).stderr;
      const lines = typeof stderr === 'string' ? stderr.trim().split('\n').filter((l) => !l.startsWith('unknown argument ignored')) : [];
      return { isWorking: false, detail: lines[0] ?? String(err) };
    }
    try {
      await writeFile(join(target, 'file'), 'y');
    } finally {
      await run('umount', [target]);
    }
    const copied = await readFile(join(upper, 'file'), 'utf8').catch(() => '');
    if (copied !== 'y') return { isWorking: false, detail: 'a write through fuse-overlayfs did not reach its upper dir' };
    return { isWorking: true, version };
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}
