// The registry client's public surface. Imports nothing outside registry/.
export * from './oci/index.js';
export * from './reference.js';
export * from './registry-error.js';
export * from './retry.js';
export * from './metrics.js';
export * from './transport.js';
export * from './client.js';
export * from './manifest-document.js';
export type { FetchedManifest } from './manifest-read.js';
export { MANIFEST_ACCEPT } from './manifest-read.js';
export type { ReferrersAnswer } from './referrers-read.js';
export * from './platform-select.js';
export * from './image-config.js';
export * from './verify-stream.js';
export * from './auth/credentials.js';
export * from './auth/docker-config.js';
export { parseWwwAuthenticate, type Challenge } from './auth/www-authenticate.js';
export * from './artifact/index.js';
