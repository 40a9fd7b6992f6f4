import { RootSession, readAccounts } from '../confined/index.js';
import type { Accounts } from '../confined/index.js';
import { withMounts } from '../snapshots/mount.js';
import type { OverlayRootfs } from './index.js';

/**
 * The image's users and groups as a step's rootfs will show them, before it is mounted for the step. The upper and
 * lower dirs are mounted read-only as one overlay (lowerdir = upper:lowers) so that whiteouts, opaque directories
 * and symlinks that cross layers (/etc -> usr/etc in one layer, the file in another) read exactly as the step sees
 * them; the one confined reader (openat2 RESOLVE_IN_ROOT) then reads /etc/passwd and /etc/group inside it, so a
 * symlinked /etc never reaches a host file. Walking the layer dirs ourselves would be a second, subtly different
 * overlay implementation; one ~6 ms mount is cheaper than that risk.
 */
export async function readRootfsAccounts(rootfs: OverlayRootfs): Promise<Accounts> {
  if (rootfs.lowerDirs.length === 0) return RootSession.with(rootfs.upperDir, {}, readAccounts);
  const mount = { type: 'overlay' as const, source: 'overlay', options: ['ro', `lowerdir=${[rootfs.upperDir, ...rootfs.lowerDirs].join(':')}`] };
  return withMounts([mount], (dir) => RootSession.with(dir, {}, readAccounts));
}

