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
 * overlay implementation; one ~6 ms mount is cheaper than that risk (and accounts-cache.ts spares most steps it).
 * The mount point is in the state root's temp dir `tempDir` (worker/temp-dirs.ts). With `withPlain`, also whether
 * /etc, /etc/passwd and /etc/group were reached without any symlink (each a directory or regular file, or absent):
 * what accounts-cache.ts needs to carry the result up to the next layer.
 */
export async function readRootfsAccounts(rootfs: OverlayRootfs, tempDir: string): Promise<Accounts>;
export async function readRootfsAccounts(rootfs: OverlayRootfs, tempDir: string, withPlain: true): Promise<{ accounts: Accounts; isPlain: boolean }>;
export async function readRootfsAccounts(rootfs: OverlayRootfs, tempDir: string, withPlain = false): Promise<Accounts | { accounts: Accounts; isPlain: boolean }> {
  const read = async (session: RootSession): Promise<Accounts | { accounts: Accounts; isPlain: boolean }> => {
    const accounts = await readAccounts(session);
    return withPlain ? { accounts, isPlain: await isPlainEtc(session) } : accounts;
  };
  if (rootfs.lowerDirs.length === 0) return RootSession.with(rootfs.upperDir, {}, read);
  const mount = { type: 'overlay' as const, source: 'overlay', options: ['ro', `lowerdir=${[rootfs.upperDir, ...rootfs.lowerDirs].join(':')}`] };
  return withMounts([mount], tempDir, (dir) => RootSession.with(dir, {}, read));
}

async function isPlainEtc(session: RootSession): Promise<boolean> {
  const etc = await session.lstat(0, 'etc');
  if (etc === undefined) return true;
  if (etc.type !== 'd') return false;
  for (const file of ['etc/passwd', 'etc/group']) {
    const st = await session.lstat(0, file);
    if (st !== undefined && st.type !== 'f') return false;
  }
  return true;
}
