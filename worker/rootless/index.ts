// Rootless mode: what changes when tsbuild runs as uid 0 of a user namespace instead of real root (see
// builder/rootless.ts for how it gets there).
export { contiguousFromZero, isIdentityMap, isInUserNamespace, mappedIdLimits } from './user-namespace.js';
export { FUSE_OPAQUE_ENTRIES, fuseOpaqueXattr, isOverlayXattr, overlayMountOptions, overlayOpaqueXattr, overlayXattrPrefix, SNAPSHOTTER_ENV, snapshotterKind } from './overlay-flavour.js';
export type { SnapshotterKind } from './overlay-flavour.js';
export { probeFuseOverlay, probeOverlay } from './overlay-probe.js';
export type { OverlayProbe } from './overlay-probe.js';
export { subordinateRanges } from './subordinate-ids.js';
export { checkUserNamespaces, firstSubordinateRange, rootlessUnavailable } from './availability.js';
export type { IdRange } from './subordinate-ids.js';
