import type { Stats } from 'node:fs';
import { nameOf } from '../../common/index.js';
import type { FsName } from '../../common/index.js';

// OCI layers and overlayfs say "deleted" and "replaced" differently (image-spec layer.md, "Whiteouts"; kernel
// Documentation/filesystems/overlayfs.rst): a `.wh.<name>` entry is a 0/0 character device in an upper dir, and a
// `.wh..wh..opq` entry is the xattr trusted.overlay.opaque=y on the directory (user.overlay.opaque=y rootless, see
// worker/rootless/overlay-flavour.ts).

/** Prefix of a whiteout entry's base name. */
export const WHITEOUT_PREFIX = '.wh.';
/** Base name of the entry that marks its directory opaque (a text name: never equal to a name given as bytes). */
export const OPAQUE_MARKER = '.wh..wh..opq';
const PREFIX_BYTES = Buffer.from(WHITEOUT_PREFIX);

/**
 * The name a whiteout entry hides (its base name after `.wh.`), or undefined when `base` is not a whiteout. A base name
 * given as bytes (not UTF-8) is a whiteout too when its bytes start with `.wh.`: it hides the bytes after them.
 */
export function whiteoutTarget(base: FsName): FsName | undefined {
  if (typeof base === 'string') return base.startsWith(WHITEOUT_PREFIX) ? base.slice(WHITEOUT_PREFIX.length) : undefined;
  return base.subarray(0, PREFIX_BYTES.length).equals(PREFIX_BYTES) ? nameOf(base.subarray(PREFIX_BYTES.length)) : undefined;
}

/** True for an overlayfs whiteout: a character device with device number 0/0. */
export function isOverlayWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}
