/**
 * A test hook for crash safety: when the environment variable TSBUILD_CRASH_AT equals `point`, the process kills
 * itself with SIGKILL right here, as the OOM killer would. It lets test/integration/robustness-crash.test.ts stop a
 * build between two writes that no timing can separate reliably. Points in the solver:
 * - `before-cache-put`: a step's snapshot is committed and its layer written, its cache record not yet put;
 * - `after-cache-put`: the record is put, the build goes on (no build record yet);
 * - `before-build-record` (builder/build.ts): outputs written, lease still held, build record not yet stored.
 * (`ingest-commit` lives in worker/content/crash-point.ts: the worker may not import the solver.) Unset: does nothing.
 */
export function crashPoint(point: string): void {
  if (process.env['TSBUILD_CRASH_AT'] === point) process.kill(process.pid, 'SIGKILL');
}
