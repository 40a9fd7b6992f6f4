import { lstat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from './errors.js';

// Directories this process filled with an image's files (`-o type=local`). An image can hold symbolic links, and the
// exporter writes them as links (never following them), so a file the same build writes afterwards below such a
// directory (`--iidfile out/meta/iid`, a report, a second output) must not be written through one: the image's
// `/meta -> /etc/cron.d` would put it on the host. The file's own name is handled by its writer (replaced, never
// written through); this guards the directories on the way. buildx's os.WriteFile follows every link.
const planted = new Set<string>();

/** Records that `dir` holds what an image put there. */
export function markPlanted(dir: string): void {
  planted.add(resolve(dir));
}

/** Refuses `path` (for `what`, the flag as given) when a directory on its way inside a planted tree is a link. */
export async function refuseThroughPlanted(path: string, what: string): Promise<void> {
  const target = resolve(path);
  for (const dir of planted) {
    if (!target.startsWith(`${dir}/`)) continue;
    let at = dir;
    for (const part of target.slice(dir.length + 1).split('/').slice(0, -1)) {
      at = join(at, part);
      const st = await lstat(at).catch(() => undefined);
      if (st === undefined) break;
      if (st.isSymbolicLink()) {
        throw new UserError('INVALID_ARGUMENT', `${what}: ${at} is a symbolic link that the image put in the -o type=local output ${dir}; not writing through it`,
          'write the file outside the output directory');
      }
    }
  }
}
