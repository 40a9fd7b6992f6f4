// A leaf of tsbuild: OCI spec types and digests. No I/O, no imports from outside (the error base lives in common/).
export * from './digest.js';
export * from './canonical-json.js';
export * from './media-types.js';
export * from './descriptor.js';
export * from './platform.js';
export * from './image.js';
