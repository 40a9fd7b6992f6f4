// Rootless mode: what changes when tsbuild runs as uid 0 of a user namespace instead of real root (see
// builder/rootless.ts for how it gets there).
export { contiguousFromZero, isIdentityMap, isInUserNamespace, mappedIdLimits } from './user-namespace.js';
export { isOverlayXattr, overlayMountOptions, overlayOpaqueXattr, overlayXattrPrefix } from './overlay-flavour.js';
export { probeOverlay } from './overlay-probe.js';
export type { OverlayProbe } from './overlay-probe.js';
export { subordinateRanges } from './subordinate-ids.js';
export { checkUserNamespaces, firstSubordinateRange, rootlessUnavailable } from './availability.js';
export type { IdRange } from './subordinate-ids.js';
