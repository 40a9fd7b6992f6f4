import type { Command } from 'commander';

/** The state root a command runs on: the program's `--root`, written before or after the command's name. */
export function rootOf(cmd: Command): string {
  return (cmd.optsWithGlobals() as { root: string }).root;
}

/** The builder a command names with `--builder` (or $BUILDX_BUILDER, its default), if any. */
export function builderOf(cmd: Command): string | undefined {
  return (cmd.optsWithGlobals() as { builder?: string }).builder || undefined;
}
