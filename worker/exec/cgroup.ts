import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { deviceRuleLine } from './devices.js';
import type { DeviceRule } from './devices.js';

/** Resource limits for one RUN step; absent fields mean unlimited. */
export interface ExecLimits { memoryBytes?: number; pidsMax?: number; cpuShares?: number }

/**
 * A step's cgroup(s): the cgroup.procs files the container joins, and their removal. On cgroup v2, a device
 * allow-list is a BPF program the helper attaches to `v2Dir` (there is no devices controller file to write).
 */
export interface StepCgroup { procsFiles: string[]; v2Dir?: string; remove(): Promise<void> }

export const CGROUP_ROOT = '/sys/fs/cgroup';

// cgroup v2 has cpu.weight (1..10000) where v1 had cpu.shares (2..262144); this is the conversion runc and
// systemd use.
function sharesToWeight(shares: number): number {
  return Math.round(1 + ((Math.min(Math.max(shares, 2), 262144) - 2) * 9999) / 262142);
}

export async function v1Dirs(id: string, limits: ExecLimits, devices: readonly DeviceRule[] | undefined): Promise<string[]> {
  const dirs: string[] = [];
  try {
    await v1Into(id, limits, dirs);
    if (devices !== undefined) await v1Devices(id, devices, dirs);
  } catch (err) {
    for (const d of dirs.reverse()) await rmdir(d).catch(() => undefined);
    throw err;
  }
  return dirs;
}

async function v1Into(id: string, limits: ExecLimits, dirs: string[]): Promise<void> {
  const settings: [string, string, number | undefined][] = [
    ['memory', 'memory.limit_in_bytes', limits.memoryBytes],
    ['pids', 'pids.max', limits.pidsMax],
    ['cpu', 'cpu.shares', limits.cpuShares],
  ];
  for (const [controller, file, value] of settings) {
    // Hybrid hosts may lack a controller; without a limit to apply it is not needed.
    if (!existsSync(join(CGROUP_ROOT, controller))) {
      if (value !== undefined) throw new Error(`cgroup v1 controller ${controller} is not mounted at ${CGROUP_ROOT}`);
      continue;
    }
    const dir = join(CGROUP_ROOT, controller, 'tsbuild', id);
    await mkdir(dir, { recursive: true });
    dirs.push(dir);
    if (value !== undefined) await writeFile(join(dir, file), String(value));
  }
}

// Deny everything, then allow the list: the kernel checks each open/mknod against the rules of the cgroup the
// process is in (and its ancestors). Written before the container joins, so no moment runs without them.
async function v1Devices(id: string, devices: readonly DeviceRule[], dirs: string[]): Promise<void> {
  if (!existsSync(join(CGROUP_ROOT, 'devices'))) {
    throw new Error(`cgroup v1 controller devices is not mounted at ${CGROUP_ROOT}: RUN steps cannot get a device allow-list`);
  }
  const dir = join(CGROUP_ROOT, 'devices', 'tsbuild', id);
  await mkdir(dir, { recursive: true });
  dirs.push(dir);
  await writeFile(join(dir, 'devices.deny'), 'a');
  for (const rule of devices) await writeFile(join(dir, 'devices.allow'), deviceRuleLine(rule));
}

async function v2(id: string, limits: ExecLimits): Promise<string[]> {
  const parent = join(CGROUP_ROOT, 'tsbuild');
  await mkdir(parent, { recursive: true });
  const available = (await readFile(join(CGROUP_ROOT, 'cgroup.controllers'), 'utf8')).split(/\s+/);
  const wanted = ['memory', 'pids', 'cpu'].filter((c) => available.includes(c));
  // A controller's files only appear in a child when every ancestor delegates it through subtree_control.
  for (const dir of [CGROUP_ROOT, parent]) {
    if (wanted.length > 0) await writeFile(join(dir, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
  }
  const dir = join(parent, id);
  await mkdir(dir);
  try {
    await v2Limits(dir, limits);
  } catch (err) {
    await rmdir(dir).catch(() => undefined);
    throw err;
  }
  return [dir];
}

async function v2Limits(dir: string, limits: ExecLimits): Promise<void> {
  if (limits.memoryBytes !== undefined) await writeFile(join(dir, 'memory.max'), String(limits.memoryBytes));
  if (limits.pidsMax !== undefined) await writeFile(join(dir, 'pids.max'), String(limits.pidsMax));
  if (limits.cpuShares !== undefined) await writeFile(join(dir, 'cpu.weight'), String(sharesToWeight(limits.cpuShares)));
}

async function removeCgroupDir(dir: string): Promise<void> {
  // The helper returns only after pid 1 of the namespace was reaped, and the kernel reaps the rest of the
  // namespace before that; the retry covers the short moment the cgroup still counts a dying task.
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw err;
      await sleep(20);
    }
  }
}

/**
 * Creates the step's cgroup — `/sys/fs/cgroup/tsbuild/<id>` on cgroup v2, `/sys/fs/cgroup/<controller>/tsbuild/<id>`
 * for memory, pids, cpu (and devices) on v1 — and applies the limits given. `devices` is the device allow-list
 * (undefined = every device, as a privileged step): written to devices.deny/allow on v1; on v2 the caller passes
 * it to the helper, which attaches it to `v2Dir` as a BPF_CGROUP_DEVICE program.
 */
export async function createCgroup(id: string, limits: ExecLimits = {}, devices?: readonly DeviceRule[]): Promise<StepCgroup> {
  const isV2 = existsSync(join(CGROUP_ROOT, 'cgroup.controllers'));
  const dirs = isV2 ? await v2(id, limits) : await v1Dirs(id, limits, devices);
  return {
    procsFiles: dirs.map((d) => join(d, 'cgroup.procs')),
    ...(isV2 && dirs[0] !== undefined ? { v2Dir: dirs[0] } : {}),
    remove: async () => {
      for (const d of dirs) await removeCgroupDir(d);
    },
  };
}
