import { Option, type Command } from 'commander';
import { rootOf } from './global-options.js';
import { addRegistryFlags, registryOptions } from './registry-flags.js';
import { withRoot } from './root.js';
import type { PushFlags } from './push-action.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * `tsbuild push REF`: pushes an image already built in the root (the newest successful build, or the one named by
 * `--image-id`) to REF. The plan (HEAD requests only: already there, mountable from another repository, bytes to
 * upload) is computed first; `--plan` prints it and stops, otherwise the push follows it (mounting what it found
 * mountable) and what the push did with each blob (copy's per-blob outcomes) is compared with the plan, every
 * difference printed.
 */
export function registerPush(program: Command, signal: AbortSignal): void {
  addRegistryFlags(program.command('push').argument('<ref>', 'where to push: registry/repository:tag')
    .description('push an image built earlier in the root (the last one, or --image-id) to REF; --plan prints what the push would send'))
    .option('--image-id <id>', 'the image: a build id (or a unique prefix), the manifest digest, or the image id (config digest) `-q`/--iidfile printed')
    .option('--plan', 'print per blob whether the push would skip, mount or upload it, and push nothing')
    .addOption(new Option('--format <format>', 'output format of the plan and the comparison').choices(['text', 'json']).default('text'))
    .option('--mount-from <repository>', 'another repository of the same registry to mount blobs from (the base images and the build\'s tags are tried by default); repeatable', collect, [])
    .addOption(new Option('--progress <mode>', 'progress output').choices(['auto', 'plain', 'tty', 'quiet']).default('auto'))
    .action((ref: string, flags: PushFlags, cmd: Command) => withRoot(rootOf(cmd), registryOptions(flags), async (root) => (await import('./push-action.js')).pushAction(root, ref, flags, signal)));
}
