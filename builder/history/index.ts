// `tsbuild history` as `docker buildx history` shows the build records: the list (ls), one record (inspect), its
// progress again (logs). The records themselves are the solver's (solver/build-record.ts), read through the root.
export { parseHistoryFilters } from './filter.js';
export { renderInspect } from './inspect-format.js';
export { historyJsonLines, historyTable, historyTemplate } from './list.js';
export { localRepository } from './local.js';
export { BuildLogRecorder } from './log-recorder.js';
export { replayBuild } from './logs.js';
export { readStoredLogs } from './stored-logs.js';
export { findBuildRecord } from './ref.js';
