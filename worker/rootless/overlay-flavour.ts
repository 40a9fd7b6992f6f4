import { isInUserNamespace } from './user-namespace.js';

// overlayfs keeps its own metadata (opaque directories, redirects, metacopy) in xattrs. As real root it uses the
// trusted.overlay.* namespace; in a user namespace trusted.* is refused (it needs CAP_SYS_ADMIN in the initial
// namespace), so since Linux 5.11 an unprivileged mount takes the `userxattr` option and reads and writes
// user.overlay.* instead (Documentation/filesystems/overlayfs.rst, "User xattr"). That option also turns redirects
// and metacopy off (`redirect_dir=off` even conflicts with it: the kernel wants `nofollow`), which is what tsbuild
// needs anyway: an upper dir must hold whole files and real directories to be diffed on its own. BuildKit's and
// containerd's rootless overlay snapshotter make the same choice. Whiteouts stay 0/0 character devices: since
// Linux 5.8 anyone may mknod a whiteout, so overlay in a user namespace creates them, and so can a layer apply.

/** The xattr namespace overlayfs uses for its metadata here: `user.overlay.` in a user namespace, else `trusted.overlay.`. */
export function overlayXattrPrefix(): 'user.overlay.' | 'trusted.overlay.' {
  return isInUserNamespace() ? 'user.overlay.' : 'trusted.overlay.';
}

/** The xattr that marks a directory opaque in an upper dir written here. */
export function overlayOpaqueXattr(): string {
  return `${overlayXattrPrefix()}opaque`;
}

/** True for xattrs overlayfs (or fuse-overlayfs) owns in either mode: never copied into a layer, never applied from one. */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || (isInUserNamespace() && (name.startsWith('user.overlay.') || name.startsWith('user.fuseoverlayfs.')));
}

/** Options every overlay mount of a snapshot gets: no redirects, no metacopy, and the xattr namespace above. */
export function overlayMountOptions(): string[] {
  if (snapshotterKind() === 'fuse-overlayfs') return [];   // it has no redirects or metacopy, and picks its xattrs itself
  return isInUserNamespace() ? ['userxattr'] : ['redirect_dir=off', 'metacopy=off'];
}

// fuse-overlayfs (Debian's `fuse-overlayfs`, FUSE in a user namespace since Linux 4.18) is the fallback when the
// kernel refuses overlayfs here, or what TSBUILD_SNAPSHOTTER=fuse-overlayfs asks for. It reads the markers the
// kernel writes (0/0 whiteouts, trusted.overlay.opaque, user.overlay.opaque: checked with 1.10), so base layers
// applied for either keep one format and apply needs no second one. What it writes differs: a directory made
// through it (every new one, not only one that replaced a lower entry as the kernel does) gets
// user.fuseoverlayfs.opaque=y plus a `.wh..wh..opq` empty file and sometimes a `.wh..opq` 0/0 whiteout inside it
// (trusted.overlay.opaque as real root). The layer export reads those (worker/layers/layer-tar.ts).

/** The snapshotters tsbuild mounts overlays with. */
export type SnapshotterKind = 'overlayfs' | 'fuse-overlayfs';

/** The env variable that picks the snapshotter; rootless mode sets it when the kernel refuses overlayfs. */
export const SNAPSHOTTER_ENV = 'TSBUILD_SNAPSHOTTER';

/** Which snapshotter mounts overlays in this process: kernel overlayfs unless TSBUILD_SNAPSHOTTER says fuse-overlayfs. */
export function snapshotterKind(): SnapshotterKind {
  return process.env[SNAPSHOTTER_ENV] === 'fuse-overlayfs' ? 'fuse-overlayfs' : 'overlayfs';
}

/** The opaque xattr fuse-overlayfs writes on a directory it creates in an upper dir (user.fuseoverlayfs.opaque rootless). */
export function fuseOpaqueXattr(): string {
  return isInUserNamespace() ? 'user.fuseoverlayfs.opaque' : 'trusted.overlay.opaque';
}

/** The entries fuse-overlayfs adds inside a directory it marks opaque: markers, never content. */
export const FUSE_OPAQUE_ENTRIES: readonly string[] = ['.wh..wh..opq', '.wh..opq'];
