import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The state directory when `--root` is not given: /var/lib/tsbuild as root, $XDG_DATA_HOME/tsbuild otherwise. */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSBUILD_ROOT) return resolve(env.TSBUILD_ROOT);
  if (process.getuid?.() === 0) return '/var/lib/tsbuild';
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'tsbuild');
}
