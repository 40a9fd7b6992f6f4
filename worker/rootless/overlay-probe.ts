import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { overlayMountOptions } from './overlay-flavour.js';

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
  const base = await mkdtemp(join(dir, `overlay-probe-${process.pid}-`));
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
