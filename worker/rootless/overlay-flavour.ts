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

/** True for xattrs overlayfs owns in either mode: never copied into a layer, never applied from one. */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || (isInUserNamespace() && name.startsWith('user.overlay.'));
}

/** Options every overlay mount of a snapshot gets: no redirects, no metacopy, and the xattr namespace above. */
export function overlayMountOptions(): string[] {
  return isInUserNamespace() ? ['userxattr'] : ['redirect_dir=off', 'metacopy=off'];
}
