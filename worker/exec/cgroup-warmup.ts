import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CGROUP_ROOT } from './cgroup.js';

// Moving a task into a cgroup takes the kernel's global cgroup_threadgroup_rwsem for writing; when no migration
// happened for a while, that first waits for an RCU grace period (rcu_sync_enter): 4-12 ms on these hosts, on the
// critical path of every RUN step, whose helper joins the step's cgroups right after it is cloned. A migration that
// happens shortly before keeps the lock in its fast state for the next one. So, as a step starts its set-up, this
// process re-joins the cgroup it is already in (a migration to the same cgroup changes nothing), and the grace period
// passes while the step's other set-up runs. Best effort: any failure only means the helper waits as before.

/** Starts the warm-up; the promise settles (never rejects) once the kernel has taken the lock. */
export function warmCgroupMigration(): Promise<void> {
  return rejoinOwnCgroup().catch(() => undefined);
}

async function rejoinOwnCgroup(): Promise<void> {
  const lines = (await readFile('/proc/self/cgroup', 'utf8')).split('\n');
  // v1 (or hybrid): the devices hierarchy every sandboxed step joins anyway; v2: the unified one.
  const v1 = lines.map((l) => l.split(':')).find((f) => f[1] === 'devices');
  const v2 = lines.map((l) => l.split(':')).find((f) => f[0] === '0' && f[1] === '');
  const target = v1 !== undefined ? join(CGROUP_ROOT, 'devices', v1[2] ?? '/') : v2 !== undefined ? join(CGROUP_ROOT, v2[2] ?? '/') : undefined;
  if (target === undefined) return;
  await writeFile(join(target, 'cgroup.procs'), String(process.pid));
}
