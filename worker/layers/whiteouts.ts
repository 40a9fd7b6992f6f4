import type { Stats } from 'node:fs';

// OCI layers and overlayfs say "deleted" and "replaced" differently (image-spec layer.md, "Whiteouts"; kernel
// Documentation/filesystems/overlayfs.rst): a `.wh.<name>` entry is a 0/0 character device in an upper dir, and a
// `.wh..wh..opq` entry is the xattr trusted.overlay.opaque=y on the directory (user.overlay.opaque=y rootless, see
// worker/rootless/overlay-flavour.ts).

/** Prefix of a whiteout entry's base name. */
export const WHITEOUT_PREFIX = '.wh.';
/** Base name of the entry that marks its directory opaque. */
export const OPAQUE_MARKER = '.wh..wh..opq';

/** True for an overlayfs whiteout: a character device with device number 0/0. */
export function isOverlayWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}
