// Confined writes into a root: one tsbuild-fsattr session per operation (on pooled writer processes), the lexical
// path cleaner, and the one reader of an image's users and groups. Everything in worker/ that writes into a root goes through here.
export { ConfinedFsError } from './confined-fs-error.js';
export { RootSession } from './root-session.js';
export { dropIdleWriters } from './writer-pool.js';
export type { EntryMeta, EntryStat, SessionOptions } from './root-session.js';
export { EscapeError, cleanComponents, inRootPath } from './clean-path.js';
export { numericId, readAccounts } from './accounts.js';
export type { Accounts, GroupEntry, PasswdEntry } from './accounts.js';
export { fsattrPath, parseFsattrReport } from './fsattr-path.js';
export type { FsattrReport } from './fsattr-path.js';
export { writeTree } from './write-tree.js';
export type { WriteTreeOptions, WriteTreeResult } from './write-tree.js';
export { removeStale } from './remove-stale.js';
export type { ResultTree } from './remove-stale.js';
