// The frontend's public surface: Dockerfile text in, plain-data build graph out. Pure: no fs writes, no processes.
export * from './graph.js';
