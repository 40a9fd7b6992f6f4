import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { deviceRuleLine } from './devices.js';
import type { DeviceRule } from './devices.js';
import { ResourceLimitError } from './errors.js';
import { isProcessAlive } from '../../common/index.js';
import type { RunLimits } from '../../solver/index.js';

/** Resource limits for one RUN step (the build's `--resource`, and a pids bound); absent fields mean unlimited. */
export interface ExecLimits extends RunLimits { pidsMax?: number }

/** True when `limits` limits nothing. */
export function isUnlimited(limits: ExecLimits = {}): boolean {
  return Object.values(limits).every((v) => v === undefined);
}

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

/**
 * The level a hierarchy's step cgroups go in: `ROOT/tsbuild`, or `ROOT/PARENT/tsbuild` for `--cgroup-parent PARENT`
 * (a path checked to stay below the root, builder/options parseCgroupParent), as BuildKit's `PARENT/buildkit/ID`.
 */
function stepLevel(hierarchy: string, parent?: string): string {
  return parent === undefined ? join(hierarchy, 'tsbuild') : join(hierarchy, parent, 'tsbuild');
}

/** The directories from `hierarchy` (exclusive) down to `level`, top first: each one `mkdir -p` may make. */
function levelsBelow(hierarchy: string, level: string): string[] {
  const out: string[] = [];
  for (let d = level; d.length > hierarchy.length; d = dirname(d)) out.unshift(d);
  return out;
}

export async function v1Dirs(id: string, limits: ExecLimits, devices: readonly DeviceRule[] | undefined, parent?: string): Promise<string[]> {
  const dirs: string[] = [];
  try {
    await v1Into(id, limits, dirs, parent);
    if (devices !== undefined) await v1Devices(id, devices, dirs, parent);
  } catch (err) {
    for (const d of dirs.reverse()) await rmdir(d).catch(() => undefined);
    throw err;
  }
  return dirs;
}

async function v1Into(id: string, limits: ExecLimits, dirs: string[], parent: string | undefined): Promise<void> {
  // runc's order within a controller: the period before the quota, the memory limit before memory+swap (which may
  // never be below it).
  const swap = limits.memorySwapBytes;
  const settings: [string, [string, number | string | undefined][]][] = [
    ['memory', [['memory.limit_in_bytes', limits.memoryBytes], ['memory.memsw.limit_in_bytes', swap]]],
    ['pids', [['pids.max', limits.pidsMax]]],
    ['cpu', [['cpu.shares', limits.cpuShares], ['cpu.cfs_period_us', limits.cpuPeriodUs], ['cpu.cfs_quota_us', limits.cpuQuotaUs]]],
  ];
  for (const [controller, files] of settings) {
    const wanted = files.some(([, v]) => v !== undefined);
    // Hybrid hosts may lack a controller; without a limit to apply it is not needed.
    if (!existsSync(join(CGROUP_ROOT, controller))) {
      if (wanted) throw new ResourceLimitError(`needs the cgroup v1 controller ${controller}, which is not mounted at ${CGROUP_ROOT}`);
      continue;
    }
    const dir = join(stepLevel(join(CGROUP_ROOT, controller), parent), id);
    await mkdir(dir, { recursive: true });
    dirs.push(dir);
    for (const [file, value] of files) {
      if (value === undefined) continue;
      if (file === 'memory.memsw.limit_in_bytes' && !existsSync(join(dir, file))) {
        // No swap accounting (swapaccount=0): memory+swap cannot be limited. Unlimited asks for nothing.
        if (value === -1) continue;
        throw new ResourceLimitError(`memory-swap=${value}: this kernel does not account swap (memory.memsw.limit_in_bytes is missing)`);
      }
      await writeLimit(dir, file, value);
    }
  }
  if (limits.cpusetCpus !== undefined || limits.cpusetMems !== undefined) await v1Cpuset(id, limits, dirs, parent);
}

/**
 * The cpuset controller takes no task until the cgroup has CPUs and memory nodes, and a new v1 cpuset starts with
 * neither (cgroup.clone_children is off): each level down to `tsbuild` (through a --cgroup-parent's) gets its
 * parent's when empty, the step's what it asks for or else the level above's. The kernel refuses a CPU or node outside
 * the parent's with EINVAL.
 */
async function v1Cpuset(id: string, limits: ExecLimits, dirs: string[], parent: string | undefined): Promise<void> {
  const root = join(CGROUP_ROOT, 'cpuset');
  if (!existsSync(root)) throw new ResourceLimitError(`cpuset: the cgroup v1 controller cpuset is not mounted at ${CGROUP_ROOT}`);
  const level = stepLevel(root, parent);
  await mkdir(level, { recursive: true });
  for (const dir of levelsBelow(root, level)) {
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if ((await readFile(join(dir, file), 'utf8')).trim() === '') await writeFile(join(dir, file), await readFile(join(dirname(dir), file), 'utf8'));
    }
  }
  const dir = join(level, id);
  await mkdir(dir);
  dirs.push(dir);
  await writeCpuset(dir, 'cpuset.cpus', limits.cpusetCpus, join(level, 'cpuset.cpus'));
  await writeCpuset(dir, 'cpuset.mems', limits.cpusetMems, join(level, 'cpuset.mems'));
}

async function writeCpuset(dir: string, file: string, value: string | undefined, inherited: string): Promise<void> {
  if (value === undefined) await writeFile(join(dir, file), await readFile(inherited, 'utf8'));
  else await writeLimit(dir, file, value, `this host's cgroup allows ${(await readFile(inherited, 'utf8')).trim()}`);
}

/**
 * Writes a limit the user gave; the kernel's refusal (EINVAL, ERANGE for a CPU the host lacks, EBUSY) is the user's
 * to fix, named by the file and value, never an internal error.
 */
export async function writeLimit(dir: string, file: string, value: number | string, context = ''): Promise<void> {
  try {
    await writeFile(join(dir, file), String(value));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined || code === 'ENOENT' && !existsSync(dir)) throw err;
    throw new ResourceLimitError(`${file}=${String(value).trim()}: the host's cgroup refused it (${code}${context ? `; ${context}` : ''})`, { cause: err });
  }
}

// Deny everything, then allow the list: the kernel checks each open/mknod against the rules of the cgroup the
// process is in (and its ancestors). Written before the container joins, so no moment runs without them.
async function v1Devices(id: string, devices: readonly DeviceRule[], dirs: string[], parent: string | undefined): Promise<void> {
  if (!existsSync(join(CGROUP_ROOT, 'devices'))) {
    throw new Error(`cgroup v1 controller devices is not mounted at ${CGROUP_ROOT}: RUN steps cannot get a device allow-list`);
  }
  const dir = join(stepLevel(join(CGROUP_ROOT, 'devices'), parent), id);
  await mkdir(dir, { recursive: true });
  dirs.push(dir);
  await writeFile(join(dir, 'devices.deny'), 'a');
  for (const rule of devices) await writeFile(join(dir, 'devices.allow'), deviceRuleLine(rule));
}

async function v2(id: string, limits: ExecLimits, cgroupParent: string | undefined): Promise<string[]> {
  const parent = stepLevel(CGROUP_ROOT, cgroupParent);
  await mkdir(parent, { recursive: true });
  const available = (await readFile(join(CGROUP_ROOT, 'cgroup.controllers'), 'utf8')).split(/\s+/);
  const wanted = ['memory', 'pids', 'cpu', ...(limits.cpusetCpus !== undefined || limits.cpusetMems !== undefined ? ['cpuset'] : [])].filter((c) => available.includes(c));
  // A controller's files only appear in a child when every ancestor delegates it through subtree_control.
  for (const dir of [CGROUP_ROOT, ...levelsBelow(CGROUP_ROOT, parent)]) {
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

/** The v2 files for `limits`, converted as runc converts v1 values (cgroups/fs2 and utils ConvertCPUSharesToCgroupV2Value). */
export function v2Files(limits: ExecLimits): [string, string][] {
  const files: [string, string][] = [];
  if (limits.memoryBytes !== undefined) files.push(['memory.max', String(limits.memoryBytes)]);
  // v2 limits swap alone; docker's --memory-swap is memory plus swap.
  const swap = limits.memorySwapBytes;
  if (swap !== undefined) files.push(['memory.swap.max', swap === -1 ? 'max' : String(Math.max(swap - (limits.memoryBytes ?? 0), 0))]);
  if (limits.pidsMax !== undefined) files.push(['pids.max', String(limits.pidsMax)]);
  if (limits.cpuShares !== undefined) files.push(['cpu.weight', String(sharesToWeight(limits.cpuShares))]);
  if (limits.cpuQuotaUs !== undefined || limits.cpuPeriodUs !== undefined) {
    files.push(['cpu.max', `${limits.cpuQuotaUs !== undefined && limits.cpuQuotaUs > 0 ? limits.cpuQuotaUs : 'max'} ${limits.cpuPeriodUs ?? 100_000}`]);
  }
  if (limits.cpusetCpus !== undefined) files.push(['cpuset.cpus', limits.cpusetCpus]);
  if (limits.cpusetMems !== undefined) files.push(['cpuset.mems', limits.cpusetMems]);
  return files;
}

async function v2Limits(dir: string, limits: ExecLimits): Promise<void> {
  for (const [file, value] of v2Files(limits)) await writeLimit(dir, file, value);
}

// A step sees its own cgroup at /sys/fs/cgroup, writable when privileged (RUN --security=insecure), as in Docker; the
// kernel refuses to remove a cgroup that still has child cgroups (EBUSY), so any the step made go first, deepest
// first, as runc's RemovePath removes a container's. Only the EBUSY path reads the directory: a step's usual removal
// stays one rmdir.
function childCgroups(entries: { name: string; isDirectory(): boolean }[], dir: string): string[] {
  return entries.filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
}

/** Removes a cgroup directory and any child cgroups in it; waits out tasks that are still dying. */
export async function removeCgroupDir(dir: string): Promise<void> {
  // The helper returns only after pid 1 of the namespace was reaped, and the kernel reaps the rest of the
  // namespace before that; the retry covers the short moment the cgroup still counts a dying task.
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw err;
      const children = childCgroups(await readdir(dir, { withFileTypes: true }), dir);
      for (const child of children) await removeCgroupDir(child);
      if (children.length === 0) await sleep(20);
    }
  }
}

/**
 * removeCgroupDir without the wait, for removals that run as a worker closes: a cgroup a dying task still holds
 * stays (EBUSY), for the next worker to remove. Never throws.
 */
export function removeCgroupTreeSync(dir: string): void {
  try {
    rmdirSync(dir);
  } catch (err) {
    if (errorCode(err) !== 'EBUSY') return;
    try {
      for (const child of childCgroups(readdirSync(dir, { withFileTypes: true }), dir)) removeCgroupTreeSync(child);
      rmdirSync(dir);
    } catch {
      // a task still in it, or gone meanwhile
    }
  }
}

function errorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
}

/**
 * Creates the step's cgroup — `/sys/fs/cgroup/tsbuild/<id>` on cgroup v2, `/sys/fs/cgroup/<controller>/tsbuild/<id>`
 * for memory, pids, cpu (and devices) on v1 — and applies the limits given. `devices` is the device allow-list
 * (undefined = every device, as a privileged step): written to devices.deny/allow on v1; on v2 the caller passes
 * it to the helper, which attaches it to `v2Dir` as a BPF_CGROUP_DEVICE program. `parent` (--cgroup-parent) puts the
 * `tsbuild` level under that path; the levels made for it stay, as runc leaves a parent it made.
 */
export async function createCgroup(id: string, limits: ExecLimits = {}, devices?: readonly DeviceRule[], parent?: string): Promise<StepCgroup> {
  const isV2 = existsSync(join(CGROUP_ROOT, 'cgroup.controllers'));
  if (parent !== undefined && !sweptParents.has(parent)) {
    sweptParents.add(parent);
    removeDeadBuildCgroups(parent);
  }
  let dirs: string[];
  try {
    dirs = isV2 ? await v2(id, limits, parent) : await v1Dirs(id, limits, devices, parent);
  } catch (err) {
    // A parent the host will not nest under (v2: one with processes of its own cannot give its children
    // controllers, EBUSY) is the user's to change, named as the flag.
    const code = errorCode(err);
    if (parent === undefined || err instanceof ResourceLimitError || typeof code !== 'string') throw err;
    throw new ResourceLimitError(`--cgroup-parent ${parent}: the host's cgroup refused it (${code})`, { cause: err }, 'give another --cgroup-parent (on cgroup v2, one without processes of its own), or drop it');
  }
  return {
    procsFiles: dirs.map((d) => join(d, 'cgroup.procs')),
    ...(isV2 && dirs[0] !== undefined ? { v2Dir: dirs[0] } : {}),
    remove: async () => {
      for (const d of dirs) await removeCgroupDir(d);
    },
  };
}

// A worker killed with SIGKILL leaves its cgroups behind, shared (build-PID-…) and per step (step-PID-…, cgroup v2 or
// a step with limits; worker/exec/index.ts): the next one removes those whose process is gone, with any child cgroups
// a privileged step made in them. A cgroup without tasks only; rmdir refuses one that still has some. `parent`: the
// level a --cgroup-parent puts them in (createCgroup sweeps it once a process, the first time a step uses it).
export function removeDeadBuildCgroups(parent?: string): void {
  // cpuset too: a step with --cpuset-cpus/--cpuset-mems has one there (v1Cpuset).
  for (const controller of ['memory', 'pids', 'cpu', 'cpuset', 'devices', '']) {
    const level = stepLevel(join(CGROUP_ROOT, controller), parent);
    let entries: string[];
    try {
      entries = readdirSync(level);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const pid = Number(/^(?:build|step)-(\d+)-/.exec(entry)?.[1]);
      if (!Number.isInteger(pid) || pid <= 0 || isProcessAlive(pid)) continue;
      removeCgroupTreeSync(join(level, entry));
    }
  }
}

/** The --cgroup-parent levels this process has swept (removeDeadBuildCgroups). */
const sweptParents = new Set<string>();
