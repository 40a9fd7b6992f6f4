import type { Command } from 'commander';

/** The state root a command runs on: the program's `--root`, written before or after the command's name. */
export function rootOf(cmd: Command): string {
  return (cmd.optsWithGlobals() as { root: string }).root;
}
