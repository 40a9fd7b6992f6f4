/**
 * The worker's copy of solver/crash-point.ts (the worker may not import the solver): when TSBUILD_CRASH_AT equals
 * `point` the process kills itself with SIGKILL here. Point: `ingest-commit`, a blob fully written and verified in
 * its ingest directory but not yet renamed into the store. Unset: does nothing.
 */
export function crashPoint(point: string): void {
  if (process.env['TSBUILD_CRASH_AT'] === point) process.kill(process.pid, 'SIGKILL');
}
