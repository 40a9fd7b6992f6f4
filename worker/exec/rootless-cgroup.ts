import { constants, existsSync } from 'node:fs';
import { access, mkdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isUnlimited, removeCgroupDir, v2Files, writeLimit, type ExecLimits, type StepCgroup } from './cgroup.js';
import { ResourceLimitError } from './errors.js';

// Rootless (uid 0 of a user namespace), the host's cgroup tree belongs to real root: /sys/fs/cgroup/<controller>
// (v1) and the v2 root are not writable, and a BPF device filter needs CAP_SYS_ADMIN in the initial namespace. What
// a user can own is a delegated cgroup v2 subtree (systemd's `Delegate=yes`, as rootless podman/BuildKit use): the
// cgroup this process is in, when it is writable. Steps then get a child cgroup there (limits where the controller
// is delegated); without one, a step runs in tsbuild's own cgroup and limits are refused, with a note saying why.
// The device allow-list is skipped either way: in a user namespace the kernel refuses mknod of devices, and the
// only nodes a step can open are the host's /dev/{null,zero,full,random,urandom,tty} bound into its /dev.

const ROOT = '/sys/fs/cgroup';

/** The delegated cgroup v2 directory this process may create children in, or why there is none. */
export async function delegatedCgroup(): Promise<{ dir: string } | { reason: string }> {
  if (!existsSync(join(ROOT, 'cgroup.controllers'))) {
    return { reason: `${ROOT} is not a cgroup v2 (unified) mount: cgroup v1 and hybrid hosts delegate nothing to a user` };
  }
  const self = (await readFile('/proc/self/cgroup', 'utf8')).split('\n').find((l) => l.startsWith('0::'));
  if (self === undefined) return { reason: 'this process is in no cgroup v2' };
  const dir = join(ROOT, self.slice(3));
  try {
    await access(dir, constants.W_OK);
    await access(join(dir, 'cgroup.procs'), constants.W_OK);
  } catch {
    return { reason: `${dir} is not delegated to this user (run tsbuild in a systemd user session or a unit with Delegate=yes)` };
  }
  return { dir };
}

/** A step cgroup for rootless mode: a child of the delegated cgroup, or none (then `limits` must be empty). */
export async function createRootlessCgroup(id: string, limits: ExecLimits = {}): Promise<StepCgroup & { note?: string }> {
  const found = await delegatedCgroup();
  if ('reason' in found) {
    if (!isUnlimited(limits)) throw new ResourceLimitError(`needs a cgroup, and rootless there is none: ${found.reason}`);
    return { procsFiles: [], remove: async () => undefined, note: `RUN steps get no cgroup of their own: ${found.reason}` };
  }
  const dir = join(found.dir, `tsbuild-${id}`);
  await mkdir(dir);
  try {
    // What the delegated cgroup's controllers allow (cgroup.controllers); the kernel refuses a file of one that was
    // not delegated (ENOENT), which names the limit.
    for (const [file, value] of v2Files(limits)) await writeLimit(dir, file, value, 'rootless: its controller is not delegated to this user');
  } catch (err) {
    await rmdir(dir).catch(() => undefined);
    throw err;
  }
  return { procsFiles: [join(dir, 'cgroup.procs')], remove: async () => { await removeCgroupDir(dir).catch(() => undefined); } };
}
