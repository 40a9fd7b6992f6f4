/**
 * Test hooks, passed down as options from the CLI edge (never read from the environment deep inside). Unset in
 * normal use: every hook does nothing.
 */
export interface TestHooks {
  /**
   * The crash point at which the process kills itself with SIGKILL, as the OOM killer would. It lets
   * test/integration/robustness-crash.test.ts stop a build between two writes that no timing can separate reliably.
   */
  crashAt?: CrashPointName;
}

/**
 * Where a build can be stopped by `crashAt`:
 * - `ingest-commit` (worker/content): a blob fully written and verified in its ingest directory, not yet renamed in;
 * - `before-cache-put` (solver): a step's snapshot committed and its layer written, its cache record not yet put;
 * - `after-cache-put` (solver): the record put, the build goes on (no build record yet);
 * - `before-build-record` (builder): outputs written, lease still held, build record not yet stored.
 */
export type CrashPointName = 'ingest-commit' | 'before-cache-put' | 'after-cache-put' | 'before-build-record';

const POINTS: readonly string[] = ['ingest-commit', 'before-cache-put', 'after-cache-put', 'before-build-record'] satisfies CrashPointName[];

/** Kills this process with SIGKILL when `hooks.crashAt` is `point`; does nothing otherwise. */
export function crashPoint(hooks: TestHooks | undefined, point: CrashPointName): void {
  if (hooks?.crashAt === point) process.kill(process.pid, 'SIGKILL');
}

/** The test hooks the environment asks for (`TSBUILD_CRASH_AT=<point>`): read once, at the CLI edge. */
export function testHooksFromEnv(env: NodeJS.ProcessEnv): TestHooks {
  const at = env['TSBUILD_CRASH_AT'];
  return at !== undefined && POINTS.includes(at) ? { crashAt: at as CrashPointName } : {};
}
