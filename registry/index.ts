// The registry client's public surface. Imports nothing outside registry/.
export * from './oci/index.js';
