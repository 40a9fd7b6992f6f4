// The cross-cutting leaf of tsbuild: what every folder needs and no folder owns. Imports nothing from the project.
export * from './errors.js';
export * from './host-failure.js';
export * from './process-alive.js';
export * from './sqlite-open.js';
export * from './crash-point.js';
export * from './trust.js';
export * from './named-context-key.js';
export * from './go-json.js';
export * from './go-units.js';
export * from './replace-file.js';
export * from './make-dirs.js';
export * from './read-bounded.js';
export * from './file-chunks.js';
export * from './child-process.js';
export * from './exit-policy.js';
export * from './byte-names.js';
export * from './remove-tree.js';
