// Builder instances as buildx shows and manages them (`ls`, `inspect`, `create`, `use`, `rm`, `--builder`): tsbuild
// has one builder, this machine; the names users create are kept in the state root and all build here.
export { buildIdOfRef, buildRefPrefix, currentBuilder, readBuilders, requireBuilder, updateBuilders } from './records.js';
export { createBuilder, removeBuilders, useBuilder } from './manage.js';
export { builderViews, type BuilderView } from './view.js';
export { machineFacts } from './machine.js';
export { lsJson, lsTable, lsTemplate } from './ls-format.js';
export { inspectText } from './inspect-text.js';
