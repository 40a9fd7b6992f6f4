// COPY/ADD semantics on plain host directories: the worker's file operations. Callers mount; nothing here does.
export type { CopySourceDir } from './source.js';
export { copyInto, type CopyOutcome, type CopyResources, type IncrementalCopy } from './copy-into.js';
export { copySubtree } from './copy-subtree.js';
export { CopyHistory, type CopyRecord } from './copy-history.js';
export { contentDigest, MAX_FILE_DIGESTS } from './content-digest.js';
export { FileHashCache, type HashCache } from './hash-cache.js';
export { StatMemo, statMemoFor } from './walk.js';
export { WHITEOUT_LAYER, writeContextWhiteouts, type ContextWhiteouts, type FilteredContext } from './context-whiteouts.js';
export type { DirListing, EntryStat } from './dir-listing.js';
export { CopyError, type CopyErrorCode } from './errors.js';
export { isGitUrl, parseGitRef, GitRefError, type GitRef } from './git-ref.js';
export { GitCommits } from './git-commits.js';
export { Downloads, downloadsDir, pruneDownloads } from './downloads.js';
export type { RemoteAccess } from './remote-access.js';
export { fetchGit, GitFetchError, type GitCheckout, type GitFetchOptions } from './git-fetch.js';
export { gitAuthHeader } from './git-auth.js';
export { classifyContextFile, extractContextArchive, type ContextFileKind } from './context-archive.js';
export { downloadDispatcher } from './download-dispatcher.js';
