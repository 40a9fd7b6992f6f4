// Builder instances as buildx shows and manages them (`ls`, `inspect`, `create`, `use`, `rm`, `--builder`): tsbuild
// has one builder, this machine; the names users create are kept in the state root and all build here.
export { DEFAULT_BUILDER, currentBuilder, findBuilder, readBuilders, requireBuilder, updateBuilders, validateName, writeBuilders, type BuilderRecords } from './records.js';
export { createBuilder, removeBuilders, useBuilder, EMBEDDED_DRIVER, type CreateRequest } from './manage.js';
export { builderViews, type BuilderView, type MachineFacts } from './view.js';
export { machineFacts } from './machine.js';
export { lsJson, lsTable, lsTemplate } from './ls-format.js';
export { inspectText } from './inspect-text.js';
