// The solver's public surface: cache keys, scheduling, the cache index, and the ports it needs.
export type * from './ports.js';
export { cacheKey, keyOp } from './cache-key.js';
export type { CacheKey, CacheKeyParts } from './cache-key.js';
export { explainMiss, MAX_LISTED_CHANGES } from './explain-miss.js';
export type { FileChange, MissContext, MissReason } from './explain-miss.js';
export type { ProgressEvent, VertexRecord } from './progress-event.js';
export { StepError } from './step-error.js';
export { SqliteCacheIndex } from './cache-index.js';
export type { DiskUsage, DiskUsageEntry } from './cache-index.js';
export type { PruneOptions, PrunePlan } from './prune-plan.js';
export type { BuildRecord, BuildSummary } from './build-record.js';
export { solve } from './solve.js';
export type { SolveOptions, SolveResult } from './solve.js';
export { cacheExport } from './cache-export.js';
export type { CacheExport, CacheExportMode, ContentFact, ExportRecord, ExportSource } from './cache-export.js';
export { chainOf, materialize, selectorOf } from './materialize.js';
export type { MaterializeContext } from './materialize.js';
