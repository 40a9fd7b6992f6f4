import { lstatSync, mkdirSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { useBundleStacks } from './stack-source-maps.js';

// The entry bin/tsbuild runs (bundled to dist/bundle/cli/launch.js by `make build`). It turns on Node's compile
// cache *before* the command is imported, so the bundle's V8 code is read from disk instead of compiled on every
// run (about half of what a bare `tsbuild --version` spent; bench/RESULTS.md, 2026-11-30). Why here and not
// NODE_COMPILE_CACHE in bin/tsbuild: an environment variable is inherited by every process tsbuild starts (RUN steps,
// helpers), and the directory must be private to the user, which we check before handing it to Node.

/** `$XDG_CACHE_HOME/tsbuild/compile-cache`, else `~/.cache/tsbuild/compile-cache`; TSBUILD_COMPILE_CACHE=0 turns it off. */
function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['TSBUILD_COMPILE_CACHE'] === '0') return undefined;
  const base = env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  const dir = join(base, 'tsbuild', 'compile-cache');
  try {
    // Level by level, not { recursive: true }: that loops forever under /proc (XDG_CACHE_HOME=/proc/self hung).
    for (const level of [base, join(base, 'tsbuild'), dir]) mkdirIfMissing(level);
    // Another user's directory, or a symlink planted in its place, could feed us compiled code: use none then.
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;   // a read-only home costs speed, never the command
  }
}

useBundleStacks(new URL('.', import.meta.url).href);
function mkdirIfMissing(path: string): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

const cacheDir = compileCacheDir();
// enableCompileCache is Node >= 22.1; on 22.0 the CLI just starts slower.
if (cacheDir !== undefined) module.enableCompileCache?.(cacheDir);
const { main, exitWithoutTeardown, leaveDatabasesToExitUnlessWarm } = await import('./main.js');
leaveDatabasesToExitUnlessWarm();
await main(process.argv.slice(2));
exitWithoutTeardown();
