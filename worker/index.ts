// The worker's public surface: the Linux worker (overlay snapshots, native helper), content store, layers.
export { LinuxWorker } from './linux-worker.js';
export { cacheMountsDir, listCacheMounts, MAX_SECRET_BYTES, removeCacheMount } from './exec/index.js';
export type { CacheMountUsage } from './exec/index.js';
export type { LinuxWorkerOptions } from './linux-worker.js';
export { FileContentStore } from './content/store.js';
export type { ContentStore, Ingest } from './content/content-store.js';
export { exchangeFiles, SpliceSizeError, spliceFiles } from './content/output-files.js';
export type { SplicePart } from './content/output-files.js';
export { OverlaySnapshotter } from './snapshots/overlay.js';
export { SnapshotHasChildrenError } from './snapshots/metadata.js';
export type { Mount, SnapshotInfo } from './snapshots/snapshotter.js';
export { mountAll, mountOverlay, unmount, withMounts } from './snapshots/mount.js';
export { makeRootTempDir } from './temp-dirs.js';
export { withMountedSnapshot } from './snapshots/with-mounted-snapshot.js';
export { exportLayer } from './layers/diff.js';
export type { ExportedLayer } from './layers/diff.js';
export { gzipLayer, gzipLayers, isUncompressedLayer } from './layers/gzip-layer.js';
export type { LayerBlob } from './layers/gzip-layer.js';
export { applyLayer } from './layers/apply.js';
export type { ApplyOptions } from './layers/apply.js';
export { layerTar } from './layers/layer-tar.js';
export type { LayerTarOptions } from './layers/layer-tar.js';
export { encodeTarHeader, END_OF_ARCHIVE as TAR_END, padding as tarPadding } from './layers/tar-header.js';
export { clampMtimes } from './layers/clamp-mtimes.js';
// For the SBOM scan (builder/attest/sbom), which reads package databases out of layer tars without unpacking them.
export { readTar, TarReadError } from './layers/tar-reader.js';
export { chainIds } from './layers/chain-id.js';
export { ConfinedFsError, dropIdleWriters, writeTree } from './confined/index.js';
export type { WriteTreeOptions, WriteTreeResult } from './confined/index.js';
export { ContentDigestError, LayerError, MissingBlobError } from './errors.js';
export { StatMemo, statMemoFor } from './fileops/index.js';
export type { DirListing } from './fileops/index.js';
export { isInUserNamespace, probeFuseOverlay, probeOverlay, SNAPSHOTTER_ENV, snapshotterKind } from './rootless/index.js';
export { checkUserNamespaces, firstSubordinateRange, rootlessUnavailable, subordinateRanges } from './rootless/index.js';
export type { IdRange } from './rootless/index.js';
// Remote build contexts (builder/remote-context): git sources and context archives, fetched outside every snapshot.
export { classifyContextFile, downloadDispatcher, extractContextArchive, fetchGit, isGitUrl, parseGitRef, GitFetchError, GitRefError } from './fileops/index.js';
export type { ContextFileKind, GitCheckout, GitRef } from './fileops/index.js';
