import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import type { Command } from 'commander';
import { UserError } from '../../common/index.js';
import { join, resolve } from 'node:path';

/** The state directory when `--root` is not given: /var/lib/tsbuild as root, $XDG_DATA_HOME/tsbuild otherwise. */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSBUILD_ROOT) return resolve(env.TSBUILD_ROOT);
  if (process.getuid?.() === 0) return '/var/lib/tsbuild';
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'tsbuild');
}

/**
 * A preAction hook: `--root` must name a directory, or a path tsbuild can create one at. An empty one, or a file,
 * failed deep inside (an internal error at the cache's mkdir for du/history/report).
 */
export function checkRootOption(_program: Command, action: Command): void {
  const { root } = action.optsWithGlobals() as { root?: string };
  if (root === undefined) return;
  if (root === '') throw new UserError('INVALID_ARGUMENT', '--root is empty', 'name the directory tsbuild keeps its state in, or leave --root out');
  let isDir: boolean | undefined;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    return;   // absent (created when used), or unreadable: the command says what it cannot do there
  }
  if (!isDir) throw new UserError('INVALID_ARGUMENT', `--root ${root} is not a directory`, 'name a directory for tsbuild\'s state (it is created when missing)');
}
