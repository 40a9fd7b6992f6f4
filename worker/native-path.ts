import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Native programs and assets live in the checkout (worker/native/…), not in dist/. This module runs from two places:
// compiled one file per module (dist/worker/native-path.js, what the tests import) and bundled into the CLI
// (dist/bundle/cli/<chunk>.js, what bin/tsbuild runs). A path fixed relative to import.meta.url is right in only one
// of them, so we look in each ancestor of this file's directory instead: the first that has `rel` is the checkout.

const MAX_DEPTH = 5;

/**
 * The absolute path of `rel` (a path inside the checkout, e.g. 'worker/native/tsbuild-run'); the environment
 * variable `envName`, when set and non-empty, wins. Throws, naming every place it looked, when there is none.
 */
export function nativePath(rel: string, envName?: string): string {
  const fromEnv = envName === undefined ? undefined : process.env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const looked: string[] = [];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < MAX_DEPTH; i++) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    looked.push(candidate);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`${rel} not found (looked at ${looked.join(', ')}); run make native`);
}
