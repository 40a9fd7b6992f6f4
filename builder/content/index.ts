// Moving blobs between any two places: the content store, an OCI layout directory, a registry repository.
export type { BlobProvider, BlobTarget, CopyOutcome } from './target.js';
export { storeBlobDamaged } from './target.js';
export { copy, mountSource, COPY_CONCURRENCY, type CopyOptions, type CopyOutcomes, type CopyProgress } from './copy.js';
export { RepositoryTarget } from './repository-target.js';
export { StoreTarget } from './store-target.js';
export { OciLayoutDir, LAYOUT_FILE, layoutBlobPath } from './oci-layout-dir.js';
export { BytesProvider } from './bytes-provider.js';
