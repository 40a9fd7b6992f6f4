import { readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { runCommand } from './command.js';

/**
 * Removes a state directory that a builder may have left mounts in (overlay snapshots, buildah's containers):
 * every mount point under it is unmounted, deepest first, before the tree is deleted, so `rm` never walks into a
 * mounted lower layer.
 */
export async function removeTree(dir: string): Promise<void> {
  const root = resolve(dir);
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const points = mountinfo.split('\n')
    .map((line) => unescapeMount(line.split(' ')[4] ?? ''))
    .filter((p) => p === root || p.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) await runCommand('umount', ['-l', point]).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
