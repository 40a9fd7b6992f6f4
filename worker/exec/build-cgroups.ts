import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CGROUP_ROOT, removeCgroupTreeSync, removeDeadBuildCgroups, v1Dirs } from './cgroup.js';
import type { StepCgroup } from './cgroup.js';
import { deviceRuleLine } from './devices.js';
import type { DeviceRule } from './devices.js';

// Steps without limits (docker build's default) share cgroups made once per worker instead of a fresh set per
// step: creating a v1 cgroup, writing its device list and moving the first task into it costs 3-5 ms a step (the
// kernel's attach to a new cpu/memory cgroup), reusing one costs ~0.2 ms. What a step gets is unchanged: the same
// controllers, and the same device allow-list written (deny all, then the list) before any step joins. A sandboxed
// and a privileged step never share one: each policy has its own set. A step with limits still gets its own
// (createCgroup), since limits are per step. cgroup v2 keeps a cgroup per step: its device program is attached by the
// helper to the step's cgroup.

const PREFIX = 'build-';

/** The cgroups of one worker for steps without limits, by device policy; removed by close(). */
export class BuildCgroups {
  readonly #sets = new Map<string, Promise<string[]>>();
  readonly #dirs: string[] = [];
  readonly #id = `${PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`;
  #isCleaned = false;

  /**
   * The shared cgroups for a step with this device list (undefined: every device, a privileged step), or undefined
   * where steps cannot share (cgroup v2): the caller then makes one per step.
   */
  async acquire(devices: readonly DeviceRule[] | undefined): Promise<StepCgroup | undefined> {
    if (!this.#isCleaned) {
      this.#isCleaned = true;
      removeDeadBuildCgroups();
    }
    if (existsSync(join(CGROUP_ROOT, 'cgroup.controllers'))) return undefined;
    const policy = devices === undefined ? 'all' : devices.map(deviceRuleLine).join(',');
    let set = this.#sets.get(policy);
    if (set === undefined) {
      set = v1Dirs(`${this.#id}-${this.#sets.size}`, {}, devices).then((dirs) => { this.#dirs.push(...dirs); return dirs; });
      this.#sets.set(policy, set);
      set.catch(() => this.#sets.delete(policy));
    }
    const dirs = await set;
    return { procsFiles: dirs.map((d) => join(d, 'cgroup.procs')), remove: async () => undefined };
  }

  /**
   * Removes the cgroups once every step has ended (synchronous: it runs as the worker closes, maybe right before the
   * process exits). One a dying task still holds stays, for the next worker to remove.
   */
  close(): void {
    const sets = [...this.#dirs];
    this.#sets.clear();
    this.#dirs.length = 0;
    // With any child cgroups a privileged step made in its (writable) /sys/fs/cgroup.
    for (const d of sets.reverse()) removeCgroupTreeSync(d);
  }
}
