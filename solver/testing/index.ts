// Test doubles for the solver's ports and a graph builder: for the solver's unit tests, benchmarks and other
// folders' tests that need a solver without a real worker. Not part of the product.
export { FakeImages, FakeWorker } from './fake-worker.js';
export type { ExecHook, FakeCall } from './fake-worker.js';
export { FakeRemoteCache } from './fake-remote-cache.js';
export { graphOf } from './graph-of.js';
export type { StageSpec, StepSpec } from './graph-of.js';
export { Harness } from './harness.js';
