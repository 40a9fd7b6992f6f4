import { withMounts } from './mount.js';
import type { OverlaySnapshotter } from './overlay.js';

/**
 * Mounts snapshot `keyOrName` (writable when it is an active key, read-only when committed) on a new directory in the
 * state root's temp dir, runs `fn` there, and always unmounts and removes the directory afterwards.
 */
export async function withMountedSnapshot<T>(snapshotter: OverlaySnapshotter, keyOrName: string, fn: (dir: string) => Promise<T>): Promise<T> {
  return withMounts(await snapshotter.mounts(keyOrName), snapshotter.tempDir, fn);
}
