// The solver's public surface: cache keys, scheduling, the cache index, and the ports it needs.
export type * from './ports.js';
