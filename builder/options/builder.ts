import { Option, type Command } from 'commander';
import { envDefault } from './env-default.js';
import { readBuilders, requireBuilder } from '../builders/index.js';

// buildx's persistent `--builder NAME` (default $BUILDX_BUILDER), given before or after any command's name. Every
// builder builds on this machine, so a known name changes nothing; an unknown one fails before the command runs,
// with buildx's message (`no builder "x" found`, exit 1).

/** The program's `--builder` option. */
export function builderOption(): Option {
  return envDefault(new Option('--builder <name>', 'override the configured builder instance (default: $BUILDX_BUILDER); every builder builds on this machine'),
    () => process.env['BUILDX_BUILDER'] || undefined);
}

/**
 * The commands buildx runs on a builder, which check the name before they start. inspect, use, rm and stop read it
 * themselves (the builder they act on); version, ls and create ignore it, as buildx hides it on them; tsbuild's own
 * commands (login, plan, daemon …) are not buildx's and never fail for a $BUILDX_BUILDER meant for buildx.
 */
const CHECKED = ['build', 'bake', 'du', 'prune', 'imagetools', 'history'];

/** A preAction hook: fails when `--builder` names no builder of the command's root. */
export function checkBuilderOption(_program: Command, action: Command): void {
  let top = action;
  while (top.parent?.parent) top = top.parent;
  if (!CHECKED.includes(top.name())) return;
  const { builder, root } = action.optsWithGlobals() as { builder?: string; root: string };
  if (builder) requireBuilder(readBuilders(root), builder);
}
