// The one shared leaf of tsbuild: OCI spec types, digests and the error base. No I/O, no imports from outside.
export * from './digest.js';
export * from './canonical-json.js';
export * from './media-types.js';
export * from './descriptor.js';
export * from './platform.js';
export * from './image.js';
export * from './errors.js';
